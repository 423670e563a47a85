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

const dataSection = z
  .object({
    path: nonEmpty.optional().describe("One labelled file, split into train and test by `split`."),
    train: nonEmpty.optional().describe("A given training file (with `test`: use this split as is)."),
    test: nonEmpty.optional().describe("A given test file."),
    format: z.enum(["csv"]).default("csv"),
    delimiter: z.string().length(1).optional().describe("Field separator (default: detected)."),
    header: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  })
  .strict()
  .superRefine((d, ctx) => {
    const single = d.path !== undefined;
    const given = d.train !== undefined || d.test !== undefined;
    if (single && given) {
      ctx.addIssue({
        code: "custom",
        path: ["path"],
        message: "use either `path` or `train` + `test`, not both",
      });
    } else if (!single && !given) {
      ctx.addIssue({
        code: "custom",
        path: ["path"],
        message: "set `path` (one file) or `train` and `test`",
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
  })
  .strict();

const searchSection = z
  .object({
    cv_folds: z.number().int().min(2).max(20).default(5),
    metric: z.string().default("accuracy").describe("Metric that ranks candidates (mean over folds)."),
    strategy: z.enum(["grid", "random"]).default("grid"),
    n_iter: z.number().int().min(1).default(10).describe("Candidates drawn by random search."),
    seed: z.number().int().min(0).default(42),
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
