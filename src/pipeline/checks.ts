import type { PipelineConfig } from "../config/index.js";
import type { ChecksInput } from "./ingest.js";

export interface CheckResult {
  /** The config key under `validation:` that governs it. */
  check: "invalid_rows" | "missing_rate" | "drifted_features" | "duplicate_leakage" | "minority_class";
  level: "warn" | "fail";
  message: string;
  value: number;
  limit: number;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const int = (n: number) => n.toLocaleString("en-US");

/**
 * Applies the configured warn/fail thresholds to the validation, drift and duplicate reports.
 * A value above `fail` (below, for the minority class share) stops the run; above `warn` is reported.
 */
export function applyThresholds(config: PipelineConfig, input: ChecksInput): CheckResult[] {
  const v = config.validation;
  const out: CheckResult[] = [];
  const above = (
    check: CheckResult["check"],
    value: number,
    th: { warn: number | null; fail: number | null },
    message: string,
  ) => {
    if (th.fail !== null && value > th.fail)
      out.push({ check, level: "fail", message, value, limit: th.fail });
    else if (th.warn !== null && value > th.warn)
      out.push({ check, level: "warn", message, value, limit: th.warn });
  };

  for (const { source, report } of input.validations) {
    if (report.nRows === 0) continue;
    const share = report.nInvalid / report.nRows;
    const first = report.invalidRows[0];
    const example = first
      ? ` — first: ${first.line !== undefined ? `line ${first.line}` : `row ${first.row + 1}`}: ${first.reasons[0]}`
      : "";
    above(
      "invalid_rows",
      share,
      v.invalid_rows,
      `${source}: ${int(report.nInvalid)} of ${int(report.nRows)} rows (${pct(share)}) are invalid and quarantined${example}`,
    );
    for (const c of report.columns) {
      if (c.role !== "feature") continue;
      above(
        "missing_rate",
        c.missingRate,
        v.missing_rate,
        `${source}: column \`${c.name}\` is ${pct(c.missingRate)} missing`,
      );
    }
    for (const b of report.missingRateBreaches) {
      out.push({
        check: "missing_rate",
        level: "fail",
        message: `${source}: column \`${b.column}\` is ${pct(b.missingRate)} missing, above its max_missing_rate ${pct(b.maxMissingRate)}`,
        value: b.missingRate,
        limit: b.maxMissingRate,
      });
    }
    const cb = report.classBalance;
    if (cb && cb.classes.length >= 2) {
      const share = cb.minorityShare;
      const msg = `${source}: the smallest class \`${cb.minorityClass}\` is ${pct(share)} of rows`;
      const th = v.minority_class;
      if (th.fail !== null && share < th.fail) {
        out.push({ check: "minority_class", level: "fail", message: msg, value: share, limit: th.fail });
      } else if (th.warn !== null && share < th.warn) {
        out.push({ check: "minority_class", level: "warn", message: msg, value: share, limit: th.warn });
      }
    }
  }

  const drift = input.drift;
  if (drift.features.length) {
    const names = drift.features
      .filter((f) => f.drifted)
      .slice(0, 5)
      .map((f) => `\`${f.column}\` (PSI ${f.psi === null ? "n/a" : f.psi.toFixed(3)})`);
    above(
      "drifted_features",
      drift.driftedShare,
      v.drifted_features,
      `${drift.nDrifted} of ${drift.features.length} features drift between train and test${names.length ? `: ${names.join(", ")}${drift.nDrifted > 5 ? ", ..." : ""}` : ""}`,
    );
  }

  const leak = input.duplicates.leakage;
  if (leak) {
    above(
      "duplicate_leakage",
      leak.share,
      v.duplicate_leakage,
      `duplicate leakage: ${int(leak.testRows)} of ${int(input.duplicates.test?.rows ?? 0)} test rows (${pct(leak.share)}) also occur in train, so the test score partly measures memory — consider \`split.dedupe: group\``,
    );
  }
  return out;
}
