import type { PipelineConfig } from "../config/index.js";
import type { Progress } from "../core/index.js";
import {
  greaterIsBetter,
  type MetricName,
  paramSpecs,
  resolveThreads,
  sharedCopy,
  sharedPool,
  stratifiedKFold,
} from "../ml/index.js";
import type { Candidate } from "./candidates.js";
import { CV_TASK_MODULE, type FoldTask, scoreFold, shareColumns } from "./cv-task.js";
import { positiveIndex } from "./fit.js";
import type { Dataset } from "./ingest.js";

export interface CvResult {
  candidate: Candidate;
  /** Selection metric per fold. */
  scores: number[];
  mean: number;
  std: number;
  seconds: number;
}

/**
 * Stratified k-fold cross-validation of every candidate on the train split. With `search.n_jobs`
 * above 1 the (candidate, fold) fits run side by side in worker threads, each learner on one
 * thread; every fit is independent and seeded, so the scores are the same either way.
 */
export async function crossValidate(
  config: PipelineConfig,
  ds: Dataset,
  candidates: readonly Candidate[],
  progress: Progress,
): Promise<CvResult[]> {
  const metric = config.search.metric as MetricName;
  const k = config.search.cv_folds;
  const folds = stratifiedKFold(ds.yTrain, k, config.search.seed);
  const pos = positiveIndex(config, ds.classes);
  const jobs = Math.min(resolveThreads(config.search.n_jobs), candidates.length * k);
  const task = progress.task(
    `cross-validating ${candidates.length} candidate(s) × ${k} folds${jobs > 1 ? ` on ${jobs} threads` : ""}`,
    candidates.length * k,
  );
  const scores = candidates.map(() => new Array<number>(k));
  const seconds = candidates.map(() => 0);
  const base = {
    features: ds.schema.columns.filter((c) => c.role === "feature"),
    featureNames: ds.featureNames,
    classes: ds.classes,
    metric,
    positiveClass: pos,
    seed: config.search.seed,
  };
  const shared = jobs > 1 ? { columns: shareColumns(ds.train), y: sharedCopy(ds.yTrain) } : undefined;
  const work: { c: number; f: number }[] = [];
  candidates.forEach((_, c) => {
    for (let f = 0; f < k; f++) work.push({ c, f });
  });
  let next = 0;
  const done = new Array<number>(candidates.length).fill(0);
  const runner = async () => {
    while (next < work.length) {
      const { c, f } = work[next++];
      const started = Date.now();
      const fold = folds[f];
      const common = { ...base, train: fold.train, test: fold.test };
      let s: number;
      if (shared) {
        const t: FoldTask = {
          ...common,
          ...shared,
          train: sharedCopy(fold.train),
          test: sharedCopy(fold.test),
          candidate: singleThreaded(candidates[c]),
        };
        s = await sharedPool().call<number>(CV_TASK_MODULE, "scoreFold", t);
      } else {
        s = await scoreFold({
          ...common,
          columns: [...ds.train.columns],
          y: ds.yTrain,
          candidate: candidates[c],
        });
      }
      scores[c][f] = s;
      seconds[c] += (Date.now() - started) / 1000;
      done[c]++;
      const finished = scores[c].slice(0, k).filter((x) => x !== undefined);
      task.tick(
        1,
        `${candidates[c].name}: ${metric} ${mean(finished).toFixed(4)}${done[c] < k ? ` (${done[c]}/${k})` : ""}`,
      );
    }
  };
  await Promise.all(Array.from({ length: jobs }, runner));
  const results = candidates.map((candidate, c) => ({
    candidate,
    scores: scores[c],
    mean: mean(scores[c]),
    std: std(scores[c]),
    seconds: seconds[c],
  }));
  const best = pickBest(results, metric);
  task.done(`best ${best.candidate.name}: ${metric} ${best.mean.toFixed(4)} ± ${best.std.toFixed(4)}`);
  return results;
}

/** Parallel folds already fill the cores: a learner that can use threads gets one, unless set. */
function singleThreaded(candidate: Candidate): Candidate {
  if (!("n_threads" in paramSpecs(candidate.kind)) || candidate.params.n_threads !== undefined)
    return candidate;
  return { ...candidate, params: { ...candidate.params, n_threads: 1 } };
}

/** Highest mean (lowest for losses); ties keep the earlier candidate, so the order in the config decides. */
export function pickBest(results: readonly CvResult[], metric: MetricName): CvResult {
  const sign = greaterIsBetter(metric) ? 1 : -1;
  let best = results[0];
  for (const r of results) if (sign * (r.mean - best.mean) > 0) best = r;
  return best;
}

function mean(a: readonly number[]): number {
  return a.reduce((s, x) => s + x, 0) / a.length;
}

function std(a: readonly number[]): number {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length);
}
