import type { DuplicateReport } from "./duplicates.js";
import type { DriftReport } from "./stats.js";
import type { ValidationReport } from "./validate.js";

export interface ReportParts {
  title?: string;
  validation?: ValidationReport;
  drift?: DriftReport;
  duplicates?: DuplicateReport;
}

/** Minority share below which class imbalance is called out. */
const IMBALANCE_SHARE = 0.1;
const MAX_INVALID_SHOWN = 10;

const int = new Intl.NumberFormat("en-US");
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The short list at the top of the report: what needs attention, most important first. */
export function findings(parts: ReportParts): string[] {
  const out: string[] = [];
  const { validation: v, duplicates: d, drift } = parts;
  if (v) {
    if (v.nInvalid > 0) {
      const cols = v.columns
        .map((c) => ({ name: c.name, n: c.typeErrors + c.disallowed + c.outOfRange + c.missingNotAllowed }))
        .filter((c) => c.n > 0)
        .sort((a, b) => b.n - a.n)
        .slice(0, 3)
        .map((c) => `\`${c.name}\` ${int.format(c.n)}`);
      const where = [
        ...cols,
        ...(v.rowLevelIssues ? [`wrong field count ${int.format(v.rowLevelIssues)}`] : []),
      ];
      out.push(
        `invalid rows: ${int.format(v.nInvalid)} of ${int.format(v.nRows)} (${pct(v.nInvalid / v.nRows)}) quarantined — ${where.join(", ")}`,
      );
    }
    for (const b of v.missingRateBreaches) {
      out.push(
        `missing values: \`${b.column}\` is ${pct(b.missingRate)} missing, above its limit of ${pct(b.maxMissingRate)}`,
      );
    }
    const cb = v.classBalance;
    if (cb && cb.classes.length >= 2 && cb.minorityShare < IMBALANCE_SHARE) {
      out.push(
        `class imbalance: \`${cb.column}\` = ${cb.minorityClass} is ${pct(cb.minorityShare)} of rows (${int.format(
          cb.classes[cb.classes.length - 1].count,
        )}) — consider class weights or resampling`,
      );
    }
    if (cb && cb.classes.length < 2)
      out.push(`target \`${cb.column}\` has ${cb.classes.length} class(es); a classifier needs two`);
  }
  if (d) {
    if (d.leakage && d.test && d.leakage.testRows > 0) {
      out.push(
        `duplicate leakage: ${int.format(d.leakage.testRows)} of ${int.format(d.test.rows)} test rows (${pct(
          d.leakage.share,
        )}) also occur in train — consider \`split.dedupe: group\``,
      );
    }
    if (d.train.duplicates > 0) {
      out.push(
        `duplicates: ${int.format(d.train.duplicates)} of ${int.format(d.train.rows)} train rows (${pct(
          d.train.duplicates / d.train.rows,
        )}) repeat an earlier row`,
      );
    }
    if (d.conflicts.vectors > 0) {
      out.push(
        `conflicting labels: ${int.format(d.conflicts.vectors)} feature vectors (${int.format(
          d.conflicts.rows,
        )} rows) occur with more than one label`,
      );
    }
  }
  if (drift) {
    const drifted = drift.features.filter((f) => f.drifted);
    if (drifted.length) {
      const names = drifted
        .sort((a, b) => (b.psi ?? 0) - (a.psi ?? 0))
        .slice(0, 5)
        .map((f) => `\`${f.column}\``);
      const judged = drift.features.length - drift.nInsufficient;
      out.push(
        `drift: ${drift.nDrifted} of ${judged} features (${pct(drift.driftedShare)}) drifted — ${names.join(", ")}${
          drifted.length > 5 ? ", …" : ""
        }`,
      );
    }
    if (drift.nInsufficient) {
      out.push(
        `drift: ${drift.nInsufficient} features not judged (fewer than ${drift.thresholds.minRows} rows on a side)`,
      );
    }
  }
  return out;
}

/** The validation, duplicate and drift reports as readable text with aligned tables. */
export function renderReport(parts: ReportParts): string {
  const lines: string[] = [];
  const title = parts.title ?? "netwarden data report";
  lines.push(title, "=".repeat(title.length), "");
  const f = findings(parts);
  lines.push("Findings");
  if (f.length) for (const x of f) lines.push(`  - ${x}`);
  else lines.push("  - no problems found");
  if (parts.validation) lines.push("", ...validationSection(parts.validation));
  if (parts.duplicates) lines.push("", ...duplicateSection(parts.duplicates));
  if (parts.drift) lines.push("", ...driftSection(parts.drift));
  return `${lines.join("\n")}\n`;
}

