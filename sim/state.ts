/**
 * The simulator's in-memory "outside world": every submission it has seen. Jobs are deliberately
 * not persisted (only the signing key is), because the sim plays the provider, not the product.
 */
import { redactUrl } from "./config.ts";

export type Provider = "fal" | "kling";
/** Provider-neutral status, so tests can assert on one vocabulary. */
export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export type DeliveryKind =
  | "real"
  | "duplicate"
  | "forged-signature"
  | "stale-timestamp"
  | "forged-callback"
  | "dropped";

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
