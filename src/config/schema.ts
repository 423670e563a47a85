import { z } from "zod";

/**
 * The pipeline config: one YAML file per pipeline. Every object is strict, so a misspelt key is an
 * error (with a "did you mean"), never silently ignored. Keys are snake_case, as in the YAML.
 */

const nonEmpty = z.string().min(1);
const share = z.number().min(0).max(1);

/** A warn/fail pair: a measured value above `warn` is reported, above `fail` stops the run. */
const threshold = (warn: number | null, fail: number | null) =>
  z
    .object({
      warn: share.nullable().default(warn).describe("Report when the value is above this (null: never)."),
      fail: share
        .nullable()
        .default(fail)
        .describe("Stop the run when the value is above this (null: never)."),
    })
    .strict()
    .prefault({});

export const COLUMN_TYPES = ["numeric", "categorical", "binary"] as const;
export const COLUMN_ROLES = ["feature", "target", "id", "ignore"] as const;

const columnObject = z
  .object({
    role: z
      .enum(COLUMN_ROLES)
      .default("feature")
      .describe("feature, target, id (kept out of training) or ignore (not read)."),
    type: z
      .enum(COLUMN_TYPES)
      .default("numeric")
      .describe("How values are read: numbers, labels, or a two-valued flag."),
    nullable: z
      .boolean()
      .optional()
      .describe("Missing values allowed (default: true for features, false for the target)."),
    allowed: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .optional()
      .describe("The only values the column may take."),
    min: z.number().optional().describe("Smallest allowed value (numeric)."),
    max: z.number().optional().describe("Largest allowed value (numeric)."),
    max_missing_rate: share.optional().describe("Largest tolerated share of missing values in this column."),
    description: z.string().optional(),
  })
  .strict();

/** `dur: numeric` is shorthand for `dur: { type: numeric }`. */
const column = z.preprocess((v) => (typeof v === "string" ? { type: v } : v), columnObject);

export const schemaSection = z
  .object({
    target: nonEmpty.describe("Name of the label column."),
    positive_class: z
      .union([z.string(), z.number()])
      .transform(String)
      .optional()
      .describe(
        "For binary targets: the class that counts as positive (the threat) in precision, recall, ROC-AUC.",
      ),
    class_names: z
      .record(z.string(), z.string())
      .optional()
      .describe("Readable names for class values, e.g. { '-1': phishing, '1': legitimate }."),
    unexpected_columns: z
      .enum(["error", "warn", "ignore"])
      .default("error")
      .describe("What to do with data columns the schema does not list."),
    missing_values: z
      .array(z.string())
      .optional()
      .describe("Cell texts that mean 'missing' (default: '', NA, N/A, NaN, nan, null, NULL)."),
    columns: z.record(z.string(), column).describe("Every column of the data, by name, in any order."),
  })
  .strict();

export const SOURCE_KINDS = ["postgres", "mongodb", "s3"] as const;

/** The keys each source kind takes (besides `kind` and `url`). */
export const SOURCE_KEYS: Record<(typeof SOURCE_KINDS)[number], readonly string[]> = {
  postgres: ["table", "query", "order_by", "batch_size"],
  mongodb: ["database", "collection", "filter", "projection", "sort", "batch_size"],
  s3: ["format"],
};

/**
 * A database or object-store source. One object for every kind (so a misspelt key gets a "did you
 * mean" over all of them); the keys a kind does not take are refused with the ones it does.
 */
