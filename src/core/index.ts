export { CODES, type ErrorCategory, type ErrorCode, EXIT_CODES, HTTP_STATUS } from "./codes.js";
export { dataDir, netwardenVersion } from "./env.js";
export { asNetwardenError, type ErrorInit, isNetwardenError, NetwardenError } from "./errors.js";
export { exists, readJson, TMP_PREFIX, writeFileAtomic, writeFileOnce } from "./fs.js";
export { canonicalJson, sha256 } from "./hash.js";
export { type Progress, type ProgressTask, RecordingProgress, silentProgress } from "./progress.js";
export { Rng } from "./rng.js";
