/** Plain-text table with aligned columns; numbers right-aligned. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const looksNumeric = (c: string | number | undefined) =>
    typeof c === "number" || (typeof c === "string" && /^-?\d[\d,]*(\.\d+)?( %)?$/.test(c));
  const numeric = header.map((_, j) => rows.length > 0 && rows.every((r) => looksNumeric(r[j])));
  const widths = header.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, j) => (numeric[j] ? String(c).padStart(widths[j]) : String(c).padEnd(widths[j])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Numbers for humans: integers as is, fractions to 4 decimals (use `dec` for metrics). */
export function fmt(x: number): string {
  if (Number.isInteger(x)) return String(x);
  if (!Number.isFinite(x)) return String(x);
  return x.toFixed(4);
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

/** "2026-11-21T20:08:40.123Z" → "2026-11-21 20:08:40" */
export function when(iso: string | undefined): string {
  return iso
    ? iso
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
        .replace("Z", "")
    : "";
}

/** A metric to 4 decimals, whatever its value (1 → "1.0000"). */
export function dec(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}