const sourceSection = z
  .object({
    kind: z
      .enum(SOURCE_KINDS)
      .describe("postgres (table or query), mongodb (collection) or s3 (CSV or Parquet object)."),
    url: nonEmpty.describe(
      "postgres://…, mongodb://… or s3://bucket/key (use ${VAR} for secrets, e.g. url: ${DATABASE_URL}).",
    ),
    table: nonEmpty
      .optional()
      .describe("postgres: table to read (schema.table allowed), in primary-key order."),
    query: nonEmpty.optional().describe("postgres: SQL query to read instead of a table."),
    order_by: z.array(nonEmpty).min(1).optional().describe("postgres: columns to order the table by."),
    database: nonEmpty.optional().describe("mongodb: database (default: the one in the URL)."),
    collection: nonEmpty.optional().describe("mongodb: collection to read."),
    filter: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("mongodb: query filter, e.g. { label: { $ne: null } }."),
    projection: z
      .record(z.string(), z.union([z.literal(0), z.literal(1), z.boolean()]))
      .optional()
      .describe(
        "mongodb: fields to read (1) or leave out (0); _id is always left out unless the schema lists it.",
      ),
    sort: z
      .record(z.string(), z.union([z.literal(1), z.literal(-1)]))
      .optional()
      .describe("mongodb: sort order, e.g. { _id: 1 }."),
    batch_size: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe("Rows or documents per fetch (default 5000)."),
    format: z
      .enum(["csv", "parquet"])
      .optional()
      .describe("s3: object format (default: from the key, .parquet → parquet)."),
  })
  .strict()
  .superRefine((s, ctx) => {
    const allowed = new Set(["kind", "url", ...SOURCE_KEYS[s.kind]]);
    for (const key of Object.keys(s)) {
      if (allowed.has(key) || (s as Record<string, unknown>)[key] === undefined) continue;
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `a ${s.kind} source does not take \`${key}\`; it takes: ${["url", ...SOURCE_KEYS[s.kind]].join(", ")}`,
      });
    }
    const scheme = s.url.split(":")[0];
    const schemes = { postgres: ["postgres", "postgresql"], mongodb: ["mongodb", "mongodb+srv"], s3: ["s3"] }[
      s.kind
    ];
    if (!schemes.includes(scheme)) {
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message: `a ${s.kind} source needs a ${schemes[0]}:// URL`,
      });
    }
    if (s.kind === "postgres" && (s.table === undefined) === (s.query === undefined)) {
      ctx.addIssue({ code: "custom", path: ["table"], message: "set either `table` or `query`" });
    }
    if (s.kind === "postgres" && s.query !== undefined && s.order_by !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["order_by"],
        message: "with `query`, put ORDER BY in the query itself",
      });
    }
    if (s.kind === "mongodb" && s.collection === undefined) {
      ctx.addIssue({ code: "custom", path: ["collection"], message: "a mongodb source needs `collection`" });
    }
  });

const dataSection = z
  .object({
    path: nonEmpty.optional().describe("One labelled file, split into train and test by `split`."),
    train: nonEmpty.optional().describe("A given training file (with `test`: use this split as is)."),
    test: nonEmpty.optional().describe("A given test file."),
    source: sourceSection
      .optional()
      .describe("One labelled dataset in PostgreSQL, MongoDB or S3, split into train and test by `split`."),
    format: z
      .enum(["csv", "parquet"])
      .default("csv")
      .describe("Format of the files in `path`, `train`, `test`."),
    delimiter: z.string().length(1).optional().describe("Field separator (default: detected)."),
    header: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  })
  .strict()
  .superRefine((d, ctx) => {
    const single = d.path !== undefined;
    const given = d.train !== undefined || d.test !== undefined;
    const source = d.source !== undefined;
    if (source && (single || given)) {
      ctx.addIssue({
        code: "custom",
        path: ["source"],
        message: "use either `source` or files (`path`, or `train` + `test`), not both",
      });
    } else if (single && given) {
      ctx.addIssue({
        code: "custom",
        path: ["path"],
        message: "use either `path` or `train` + `test`, not both",
      });
    } else if (!single && !given && !source) {
      ctx.addIssue({
        code: "custom",
        path: ["path"],
        message: "set `path` (one file), `train` and `test`, or `source` (a database or S3 object)",
      });
    } else if (given && (d.train === undefined || d.test === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [d.train === undefined ? "train" : "test"],
        message: "a given split needs both `train` and `test`",
      });
    }
  });

const splitSection = z
  .object({
    test_size: z.number().gt(0).lt(1).default(0.2).describe("Share of rows held out for the test split."),
    seed: z.number().int().min(0).default(42),
    stratify: z.boolean().default(true).describe("Keep class proportions on both sides."),
    dedupe: z
      .enum(["none", "drop", "group"])
      .default("none")
      .describe(
        "Exact duplicate rows: keep (none), drop repeats before splitting, or keep copies on one side (group).",
      ),
  })
  .strict()
  .prefault({});

const driftSection = z
  .object({
    psi: z.number().positive().default(0.2).describe("A feature drifts when its PSI is at least this."),
    p_value: share.default(0.01).describe("... or when its KS / chi-squared p-value is below this."),
    bins: z.number().int().min(2).max(100).default(10),
    min_rows: z.number().int().min(1).default(100).describe("Fewer rows on either side: no drift verdict."),
  })
  .strict()
  .prefault({});

const validationSection = z
  .object({
    invalid_rows: threshold(0, 0).describe("Share of rows with an invalid cell (quarantined)."),
    missing_rate: threshold(0.05, null).describe("Share of missing values in any one column."),
    drifted_features: threshold(0, null).describe("Share of features that drift between train and test."),
    duplicate_leakage: threshold(0, null).describe("Share of test rows whose features also occur in train."),
    minority_class: z
      .object({
        warn: share.nullable().default(0.05),
        fail: share.nullable().default(null),
      })
      .strict()
      .prefault({})
      .describe("Smallest class share: below `warn` is reported, below `fail` stops the run."),
    drift: driftSection,
  })
  .strict()
  .prefault({});

const numericPreprocess = z
  .object({
    impute: z.enum(["none", "mean", "median", "constant", "knn"]).optional(),
    fill_value: z.number().optional(),
    knn_neighbors: z.number().int().min(1).optional(),
    scale: z.enum(["none", "standard", "robust"]).optional(),
  })
  .strict();

