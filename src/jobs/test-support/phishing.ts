import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDir } from "../../core/index.js";

const REPO = join(import.meta.dirname, "..", "..", "..");

/**
 * The phishing example with a small model, so a job trains in a few seconds, written to
 * `<dir>/<file>`; `dataPath` points it at another CSV of the same columns.
 */
export function writePhishingConfig(
  dir: string,
  dataPath = join(dataDir(), "phishing_websites.csv"),
  file = "phishing.yaml",
): string {
  const text = readFileSync(join(REPO, "examples", "phishing.yaml"), "utf8")
    .replace(/^data:\n {2}path: .*\n/m, `data:\n  path: ${dataPath}\n`)
    .replace(
      /^models:\n(?: {2}.*\n| {4}.*\n)+/m,
      "models:\n  - kind: gbdt\n    params: { n_estimators: 20, max_depth: 4, n_threads: 1 }\n",
    )
    .replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 2\n")
    .replace(/^ {2}min: 0\.95$/m, "  min: 0.9");
  const out = join(dir, file);
  writeFileSync(out, text);
  return out;
}
