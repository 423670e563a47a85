import { closest } from "../config/index.js";
import { asNetwardenError, NetwardenError, silentProgress } from "../core/index.js";
import { parseArgs } from "./args.js";
import { type Command, type CommandContext, renderHelp, renderOverview, storeHome } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { type Io, processIo } from "./io.js";
import { LineProgress, TerminalProgress } from "./progress.js";

export const VERSION = "0.1.0";

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let json = argv.includes("--json");
  try {
    if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
      const target = argv[0] === "help" && argv.length > 1 ? findCommand(argv.slice(1)) : undefined;
      io.stdout.write(target ? renderHelp(target.command) : renderOverview(COMMANDS));
      return 0;
    }
    if (argv[0] === "--version" || argv[0] === "version") {
      io.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const found = findCommand(argv);
    if (!found) throw unknownCommand(argv);
    const { command, rest } = found;
    const args = parseArgs(command.name, rest, command.options, command.positionals);
    if (args.options.help) {
      io.stdout.write(renderHelp(command));
      return 0;
    }
    json = Boolean(args.options.json);
    const quiet = Boolean(args.options.quiet) || json;
    const progress = quiet
      ? silentProgress
      : io.stderr.isTTY
        ? new TerminalProgress(io)
        : new LineProgress(io);
    const ctx: CommandContext = {
      args,
      io,
      json,
      progress,
      home: storeHome(args, io),
      print: (line = "") => {
        if (!json) io.stdout.write(`${line}\n`);
      },
      emit: (value) => {
        if (json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      },
    };
    return (await command.run(ctx)) ?? 0;
  } catch (e) {
    const err = asNetwardenError(e);
    if (json) io.stdout.write(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
    io.stderr.write(`error: ${err.toParagraph()}\n`);
    if (err.code === "NW_INTERNAL" && io.env.NETWARDEN_DEBUG && e instanceof Error && e.stack) {
      io.stderr.write(`${e.stack}\n`);
    }
    return err.exitCode;
  }
}

function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  // Longest match first: "models promote" before "models".
  const sorted = [...COMMANDS].sort((a, b) => b.name.split(" ").length - a.name.split(" ").length);
  for (const command of sorted) {
    const words = command.name.split(" ");
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

function unknownCommand(argv: readonly string[]): NetwardenError {
  const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
  if (group.length) {
    const sub = argv[1];
    const names = group.map((c) => c.name.split(" ")[1]);
    const guess = sub && !sub.startsWith("-") ? closest(sub, names) : undefined;
    return new NetwardenError(
      sub && !sub.startsWith("-") ? "NW_CLI_UNKNOWN_COMMAND" : "NW_CLI_MISSING_ARGUMENT",
      sub && !sub.startsWith("-")
        ? `\`netwarden ${argv[0]}\` has no sub-command "${sub}"${guess ? `; did you mean \`${argv[0]} ${guess}\`?` : ""}`
        : `\`netwarden ${argv[0]}\` needs a sub-command: ${names.join(", ")}`,
      { hint: `Run \`netwarden ${argv[0]} ${names[0]} --help\`, or \`netwarden help\` for every command` },
    );
  }
  const guess = closest(argv[0], [...new Set(COMMANDS.map((c) => c.name.split(" ")[0]))]);
  return new NetwardenError(
    "NW_CLI_UNKNOWN_COMMAND",
    `there is no command "${argv[0]}"${guess ? `; did you mean \`${guess}\`?` : ""}`,
    { hint: "Run `netwarden help` to list the commands" },
  );
}