const categoricalPreprocess = z
  .object({
    impute: z.enum(["none", "most_frequent", "constant"]).optional(),
    encode: z.enum(["onehot", "ordinal"]).optional(),
    max_categories: z.number().int().min(1).optional(),
    min_frequency: z.number().int().min(1).optional(),
    handle_unknown: z.enum(["ignore", "error"]).optional(),
  })
  .strict();

export const preprocessSection = z
  .object({
    numeric: numericPreprocess.optional(),
    categorical: categoricalPreprocess.optional(),
    columns: z
      .record(z.string(), numericPreprocess.extend(categoricalPreprocess.shape).strict())
      .optional()
      .describe("Per-column overrides."),
  })
  .strict()
  .describe(
    "Unset keys take the model family's defaults (trees: ordinal, no scaling; linear: one-hot, standard).",
  );

const samplingStrategy = z.union([
  z.enum(["auto", "not majority", "minority", "not minority", "all", "majority"]),
  z.number().gt(0).max(1),
  z.record(z.string(), z.number().int().min(1)),
  z.array(z.union([z.string(), z.number()])).min(1),
]);

export const imbalanceSection = z
  .object({
    method: z
      .enum(["none", "smote", "tomek", "smote_tomek"])
      .default("none")
      .describe("Resample the training rows of every fit (never validation or test rows)."),
    k_neighbors: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe("SMOTE: same-class neighbours to interpolate towards."),
    sampling_strategy: samplingStrategy
      .default("auto")
      .describe("imbalanced-learn semantics: which classes to grow (SMOTE) or clean (Tomek links)."),
  })
  .strict()
  .describe("Class-imbalance handling by resampling; class weights are a learner parameter (class_weight).");

const modelEntry = z
  .object({
    kind: nonEmpty.describe("Learner kind: gbdt, logreg, ..."),
    name: nonEmpty.optional().describe("Label for this candidate in reports (default: kind)."),
    params: z.record(z.string(), z.unknown()).default({}).describe("Fixed hyper-parameters."),
    grid: z
      .record(z.string(), z.array(z.unknown()).min(1))
      .default({})
      .describe("Hyper-parameters to search: each key lists the values to try."),
    preprocess: preprocessSection.optional(),
    imbalance: imbalanceSection
      .optional()
      .describe("Resampling for this candidate only (same keys as `imbalance`)."),
  })
  .strict();

const searchSection = z
  .object({
    cv_folds: z.number().int().min(2).max(20).default(5),
    metric: z.string().default("accuracy").describe("Metric that ranks candidates (mean over folds)."),
    strategy: z.enum(["grid", "random"]).default("grid"),
    n_iter: z.number().int().min(1).default(10).describe("Candidates drawn by random search."),
    seed: z.number().int().min(0).default(42),
    n_jobs: z
      .number()
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "Candidate × fold fits run at once in worker threads (null: one per core; 1: one after the other).",
      ),
  })
  .strict()
  .prefault({});

const gateSection = z
  .object({
    metric: z.string().default("accuracy").describe("Test-split metric the gate looks at."),
    min: z
      .number()
      .nullable()
      .default(null)
      .describe("The candidate must reach at least this (null: no floor)."),
    max_regression: z
      .number()
      .min(0)
      .default(0.005)
      .describe("... and be no worse than the model behind `compare_alias` by more than this."),
    compare_alias: nonEmpty.nullable().default("production"),
  })
  .strict()
  .prefault({});

const registerSection = z
  .object({
    model: nonEmpty.optional().describe("Registry name (default: the pipeline name)."),
    aliases: z.array(nonEmpty).default(["candidate"]).describe("Aliases set on an accepted version."),
  })
  .strict()
  .prefault({});

export const pipelineSchema = z
  .object({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
        "letters, digits, '.', '_' or '-', starting with a letter or digit",
      )
      .describe("Pipeline name; also the registry model name unless `register.model` is set."),
    description: z.string().optional(),
    data: dataSection,
    split: splitSection,
    schema: schemaSection,
    validation: validationSection,
    preprocess: preprocessSection.optional(),
    imbalance: imbalanceSection.prefault({}),
    models: z.array(modelEntry).min(1).describe("Candidate models; the best on cross-validation wins."),
    search: searchSection,
    gate: gateSection,
    register: registerSection,
  })
  .strict();

export type PipelineConfig = z.output<typeof pipelineSchema>;
export type PipelineConfigInput = z.input<typeof pipelineSchema>;
export type ColumnConfig = z.output<typeof columnObject>;
export type PreprocessConfig = z.output<typeof preprocessSection>;
export type ModelEntryConfig = z.output<typeof modelEntry>;
export type ImbalanceConfig = z.output<typeof imbalanceSection>;
export type DataSourceConfig = z.output<typeof sourceSection>;
