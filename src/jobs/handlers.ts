import { batchScoreJob } from "./batch-score.js";
import type { JobStores } from "./common.js";
import { driftCheckJob } from "./drift-check.js";
import { evaluateJob } from "./evaluate.js";
import { trainJob } from "./train.js";
import type { JobHandlers } from "./types.js";

/** Every job type's handler over one set of stores: what servers and workers run. */
export function jobHandlers(stores: JobStores): Required<JobHandlers> {
  return {
    train: trainJob(stores),
    evaluate: evaluateJob(stores),
    "batch-score": batchScoreJob(stores),
    "drift-check": driftCheckJob(stores),
  };
}
