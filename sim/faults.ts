/**
 * Fault injection: latency, error rates, rate limiting and webhook mischief, set per run (the
 * SIM_FAULTS environment variable at start) or at runtime through POST /__sim/faults. Every draw
 * comes from one seeded PRNG so a run is reproducible.
 */
import { z } from "zod";
import { mulberry32 } from "../common/prng.ts";
import { DRIFT_KINDS, DriftSchema, defaultDrift } from "./drift.ts";

const rate = z.number().min(0).max(1);

/** Refuse (as a content-policy violation) the next `times` jobs whose input contains `match`. */
export const RefusalSchema = z.object({ match: z.string().min(1).max(2000), times: z.number().int().min(1).max(1000).default(1) });

export const FaultsSchema = z.object({
  imageDelayMs: z.number().min(0).max(600_000),
  clipDelayMs: z.number().min(0).max(3_600_000),
  /** A clip is held until at least this long after it started (like imageDelayMs), whatever its synthesis took. */
  clipMinMs: z.number().min(0).max(3_600_000),
  /** Extra processing time per job, drawn uniformly from [min, max] ms. */
  latencyMs: z.object({ min: z.number().min(0).max(600_000), max: z.number().min(0).max(600_000) }),
  /** Probability that a submission is refused (FAL 503, Kling 500, Anthropic 529). */
  submitErrorRate: rate,
  /** Probability that a submission is answered 429 with Retry-After. */
  rateLimitRate: rate,
  /** The next N FAL or Kling submissions are answered 429 with Retry-After (a burst). */
  rateLimitBurst: z.number().int().min(0).max(10_000),
  retryAfterSeconds: z.number().int().min(0).max(3600),
  /** FAL submissions are accepted at once but answered only this much later (a caller may die meanwhile). */
  holdSubmitResponseMs: z.number().min(0).max(600_000),
  /** Accepted FAL jobs wait in the queue (before fetching their inputs) until this is set false again. */
  holdJobs: z.boolean(),
  /** The next N FAL submissions are accepted but their answer is lost (the connection drops). */
  loseSubmitResponses: z.number().int().min(0).max(10_000),
  /** Probability that an accepted job ends refused as a content-policy violation. */
  jobErrorRate: rate,
  /** Targeted content-policy refusals (by a substring of the job's input). */
  refusals: z.array(RefusalSchema).max(100),
  /** Deliver every webhook/callback twice / none at all / with forgeries first. */
  duplicateWebhooks: z.boolean(),
  dropWebhooks: z.boolean(),
  forgeWebhooks: z.boolean(),
  /** Per delivery: drop it, send it twice, hold it back `webhookDelayMs`, or let later ones overtake it. */
  webhookDropRate: rate,
  webhookDuplicateRate: rate,
  webhookDelayRate: rate,
  webhookDelayMs: z.number().min(0).max(3_600_000),
  webhookReorderRate: rate,
  /** Anthropic planner calls: answer each with a refusal, a plan that fails the schema, or after `slowMs`. */
  plannerFault: z.enum(["none", "refusal", "invalid", "slow"]),
  /** Anthropic judge calls (tool `submit_review`, sim/judge.ts): a refusal, a review that fails the schema, or after `slowMs`. */
  judgeFault: z.enum(["none", "refusal", "malformed", "slow"]),
  slowMs: z.number().min(0).max(600_000),
  /** Outputs altered the way generators drift (sim/drift.ts): `{ rate, kinds?, seed? }`. */
  drift: DriftSchema.extend({ kinds: DriftSchema.shape.kinds.default([...DRIFT_KINDS]), seed: z.number().int().default(1) }),
  seed: z.number().int(),
});
export type Faults = z.infer<typeof FaultsSchema>;
export const FaultsPatchSchema = FaultsSchema.partial().strict();

export type SubmitFault = { kind: "rate-limit"; retryAfterSeconds: number } | { kind: "error" } | null;
export type WebhookFate = { drop: boolean; duplicate: boolean; delayMs: number; reorder: boolean };

/** What happened, for the chaos run's summary. */
export interface FaultCounts {
  rateLimited: number;
  submitErrors: number;
  lostSubmitResponses: number;
  refused: number;
  webhooksDropped: number;
  webhooksDuplicated: number;
  webhooksDelayed: number;
  webhooksReordered: number;
}

export class FaultInjector {
  private current: Faults;
  private random: () => number;
  counts: FaultCounts = emptyCounts();

  constructor(private readonly defaults: Faults) {
    this.current = structuredClone(defaults);
    this.random = mulberry32(defaults.seed);
  }

