import { closest } from "../config/index.js";
import { NetwardenError } from "../core/index.js";

export interface OptionSpec {
  type: "string" | "boolean" | "number";
  short?: string;
  description: string;
  /** Shown in help as the value's name: `--port <port>`. */
  value?: string;
  default?: string | number | boolean;
  /** May be given several times (collected in an array). */
  multiple?: boolean;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
}

export interface ParsedArgs {
  positionals: Record<string, string | undefined>;
  options: Record<string, string | number | boolean | string[] | undefined>;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  home: {
    type: "string",
    value: "dir",
    description: "Store folder for runs, models and artifacts (env NETWARDEN_HOME; default ./.netwarden)",
  },
  json: { type: "boolean", description: "Print machine-readable JSON on stdout" },
  quiet: { type: "boolean", short: "q", description: "Print no progress, only results and errors" },
  help: { type: "boolean", short: "h", description: "Show help for the command" },
};

/**
 * Parses `argv` (after the command words) against the command's options and positionals.
 * Unknown options are errors with a suggestion; `--` ends options.
 */
export function parseArgs(
  command: string,
  argv: readonly string[],
  options: Record<string, OptionSpec>,
  positionals: readonly PositionalSpec[],
): ParsedArgs {
  const all = { ...GLOBAL_OPTIONS, ...options };
  const byShort = new Map(Object.entries(all).flatMap(([k, o]) => (o.short ? [[o.short, k] as const] : [])));
  const out: ParsedArgs["options"] = {};
  const rest: string[] = [];
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (onlyPositionals || !arg.startsWith("-") || arg === "-") {
      rest.push(arg);
      continue;
    }
    if (arg === "--") {
      onlyPositionals = true;
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      if (name.startsWith("no-") && all[name.slice(3)]?.type === "boolean" && inline === undefined) {
        out[name.slice(3)] = false;
        continue;
      }
    } else {
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw unknownOption(command, arg, Object.keys(all));
    }
    const spec = all[name];
    if (!spec) throw unknownOption(command, arg, Object.keys(all));
    if (spec.type === "boolean") {
      if (inline !== undefined && inline !== "true" && inline !== "false") {
        throw invalid(command, `--${name} takes no value (or =true / =false), got "${inline}"`);
      }
      out[name] = inline === undefined ? true : inline === "true";
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) {
        throw new NetwardenError(
          "NW_CLI_MISSING_ARGUMENT",
          `option --${name} needs a value (<${spec.value ?? name}>)`,
          {
            hint: `Run \`netwarden ${command} --help\` for usage`,
          },
        );
      }
      value = argv[++i];
    }
    let parsed: string | number = value;
    if (spec.type === "number") {
      parsed = Number(value);
      if (value.trim() === "" || !Number.isFinite(parsed)) {
        throw invalid(command, `--${name} must be a number, got "${value}"`);
      }
    }
    if (spec.multiple) out[name] = [...((out[name] as string[] | undefined) ?? []), String(parsed)];
    else out[name] = parsed;
  }
  for (const [k, o] of Object.entries(all))
    if (out[k] === undefined && o.default !== undefined) out[k] = o.default;
  if (out.help) return { positionals: {}, options: out };

  const pos: ParsedArgs["positionals"] = {};
  positionals.forEach((p, i) => {
    pos[p.name] = rest[i];
    if (p.required && rest[i] === undefined) {
      throw new NetwardenError(
        "NW_CLI_MISSING_ARGUMENT",
        `\`netwarden ${command}\` needs <${p.name}>: ${p.description}`,
        {
          hint: `Run \`netwarden ${command} --help\` for usage`,
        },
      );
    }
  });
  if (rest.length > positionals.length) {
    throw invalid(command, `unexpected argument "${rest[positionals.length]}"`);
  }
  return { positionals: pos, options: out };
}

function unknownOption(command: string, arg: string, known: string[]): NetwardenError {
  const bare = arg.replace(/^-+/, "").split("=")[0];
  const guess = closest(bare, known);
  return new NetwardenError(
    "NW_CLI_UNKNOWN_OPTION",
    `\`netwarden ${command}\` has no option ${arg}${guess ? `; did you mean --${guess}?` : ""}`,
    { hint: `Run \`netwarden ${command} --help\` to see its options` },
  );
}

function invalid(command: string, message: string): NetwardenError {
  return new NetwardenError("NW_CLI_INVALID_ARGUMENT", message, {
    hint: `Run \`netwarden ${command} --help\` for usage`,
  });
}
