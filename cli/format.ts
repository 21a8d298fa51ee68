/** Plain-text output: aligned tables and money, for a terminal or a log. */

/** Rows padded to their column widths (the last column is not padded); the first row is the header. */
export function table(rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c == null || c === "" ? "-" : String(c))));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0))) ?? [];
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

/** `$1.23`; amounts under a dollar keep four decimals, as the API prices them. */
export const usd = (n: number) => `$${n.toFixed(Math.abs(n) < 1 && n !== 0 ? 4 : 2)}`;

export const truncate = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** Counts as `completed 2 · running 1`, largest first. */
export const countsLine = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([state, n]) => `${state} ${n}`)
    .join(" · ");
