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
export { reportMetrics } from "./fit.js";
export type { GateResult } from "./gate.js";
export { type Dataset, ingest, labelIndices, quarantineFor, type ReadInput, readInputs } from "./ingest.js";
export { decodeReference, encodeReference, REFERENCE_ARTIFACT, REFERENCE_ROWS } from "./reference.js";
export { sortLabels, toDataSchema } from "./schema.js";
export { runTraining, type TrainContext, type TrainOutcome } from "./train.js";
