export {
  type CsvChunk,
  type CsvReadResult,
  closestName,
  csvCell,
  parseNumber,
  parseNumberBytes,
  type ReadCsvChunksOptions,
  type ReadCsvOptions,
  type RowIssue,
  readCsv,
  readCsvChunks,
} from "./csv.js";
export { type DuplicateCounts, type DuplicateReport, duplicateReport } from "./duplicates.js";
export { fingerprintTable } from "./fingerprint.js";
export {
  type ColumnFacts,
  describeFacts,
  type InferOptions,
  type InferredSchema,
  inferSchema,
  inferSchemaFromTable,
  schemaToYaml,
} from "./infer.js";
export { rowKeys, rowKeysAcross } from "./keys.js";
export { findings, type ReportParts, renderReport, reportToJson } from "./report.js";
export {
  type ColumnKind,
  type ColumnRole,
  type ColumnSpec,
  type DataSchema,
  DEFAULT_MISSING_TOKENS,
  featureSpecs,
  targetSpec,
} from "./schema.js";
export { groupStratifiedSplit, type Split, stratifiedSplit } from "./split.js";
export {
  type Chi2Result,
  chi2Categorical,
  chi2FromCounts,
  chi2Sf,
  DEFAULT_DRIFT_THRESHOLDS,
  type DriftReport,
  type DriftThresholds,
  driftReport,
  type FeatureDrift,
  gammaQ,
  type KsResult,
  kolmogorovSf,
  ksTwoSample,
  lnGamma,
  PSI_EPSILON,
  type PsiBin,
  type PsiOptions,
  type PsiResult,
  psiCategorical,
  psiFromCounts,
  psiNumeric,
} from "./stats.js";
export {
  type CategoricalColumn,
  type Column,
  categoricalColumn,
  cellValue,
  columnLength,
  concatTables,
  MISSING_CODE,
  type NumericColumn,
  numericColumn,
  Table,
} from "./table.js";
export {
  balanceOf,
  type ClassBalance,
  type ClassCount,
  type ColumnQuality,
  type InvalidRow,
  quarantineLines,
  type ValidateOptions,
  type ValidationReport,
  validateTable,
} from "./validate.js";
