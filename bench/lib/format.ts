/** Number formatting and plain-text tables for the console output. */

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Fixed digits, or "n/a" for a figure that was not measured. */
export function fmt(n: number | null, digits: number): string {
  return n === null || Number.isNaN(n) ? "n/a" : n.toFixed(digits);
}

/** Fixed digits with an explicit sign (a real minus sign for negatives). */
export function signed(n: number, digits: number): string {
  return `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(digits)}`;
}

/** Columns padded to their widest cell: the first `alignLeft` columns left-aligned, the rest right-aligned. */
export function table(rows: string[][], alignLeft: number): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? "").length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, col) => (col < alignLeft ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
