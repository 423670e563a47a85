// Every error code a user can meet, in one place. The README's error table is checked against
// this list by a test, and the CLI exit code and HTTP status of an error come from its category.

export type ErrorCategory =
  | "usage" // bad command line or config file
  | "data" // input data missing, malformed or failing validation
  | "gate" // model rejected by the evaluation gate
  | "store" // registry / artifact store problems (not found, corrupt, locked)
  | "network" // downloads and remote services
  | "model" // learner / training / bundle problems
  | "serve" // bad prediction requests
  | "internal"; // a bug: please report it

export const EXIT_CODES: Record<ErrorCategory, number> = {
  internal: 1,
  usage: 2,
  data: 3,
  gate: 4,
  store: 5,
  network: 6,
  model: 7,
  serve: 8,
};

export const HTTP_STATUS: Record<ErrorCategory, number> = {
  usage: 400,
  data: 400,
  serve: 400,
  gate: 409,
  store: 404,
  network: 502,
  model: 422,
  internal: 500,
};

interface CodeInfo {
  category: ErrorCategory;
  summary: string;
  http?: number; // overrides the category's status where a more precise one exists
}

export const CODES = {
  // --- command line and config ---
  NW_CLI_UNKNOWN_COMMAND: { category: "usage", summary: "The sub-command does not exist." },
  NW_CLI_UNKNOWN_OPTION: { category: "usage", summary: "An option the sub-command does not take." },
  NW_CLI_MISSING_ARGUMENT: { category: "usage", summary: "A required argument or option is missing." },
  NW_CLI_INVALID_ARGUMENT: { category: "usage", summary: "An argument has the wrong form or value." },
  NW_CONFIG_NOT_FOUND: { category: "usage", summary: "The config file does not exist." },
  NW_CONFIG_YAML: { category: "usage", summary: "The config file is not valid YAML." },
  NW_CONFIG_UNKNOWN_KEY: { category: "usage", summary: "A key the config schema does not define." },
  NW_CONFIG_MISSING_KEY: { category: "usage", summary: "A required config key is missing." },
  NW_CONFIG_INVALID_VALUE: { category: "usage", summary: "A config value has the wrong type or range." },
  NW_CONFIG_ENV: { category: "usage", summary: "A ${VAR} in the config refers to an unset variable." },

  // --- data, schema, validation, split ---
  NW_DATA_NOT_FOUND: { category: "data", summary: "A data file does not exist or cannot be read." },
  NW_DATA_EMPTY: { category: "data", summary: "A data file has no header or no data rows." },
  NW_DATA_MALFORMED: {
    category: "data",
    summary: "A CSV file cannot be parsed (quotes, field counts, encoding).",
  },
  NW_SCHEMA_MISSING_COLUMN: { category: "data", summary: "A column the schema declares is not in the data." },
  NW_SCHEMA_UNEXPECTED_COLUMN: {
    category: "data",
    summary: "The data has a column the schema does not declare.",
  },
  NW_SCHEMA_INVALID: { category: "data", summary: "The schema itself is inconsistent (e.g. no target)." },
  NW_VALIDATION_FAILED: { category: "data", summary: "Data validation crossed a configured fail threshold." },
  NW_TARGET_ONE_CLASS: { category: "data", summary: "The target column has fewer than two classes." },
  NW_SPLIT_UNSEEN_CLASS: { category: "data", summary: "The test split has a class the train split lacks." },
  NW_SPLIT_INVALID: { category: "data", summary: "The split cannot be made (too few rows per class)." },

  // --- learners, training, bundles ---
  NW_LEARNER_UNKNOWN: { category: "model", summary: "The model kind is not known." },
  NW_LEARNER_UNKNOWN_PARAM: { category: "model", summary: "A hyper-parameter the learner does not take." },
  NW_LEARNER_INVALID_PARAM: { category: "model", summary: "A hyper-parameter value is out of range." },
  NW_LEARNER_INVALID_INPUT: {
    category: "model",
    summary: "Training input is unusable (NaN labels, zero rows, mismatched lengths).",
  },
  NW_MODEL_FORMAT: { category: "model", summary: "A serialised model or bundle cannot be read." },
  NW_MODEL_EXPORT: { category: "model", summary: "The model cannot be exported to the requested format." },
  NW_TRANSFORM_INVALID: { category: "model", summary: "A preprocessing step cannot be fitted or applied." },

  // --- evaluation gate ---
  NW_GATE_REJECTED: { category: "gate", summary: "The candidate model did not pass the evaluation gate." },

  // --- registry and stores ---
  NW_STORE_NOT_FOUND: { category: "store", summary: "A run, model, version or alias does not exist." },
  NW_STORE_CORRUPT: { category: "store", summary: "A stored record or artifact fails its integrity check." },
  NW_STORE_LOCKED: {
    category: "store",
    summary: "Another process holds the store lock for too long.",
    http: 503,
  },
  NW_STORE_IO: { category: "store", summary: "The store folder cannot be written.", http: 500 },
  NW_STORE_INVALID_ARGUMENT: {
    category: "usage",
    summary: "A model name, alias, hash or value given to the store has the wrong form.",
  },

  // --- downloads ---
  NW_FETCH_UNKNOWN_DATASET: { category: "usage", summary: "No dataset of that name is known." },
  NW_FETCH_FAILED: { category: "network", summary: "The download failed (network, HTTP status)." },
  NW_FETCH_CHECKSUM: { category: "network", summary: "The downloaded file's sha256 does not match." },

  // --- serving ---
  NW_SERVE_MODEL_NOT_FOUND: { category: "serve", summary: "No model of that name is served.", http: 404 },
  NW_SERVE_NOT_READY: { category: "serve", summary: "No model is loaded yet.", http: 503 },
  NW_SERVE_BAD_REQUEST: {
    category: "serve",
    summary: "The request body is not valid JSON of the right shape.",
  },
  NW_SERVE_INVALID_RECORD: {
    category: "serve",
    summary: "A record is missing a feature or has a bad value.",
  },
  NW_SERVE_PAYLOAD_TOO_LARGE: {
    category: "serve",
    summary: "The request body is over the size limit.",
    http: 413,
  },
  NW_SERVE_NOT_FOUND: { category: "serve", summary: "No such route.", http: 404 },
  NW_SERVE_PORT_IN_USE: { category: "usage", summary: "The port to listen on is taken." },
  NW_SERVE_UNAUTHORIZED: {
    category: "serve",
    summary: "The route needs an API key and none, or an unknown one, was sent.",
    http: 401,
  },
  NW_SERVE_FORBIDDEN: { category: "serve", summary: "The API key may not use this route.", http: 403 },
  NW_SERVE_RATE_LIMITED: { category: "serve", summary: "Too many requests from this client.", http: 429 },
  NW_SERVE_UNSUPPORTED_MEDIA_TYPE: {
    category: "serve",
    summary: "The request's Content-Type or Content-Encoding is not one the route reads.",
    http: 415,
  },
  NW_SERVE_NOT_ACCEPTABLE: {
    category: "serve",
    summary: "The answer format asked for (Accept or ?format=) is not one the route writes.",
    http: 406,
  },
  NW_SERVE_TOO_MANY_ROWS: {
    category: "serve",
    summary: "A CSV upload has more rows than allowed.",
    http: 413,
  },
  NW_SERVE_NO_EXPLANATIONS: {
    category: "serve",
    summary: "Explanations were asked of a model family that has none.",
  },
  NW_SERVE_SHUTTING_DOWN: { category: "serve", summary: "The server is shutting down.", http: 503 },
  NW_JOB_NOT_FOUND: { category: "store", summary: "No job has that id." },
  NW_JOB_INVALID: {
    category: "usage",
    summary: "A job request names an unknown type or config, or has bad fields.",
  },
  NW_JOB_UNSUPPORTED: {
    category: "usage",
    summary: "The job type exists but this queue has no handler for it.",
    http: 501,
  },
  NW_JOB_UNSEEN_CLASS: {
    category: "data",
    summary: "An evaluate job's data has a label the model never learned.",
  },
  NW_DRIFT_NO_REFERENCE: {
    category: "store",
    summary: "A drift check's model has no training reference sample (trained before they were stored).",
  },
  NW_DRIFT_NO_DATA: {
    category: "data",
    summary: "A drift check found no current rows (an empty prediction log for those days).",
  },

  // --- production backends: PostgreSQL, S3, Redis, MongoDB, MLflow ---
  NW_BACKEND_CONFIG: {
    category: "usage",
    summary:
      "A backend setting (DATABASE_URL, ARTIFACT_STORE, REDIS_URL, MLFLOW_TRACKING_URI, a data source) has the wrong form.",
  },
  NW_BACKEND_UNAVAILABLE: {
    category: "network",
    summary: "A backend service cannot be reached, or refused the connection or the credentials.",
    http: 503,
  },
  NW_BACKEND_SCHEMA: {
    category: "store",
    summary: "The database was migrated by a newer netwarden, or a migration failed.",
    http: 500,
  },
  NW_SOURCE_FAILED: {
    category: "data",
    summary: "A database or object-store data source cannot be read (query, table, collection, object).",
  },
  NW_MLFLOW_REJECTED: { category: "network", summary: "The MLflow server refused a mirrored run or model." },

  // --- anything else ---
  NW_INTERNAL: { category: "internal", summary: "An unexpected failure: a bug in netwarden." },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof CODES;

export function codeInfo(code: ErrorCode): CodeInfo {
  return CODES[code];
}
