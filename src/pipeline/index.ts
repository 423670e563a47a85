export {
  BUNDLE_FORMAT,
  Bundle,
  type BundleFile,
  type BundleInput,
  type BundleManifest,
  type BundleTarget,
  decodeBundle,
  encodeBundle,
  type Prediction,
} from "./bundle.js";
export { buildCandidates, type Candidate, familyOf } from "./candidates.js";
export type { CheckResult } from "./checks.js";
export type { GateResult } from "./gate.js";
export { sortLabels, toDataSchema } from "./schema.js";
export { runTraining, type TrainContext, type TrainOutcome } from "./train.js";
