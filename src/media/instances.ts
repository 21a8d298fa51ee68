/**
 * Which media service instance runs a job (issue 21): rendezvous (highest-random-weight) hashing of
 * the job id over the instances. Every job has a stable order: its first choice, then where it goes
 * when that instance cannot be reached (a later delivery of its message starts one further along:
 * src/media/dispatch.ts). Growing or shrinking the pool moves
 * only the jobs whose first choice changed (about 1/n of them), unlike `hash % n`.
 */

/** A 32-bit FNV-1a hash with a final avalanche (murmur3's fmix32): pure and the same in Node and workerd. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The instance indexes 0..count-1 in the order a job tries them: its first choice first. */
export function instanceOrder(jobId: string, count: number): number[] {
  const n = Math.max(1, Math.floor(count));
  return Array.from({ length: n }, (_, i) => ({ i, score: hash32(`${jobId}#${i}`) }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map((x) => x.i);
}

/** Where media jobs go: the local services' URLs (comma-separated) in development, else this many container instances. */
export type MediaTargets = { kind: "urls"; urls: string[] } | { kind: "containers"; count: number };

/**
 * Reads MEDIA_SERVICE_URL (a comma-separated list; empty: containers) and MEDIA_INSTANCES (the
 * container pool's size; anything unusable counts as 1).
 */
export function mediaTargets(serviceUrls: string | undefined, instances: string | undefined): MediaTargets {
  const urls = (serviceUrls ?? "")
    .split(",")
    .map((u) => u.trim().replace(/\/$/, ""))
    .filter(Boolean);
  if (urls.length) return { kind: "urls", urls };
  const count = Number(instances);
  return { kind: "containers", count: Number.isInteger(count) && count >= 1 ? count : 1 };
}

/** The container instance name for an index: `media-0`, `media-1`, … */
export function containerName(index: number): string {
  return `media-${index}`;
}
