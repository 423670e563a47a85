import { rowKeysAcross } from "./keys.js";
import type { Table } from "./table.js";

export interface DuplicateCounts {
  rows: number;
  /** Distinct rows over the features and the target. */
  distinct: number;
  /** Rows that repeat an earlier row exactly (features and target): rows − distinct. */
  duplicates: number;
}

export interface DuplicateReport {
  featureColumns: string[];
  target: string;
  train: DuplicateCounts;
  test: DuplicateCounts | null;
  /** Test rows whose feature vector also occurs in train: scores on them measure memory, not skill. */
  leakage: { testRows: number; share: number } | null;
  /** Feature vectors that occur with more than one label (over train and test together). */
  conflicts: { vectors: number; rows: number };
}

/**
 * Exact duplicates within each side, duplicate leakage from train into test, and feature vectors
 * with conflicting labels. Values are compared by content (categorical by text), not by code.
 */
export function duplicateReport(
  train: Table,
  test: Table | null,
  featureColumns: readonly string[],
  target: string,
): DuplicateReport {
  const tables = test ? [train, test] : [train];
  const full = rowKeysAcross(tables, [...featureColumns, target]);
  const feats = rowKeysAcross(tables, featureColumns);
  const labels = rowKeysAcross(tables, [target]);

  const counts = (keys: Int32Array): DuplicateCounts => {
    const seen = new Uint8Array(full.nKeys);
    let distinct = 0;
    for (const k of keys) {
      if (!seen[k]) {
        seen[k] = 1;
        distinct++;
      }
    }
    return { rows: keys.length, distinct, duplicates: keys.length - distinct };
  };

  let leakage: DuplicateReport["leakage"] = null;
  if (test) {
    const inTrain = new Uint8Array(feats.nKeys);
    for (const k of feats.keys[0]) inTrain[k] = 1;
    let hits = 0;
    for (const k of feats.keys[1]) hits += inTrain[k];
    leakage = { testRows: hits, share: test.nRows ? hits / test.nRows : 0 };
  }

  // First label seen per feature vector; a different one later marks the vector as conflicting.
  const firstLabel = new Int32Array(feats.nKeys).fill(-1);
  const conflicting = new Uint8Array(feats.nKeys);
  tables.forEach((_, t) => {
    const fk = feats.keys[t];
    const lk = labels.keys[t];
    for (let i = 0; i < fk.length; i++) {
      const f = fk[i];
      if (firstLabel[f] === -1) firstLabel[f] = lk[i];
      else if (firstLabel[f] !== lk[i]) conflicting[f] = 1;
    }
  });
  let vectors = 0;
  for (const c of conflicting) vectors += c;
  let rows = 0;
  for (const fk of feats.keys) for (const f of fk) rows += conflicting[f];

  return {
    featureColumns: [...featureColumns],
    target,
    train: counts(full.keys[0]),
    test: test ? counts(full.keys[1]) : null,
    leakage,
    conflicts: { vectors, rows },
  };
}
