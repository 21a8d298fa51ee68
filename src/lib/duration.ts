/** Milliseconds in a Workflows-style duration ("30 seconds", "7 days"); `fallback` when it does not parse. */
export function durationMs(duration: string, fallback = 7 * 86_400_000): number {
  const m = /^(\d+) (second|minute|hour|day)s?$/.exec(duration);
  if (!m) return fallback;
  const unit = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }[m[2] as "second"];
  return Number(m[1]) * unit;
}