/** The reports as one JSON-ready object (typed arrays left out). */
export function reportToJson(parts: ReportParts): Record<string, unknown> {
  const out: Record<string, unknown> = { findings: findings(parts) };
  if (parts.title) out.title = parts.title;
  if (parts.validation) {
    const { validRowIndices: _, ...rest } = parts.validation;
    out.validation = rest;
  }
  if (parts.duplicates) out.duplicates = parts.duplicates;
  if (parts.drift) out.drift = parts.drift;
  return out;
}

function validationSection(v: ValidationReport): string[] {
  const out = [
    "Validation",
    `  rows ${int.format(v.nRows)}, valid ${int.format(v.nValid)}, invalid ${int.format(v.nInvalid)}`,
    "",
  ];
  out.push(
    ...table(
      ["column", "role", "type", "missing", "missing %", "limit", "type err", "not allowed", "out of range"],
      v.columns.map((c) => [
        c.name,
        c.role,
        c.type,
        int.format(c.missing),
        pct(c.missingRate),
        c.maxMissingRate === undefined ? "" : `${pct(c.maxMissingRate)}${c.breached ? " !" : ""}`,
        int.format(c.typeErrors),
        int.format(c.disallowed),
        int.format(c.outOfRange),
      ]),
      "lllrrrrrr",
    ).map((l) => `  ${l}`),
  );
  const cb = v.classBalance;
  if (cb) {
    out.push(
      "",
      `  class balance of \`${cb.column}\`${cb.missing ? ` (${int.format(cb.missing)} missing)` : ""}`,
    );
    out.push(
      ...table(
        ["class", "rows", "share"],
        cb.classes.map((c) => [String(c.label), int.format(c.count), pct(c.fraction)]),
        "lrr",
      ).map((l) => `    ${l}`),
    );
  }
  if (v.invalidRows.length) {
    out.push("", `  first invalid rows (${int.format(v.nInvalid)} in all)`);
    for (const r of v.invalidRows.slice(0, MAX_INVALID_SHOWN)) {
      out.push(`    row ${r.row}${r.line === undefined ? "" : ` (line ${r.line})`}: ${r.reasons.join("; ")}`);
    }
  }
  return out;
}

function duplicateSection(d: DuplicateReport): string[] {
  const rows: string[][] = [
    ["train", int.format(d.train.rows), int.format(d.train.distinct), int.format(d.train.duplicates)],
  ];
  if (d.test)
    rows.push(["test", int.format(d.test.rows), int.format(d.test.distinct), int.format(d.test.duplicates)]);
  const out = [
    "Duplicates",
    ...table(["side", "rows", "distinct", "repeats"], rows, "lrrr").map((l) => `  ${l}`),
  ];
  if (d.leakage && d.test) {
    out.push(
      `  test rows whose features also occur in train: ${int.format(d.leakage.testRows)} (${pct(d.leakage.share)})`,
    );
  }
  out.push(
    `  feature vectors with conflicting labels: ${int.format(d.conflicts.vectors)} (${int.format(d.conflicts.rows)} rows)`,
  );
  return out;
}

function driftSection(d: DriftReport): string[] {
  const th = d.thresholds;
  const out = [
    "Drift (train → test)",
    `  drifted when PSI ≥ ${th.psi} or p < ${th.pValue}; no verdict under ${th.minRows} rows a side`,
    "",
  ];
  out.push(
    ...table(
      ["feature", "test", "statistic", "p-value", "PSI", "drifted"],
      d.features.map((f) => [
        f.column,
        f.test === "ks" ? "KS" : `χ² (dof ${f.dof})`,
        f.statistic === null ? "—" : f.statistic.toPrecision(4),
        f.pValue === null ? "—" : f.pValue < 1e-4 ? f.pValue.toExponential(1) : f.pValue.toFixed(4),
        f.psi === null ? "—" : f.psi.toFixed(4),
        f.insufficient ? "too few rows" : f.drifted ? "yes" : "no",
      ]),
      "llrrrl",
    ).map((l) => `  ${l}`),
  );
  return out;
}

/** Aligned text table; `align` has one letter per column: l(eft) or r(ight). */
function table(headers: string[], rows: string[][], align: string): string[] {
  const widths = headers.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const fmtRow = (r: string[]) =>
    r
      .map((cell, j) => (align[j] === "r" ? cell.padStart(widths[j]) : cell.padEnd(widths[j])))
      .join("  ")
      .trimEnd();
  return [fmtRow(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmtRow)];
}
