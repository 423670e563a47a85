import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataDir, TMP_PREFIX } from "../../core/index.js";
import { BufferIo } from "../io.js";
import { main } from "../main.js";

export const REPO = join(import.meta.dirname, "..", "..", "..");
export const PHISHING_CSV = join(dataDir(), "phishing_websites.csv");

/** A temp folder with a store home, for one CLI scenario. */
export function workspace(): { dir: string; home: string; file(name: string, text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), "nw-cli-"));
  return {
    dir,
    home: join(dir, ".netwarden"),
    file(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
  };
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function cli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const io = new BufferIo({ NETWARDEN_ACTOR: "test", ...opts.env }, opts.cwd ?? REPO);
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

/** The phishing CSV's header and rows, for making variants of it. */
export function phishingLines(): { header: string; rows: string[] } {
  const [header, ...rows] = readFileSync(PHISHING_CSV, "utf8").trimEnd().split("\n");
  return { header, rows };
}

/** examples/phishing.yaml with the data path and models replaced, for fast scenario runs. */
export function phishingConfig(
  opts: { data?: string; train?: string; test?: string; extra?: string } = {},
): string {
  let text = readFileSync(join(REPO, "examples", "phishing.yaml"), "utf8");
  const data = opts.data
    ? `data:\n  path: ${opts.data}\n`
    : `data:\n  train: ${opts.train}\n  test: ${opts.test}\n`;
  text = text.replace(/^data:\n {2}path: .*\n/m, data);
  text = text.replace(
    /^models:\n(?: {2}.*\n| {4}.*\n)+/m,
    "models:\n  - kind: gbdt\n    params: { n_estimators: 20, max_depth: 4 }\n",
  );
  text = text.replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 2\n");
  text = text.replace(/^ {2}min: 0\.95$/m, "  min: 0.9");
  return `${text}\n${opts.extra ?? ""}`;
}

/** Every file under `dir`, relative. */
export function listFiles(dir: string, prefix = ""): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(listFiles(p, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/** Nothing half-written: no temp files or held locks, no registered model, no run left running. */
export function halfWritten(home: string): string[] {
  const problems: string[] = [];
  for (const f of listFiles(home)) {
    const base = f.split("/").pop() ?? "";
    if (base.startsWith(TMP_PREFIX) || f.split("/").some((part) => part.startsWith(TMP_PREFIX)))
      problems.push(`temp file ${f}`);
    if (f.includes(".lock/") || base.endsWith(".lock")) problems.push(`lock left behind: ${f}`);
    if (f.startsWith("models/")) problems.push(`registered model file ${f}`);
    if (f.endsWith("run.json")) {
      const run = JSON.parse(readFileSync(join(home, f), "utf8")) as { status: string };
      if (run.status === "running") problems.push(`run left running: ${f}`);
    }
  }
  return problems;
}