  get(): Faults {
    return structuredClone(this.current);
  }

  /** Merges a partial patch; throws a ZodError for unknown or out-of-range fields. */
  merge(patch: unknown): Faults {
    const parsed = FaultsPatchSchema.parse(patch);
    this.current = { ...this.current, ...parsed };
    if (parsed.seed !== undefined) this.random = mulberry32(parsed.seed);
    return this.get();
  }

  reset(): void {
    this.current = structuredClone(this.defaults);
    this.random = mulberry32(this.defaults.seed);
    this.counts = emptyCounts();
  }

  private chance(p: number): boolean {
    return p > 0 && this.random() < p;
  }

  /** Decides how a submission is refused, if at all: a burst first, then the rates. */
  submitFault(): SubmitFault {
    const f = this.current;
    if (f.rateLimitBurst > 0 || this.chance(f.rateLimitRate)) {
      if (f.rateLimitBurst > 0) f.rateLimitBurst--;
      this.counts.rateLimited++;
      return { kind: "rate-limit", retryAfterSeconds: f.retryAfterSeconds };
    }
    if (this.chance(f.submitErrorRate)) {
      this.counts.submitErrors++;
      return { kind: "error" };
    }
    return null;
  }

  /** Anthropic (yes/no): the rates apply, a burst is for the media providers (FAL, Kling) only. */
  failSubmit(): boolean {
    if (this.chance(this.current.rateLimitRate)) {
      this.counts.rateLimited++;
      return true;
    }
    if (this.chance(this.current.submitErrorRate)) {
      this.counts.submitErrors++;
      return true;
    }
    return false;
  }

  loseSubmitResponse(): boolean {
    if (this.current.loseSubmitResponses <= 0) return false;
    this.current.loseSubmitResponses--;
    this.counts.lostSubmitResponses++;
    return true;
  }

  /** Whether this job is refused as a content-policy violation (targeted first, then the rate). */
  failJob(input?: unknown): boolean {
    const text = input === undefined ? "" : JSON.stringify(input);
    const hit = this.current.refusals.find((r) => r.times > 0 && text.includes(r.match));
    if (hit) {
      hit.times--;
      this.counts.refused++;
      return true;
    }
    if (this.chance(this.current.jobErrorRate)) {
      this.counts.refused++;
      return true;
    }
    return false;
  }

  latencyMs(): number {
    const { min, max } = this.current.latencyMs;
    return max > min ? min + this.random() * (max - min) : min;
  }

  webhookFate(): WebhookFate {
    const f = this.current;
    const fate: WebhookFate = {
      drop: f.dropWebhooks || this.chance(f.webhookDropRate),
      duplicate: f.duplicateWebhooks || this.chance(f.webhookDuplicateRate),
      delayMs: this.chance(f.webhookDelayRate) ? f.webhookDelayMs : 0,
      reorder: this.chance(f.webhookReorderRate),
    };
    if (fate.drop) this.counts.webhooksDropped++;
    else {
      if (fate.duplicate) this.counts.webhooksDuplicated++;
      if (fate.delayMs) this.counts.webhooksDelayed++;
      if (fate.reorder) this.counts.webhooksReordered++;
    }
    return fate;
  }
}

function emptyCounts(): FaultCounts {
  return {
    rateLimited: 0,
    submitErrors: 0,
    lostSubmitResponses: 0,
    refused: 0,
    webhooksDropped: 0,
    webhooksDuplicated: 0,
    webhooksDelayed: 0,
    webhooksReordered: 0,
  };
}

export function defaultFaults(opts: { imageDelayMs: number; clipDelayMs: number; clipMinMs?: number }): Faults {
  return {
    imageDelayMs: opts.imageDelayMs,
    clipDelayMs: opts.clipDelayMs,
    clipMinMs: opts.clipMinMs ?? 0,
    latencyMs: { min: 0, max: 0 },
    submitErrorRate: 0,
    rateLimitRate: 0,
    rateLimitBurst: 0,
    retryAfterSeconds: 2,
    holdSubmitResponseMs: 0,
    holdJobs: false,
    loseSubmitResponses: 0,
    jobErrorRate: 0,
    refusals: [],
    duplicateWebhooks: false,
    dropWebhooks: false,
    forgeWebhooks: false,
    webhookDropRate: 0,
    webhookDuplicateRate: 0,
    webhookDelayRate: 0,
    webhookDelayMs: 0,
    webhookReorderRate: 0,
    plannerFault: "none",
    judgeFault: "none",
    slowMs: 30_000,
    drift: defaultDrift(),
    seed: 1,
  };
}
