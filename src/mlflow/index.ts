export {
  checkTrackingUri,
  MlflowClient,
  type MlflowClientOptions,
  type MlflowErrorCode,
  type MlflowMetric,
  type MlflowModelVersion,
  type MlflowRun,
  type MlflowRunInfo,
  type MlflowRunStatus,
  mlflowCode,
} from "./client.js";
