/**
 * Jobs: long work (training, evaluation, batch scoring, drift checks) that a request starts but
 * never runs inside itself. A `JobQueue` takes `submit(type, payload)` and answers job records
 * (status, progress, result or coded error) by id; handlers are plain async functions
 * `(payload, {progress, signal}) => result` that report through the core `Progress` interface.
 *
 * - `InProcessJobQueue` runs handlers in this process (the default, no service needed).
 * - A distributed queue (e.g. BullMQ on Redis) implements the same `JobQueue` interface with the
 *   same handlers and JSON job records; nothing that submits or reads jobs changes.
 *
 * Handlers (`jobHandlers` gives all four): `train` (a stored config's training pipeline),
 * `evaluate` (a registered model's metrics on a stored config's data), `batch-score` (a scored CSV
 * in the artifact store) and `drift-check` (training reference vs. prediction log or stored data).
 * A queue without a type's handler answers NW_JOB_UNSUPPORTED.
 */

export { BATCH_SCORES_PREFIX, type BatchScoreJobResult, batchScoreJob } from "./batch-score.js";
export { type JobStores, storedConfigFile } from "./common.js";
export { DRIFT_MAX_ROWS, type DriftCheckJobResult, driftCheckJob } from "./drift-check.js";
export { type EvaluateJobResult, evaluateJob } from "./evaluate.js";
export { jobHandlers } from "./handlers.js";
export { InProcessJobQueue, type InProcessQueueOptions } from "./in-process.js";
export { type OpenJobQueueOptions, openJobQueue } from "./open.js";
export { checkRedisUrl, RedisJobQueue, type RedisJobQueueOptions } from "./redis-queue.js";
export { type TrainJobOptions, type TrainJobResult, trainJob } from "./train.js";
export {
  JOB_TYPES,
  type JobContext,
  type JobFilter,
  type JobHandler,
  type JobHandlers,
  type JobQueue,
  type JobRecord,
  type JobStatus,
  type JobTaskProgress,
  type JobType,
} from "./types.js";
