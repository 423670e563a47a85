/**
 * Monitoring: the prediction log the server writes (append-only JSON-lines segments under the
 * artifact store, `predictions/<model>/<yyyy-mm-dd>/<time>-<instance>-<seq>.jsonl`) and its reader.
 * Drift jobs read production inputs and outputs through `readPredictionLog`.
 */
export {
  listPredictionSegments,
  PREDICTION_LOG_PREFIX,
  type PredictionBatch,
  type PredictionLogSink,
  type PredictionRecord,
  type ReadLogOptions,
  readPredictionLog,
  SegmentLogSink,
  type SegmentSinkOptions,
  type SinkStats,
  serializeBatch,
} from "./prediction-log.js";
