/**
 * Fault injection: latency, error rates and webhook mischief, switchable at runtime through
 * POST /__sim/faults. Error rates draw from a seeded PRNG so a test run is reproducible.
 */
import { z } from "zod";

export const FaultsSchema = z.object({
  imageDelayMs: z.number().min(0).max(600_000),
  clipDelayMs: z.number().min(0).max(3_600_000),
  /** Probability that a submission is refused (FAL 503, Kling 500, Anthropic 529). */
  submitErrorRate: z.number().min(0).max(1),
  /** Probability that an accepted job ends failed. */
  jobErrorRate: z.number().min(0).max(1),
  /** Deliver every webhook/callback twice. */
  duplicateWebhooks: z.boolean(),
  /** Deliver no webhooks/callbacks at all (receivers must fall back to polling). */
  dropWebhooks: z.boolean(),
  /** Before each real webhook, also send forgeries the receiver must reject. */
  forgeWebhooks: z.boolean(),
  seed: z.number().int(),
});
export type Faults = z.infer<typeof FaultsSchema>;
export const FaultsPatchSchema = FaultsSchema.partial().strict();

/** mulberry32: tiny, fast, good enough for "fail 30% of jobs" (and for test fixtures). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private current: Faults;
  private random: () => number;

  constructor(private readonly defaults: Faults) {
    this.current = { ...defaults };
    this.random = mulberry32(defaults.seed);
  }

  get(): Faults {
    return { ...this.current };
  }

  /** Merges a partial patch; throws a ZodError for unknown or out-of-range fields. */
  merge(patch: unknown): Faults {
    const parsed = FaultsPatchSchema.parse(patch);
    this.current = { ...this.current, ...parsed };
    if (parsed.seed !== undefined) this.random = mulberry32(parsed.seed);
    return this.get();
  }

  reset(): void {
    this.current = { ...this.defaults };
    this.random = mulberry32(this.defaults.seed);
  }

  failSubmit(): boolean {
    return this.current.submitErrorRate > 0 && this.random() < this.current.submitErrorRate;
  }

  failJob(): boolean {
    return this.current.jobErrorRate > 0 && this.random() < this.current.jobErrorRate;
  }
}

export function defaultFaults(opts: { imageDelayMs: number; clipDelayMs: number }): Faults {
  return {
    imageDelayMs: opts.imageDelayMs,
    clipDelayMs: opts.clipDelayMs,
    submitErrorRate: 0,
    jobErrorRate: 0,
    duplicateWebhooks: false,
    dropWebhooks: false,
    forgeWebhooks: false,
    seed: 1,
  };
}
