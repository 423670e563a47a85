import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePipelineConfig } from "../../config/index.js";
import { dataDir, silentProgress } from "../../core/index.js";
import { readCsv } from "../../data/index.js";
import { runTraining } from "../../pipeline/index.js";
import { openStores, type Stores } from "../../store/index.js";

export const REPO = join(import.meta.dirname, "..", "..", "..");
export const PHISHING_CSV = join(dataDir(), "phishing_websites.csv");

/**
 * The phishing example with one small model (one thread: test files run side by side). Different
 * `estimators` give versions whose probabilities differ, so a response shows which one answered.
 */
export function phishingConfig(model: string): string {
  return readFileSync(join(REPO, "examples", "phishing.yaml"), "utf8")
    .replace(/^data:\n {2}path: .*\n/m, `data:\n  path: ${PHISHING_CSV}\n`)
    .replace(/^models:\n(?: {2}.*\n| {4}.*\n)+/m, `models:\n  - ${model}\n`)
    .replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 2\n")
    .replace(/^ {2}min: 0\.95$/m, "  min: 0.9")
    .replace(/^ {2}max_regression: .*\n/m, "  max_regression: 1\n");
}

export const gbdt = (estimators: number) =>
  `{ kind: gbdt, params: { n_estimators: ${estimators}, max_depth: 4, n_threads: 1 } }`;
export const logreg = "{ kind: logreg, params: { C: 1.0 } }";

/** A fresh store with one phishing version per model entry (v1, v2, ...), v1 at @production. */
export async function phishingStore(models: string[]): Promise<{ home: string; stores: Stores }> {
  const home = mkdtempSync(join(tmpdir(), "nw-serve-"));
  const stores = await openStores({ root: home });
  const ctx = { ...stores, progress: silentProgress, actor: "test" };
  for (const m of models) {
    await runTraining(parsePipelineConfig(phishingConfig(m), join(home, "p.yaml"), {}), ctx);
  }
  await stores.metadata.setAlias("phishing", "production", 1, { actor: "test", reason: "test" });
  return { home, stores };
}

/** The first `n` rows of the phishing file as request records (features only). */
export async function phishingRecords(n: number): Promise<Record<string, number | string | null>[]> {
  const { table } = await readCsv(PHISHING_CSV, { limit: n });
  return Array.from({ length: n }, (_, i) => {
    const r = table.row(i);
    delete r.Result;
    return r;
  });
}

/** The first `n` lines of the phishing file (header included) as CSV text. */
export function phishingCsv(n: number): string {
  const lines = readFileSync(PHISHING_CSV, "utf8").split("\n");
  return `${lines.slice(0, n + 1).join("\n")}\n`;
}
