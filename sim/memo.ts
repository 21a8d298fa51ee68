/**
 * Synthesis is deterministic (the same request makes the same bytes), so the simulator keeps recent
 * results and makes each distinct output once: a batch of identical looks, or a retried job, costs
 * its CPU once. The simulator stands in for providers whose compute is not ours; on a 2-core
 * machine its synthesis would otherwise compete with the system it is testing.
 */
import crypto from "node:crypto";

export const memoKey = (...parts: (string | number | Uint8Array | undefined)[]): string => {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p === undefined ? "" : typeof p === "number" ? String(p) : p).update("\0");
  return h.digest("hex");
};

/** Least recently used results up to a byte budget; concurrent calls for one key share one run. */
export class Memo<T> {
  private entries = new Map<string, { value: Promise<T>; bytes: number }>();
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (value: T) => number,
    private readonly onEvict: (value: T) => void = () => {},
  ) {}

  get(key: string, make: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry = { value: make(), bytes: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (v) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = this.sizeOf(v);
        this.total += entry.bytes;
        this.trim();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  private trim() {
    for (const [key, e] of this.entries) {
      if (this.total <= this.maxBytes) break;
      if (e.bytes === 0) continue; // still being made
      this.entries.delete(key);
      this.total -= e.bytes;
      void e.value.then(this.onEvict);
    }
  }
}
