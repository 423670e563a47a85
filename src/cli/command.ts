import { userInfo } from "node:os";
import { resolve } from "node:path";
import type { Progress } from "../core/index.js";
import { GLOBAL_OPTIONS, type OptionSpec, type ParsedArgs, type PositionalSpec } from "./args.js";
import type { Io } from "./io.js";

export interface CommandContext {
  args: ParsedArgs;
  io: Io;
  json: boolean;
  progress: Progress;
  /** Store folder: --home, else NETWARDEN_HOME, else ./.netwarden */
  home: string;
  /** Writes a line to stdout (human output; suppressed in --json mode). */
  print(line?: string): void;
  /** Writes one JSON document to stdout (only in --json mode). */
  emit(value: unknown): void;
}

export interface Command {
  /** Words that select the command: "train", "models promote". */
  name: string;
  summary: string;
  description?: string;
  options: Record<string, OptionSpec>;
  positionals: PositionalSpec[];
  examples?: string[];
  /** Returns the process exit code (0 when undefined). */
  run(ctx: CommandContext): Promise<number | undefined>;
}

export function storeHome(args: ParsedArgs, io: Io): string {
  const dir = (args.options.home as string | undefined) || io.env.NETWARDEN_HOME || ".netwarden";
  return resolve(io.cwd, dir);
}

export function renderHelp(cmd: Command): string {
  const pos = cmd.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(" ");
  const lines = [`Usage: netwarden ${cmd.name}${pos ? ` ${pos}` : ""} [options]`, "", cmd.summary];
  if (cmd.description) lines.push("", cmd.description);
  if (cmd.positionals.length) {
    lines.push("", "Arguments:");
    for (const p of cmd.positionals) lines.push(`  ${p.name.padEnd(24)} ${p.description}`);
  }
  const opts = { ...cmd.options, ...GLOBAL_OPTIONS };
  lines.push("", "Options:");
  for (const [name, o] of Object.entries(opts)) {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "boolean" ? "" : ` <${o.value ?? name}>`}`;
    const def = o.default !== undefined && o.type !== "boolean" ? ` (default: ${o.default})` : "";
    lines.push(`  ${flag.padEnd(24)} ${o.description}${def}`);
  }
  if (cmd.examples?.length) {
    lines.push("", "Examples:");
    for (const e of cmd.examples) lines.push(`  ${e}`);
  }
  return `${lines.join("\n")}\n`;
}

export function renderOverview(commands: readonly Command[]): string {
  const lines = ["Usage: netwarden <command> [options]", "", "Commands:"];
  for (const c of commands) lines.push(`  ${c.name.padEnd(20)} ${c.summary}`);
  lines.push(
    "",
    "Global options: --home <dir>, --json, -q/--quiet, -h/--help",
    "Run `netwarden <command> --help` for a command's options.",
  );
  return `${lines.join("\n")}\n`;
}

/** Who is acting, for the audit trail: NETWARDEN_ACTOR, else the OS user. */
export function actorOf(ctx: CommandContext): string {
  if (ctx.io.env.NETWARDEN_ACTOR) return ctx.io.env.NETWARDEN_ACTOR;
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}
