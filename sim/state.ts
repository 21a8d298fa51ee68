/**
 * The simulator's in-memory "outside world": every submission it has seen. Jobs are deliberately
 * not persisted (only the signing key is), because the sim plays the provider, not the product.
 */
import { redactUrl } from "./config.ts";

export type Provider = "fal" | "kling";
/** Provider-neutral status, so tests can assert on one vocabulary. */
export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export type DeliveryKind = "real" | "duplicate" | "forged-signature" | "stale-timestamp" | "forged-callback" | "dropped";

export interface DeliveryAttempt {
  kind: DeliveryKind;
  /** For Kling: which status change this callback announced. */
  event?: string;
  attempt: number;
  at: string;
  status?: number;
  error?: string;
  ok: boolean;
}

export interface SimJob {
  provider: Provider;
  model: string;
  id: string;
  externalId?: string;
  status: JobStatus;
  /** The status in the provider's own words (IN_QUEUE, processing, succeed, …). */
  providerStatus: string;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
  input: unknown;
  output?: unknown;
  error?: { message: string; detail?: unknown; statusCode?: number };
  webhookUrl?: string;
  /** Successful (2xx) deliveries of real or duplicate webhooks/callbacks. */
  webhookDeliveries: number;
  webhookLog: DeliveryAttempt[];
  /** FAL: owner/alias used in status/result URLs. */
  endpoint?: string;
  gatewayRequestId?: string;
}

export class JobStore {
  private jobs = new Map<string, SimJob>();

  add(job: SimJob): SimJob {
    this.jobs.set(job.id, job);
    return job;
  }

  get(id: string): SimJob | undefined {
    return this.jobs.get(id);
  }

  findByExternalId(provider: Provider, externalId: string): SimJob | undefined {
    for (const job of this.jobs.values()) {
      if (job.provider === provider && job.externalId === externalId) return job;
    }
    return undefined;
  }

  list(): SimJob[] {
    return [...this.jobs.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  clear(): void {
    this.jobs.clear();
  }

  /**
   * Jobs in flight per provider and model, now and at the peak: a job counts from its submission
   * until its result is ready (or it failed). What a provider's own rate limiter would see.
   */
  concurrency(now = Date.now()): Record<string, { now: number; peak: number; jobs: number }> {
    const out: Record<string, { now: number; peak: number; jobs: number }> = {};
    const edges = new Map<string, [number, number][]>();
    for (const j of this.jobs.values()) {
      const key = `${j.provider}:${j.model}`;
      const list = edges.get(key) ?? [];
      // Ends sort before starts at the same instant: a slot handed straight on is not an overlap.
      list.push([j.createdAt, 1], [j.completedAt ?? Number.POSITIVE_INFINITY, -1]);
      edges.set(key, list);
      out[key] ??= { now: 0, peak: 0, jobs: 0 };
      out[key].jobs++;
      if (j.completedAt === undefined || j.completedAt > now) out[key].now++;
    }
    for (const [key, list] of edges) {
      list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let cur = 0;
      for (const [, d] of list) {
        cur += d;
        out[key].peak = Math.max(out[key].peak, cur);
      }
    }
    return out;
  }
}

const iso = (ms?: number) => (ms === undefined ? null : new Date(ms).toISOString());

/** The shape served by GET /__sim/jobs (no inputs, no callback secrets). */
export function publicJob(job: SimJob) {
  return {
    provider: job.provider,
    model: job.model,
    id: job.id,
    externalId: job.externalId,
    status: job.status,
    providerStatus: job.providerStatus,
    createdAt: iso(job.createdAt),
    startedAt: iso(job.startedAt),
    completedAt: iso(job.completedAt),
    error: job.error?.message,
    webhookUrl: job.webhookUrl ? redactUrl(job.webhookUrl) : undefined,
    webhookDeliveries: job.webhookDeliveries,
    webhookAttempts: job.webhookLog,
  };
}
