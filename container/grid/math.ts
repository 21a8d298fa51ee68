/** Small statistics shared by every stage. */

export function median(values: ArrayLike<number>): number {
  const a = Array.from(values).sort((x, y) => x - y);
  if (a.length === 0) return 0;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

export function quantile(values: number[], q: number): number {
  const a = values.slice().sort((x, y) => x - y);
  return a.length ? a[Math.min(a.length - 1, Math.floor(q * a.length))]! : 0;
}

export function clamp01(x: number): number {
  return Math.min(Math.max(x, 0), 1);
}
