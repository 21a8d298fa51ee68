/** What a provider or media job ends with, as stored on its row and as its waiting workflow is told. */

/** The outcome stored on the job row; `output` is the provider's or media service's full answer. */
export type JobResult =
  | { status: "succeeded"; outputUrl?: string; output?: unknown; costUsd?: number }
  | { status: "failed"; error: string; retryable?: boolean; costUsd?: number };

/**
 * What a waiting workflow is told (event payload, step result): small, no provider payloads.
 * `retryable: false` marks a refusal (validation, content policy) that a new try would repeat.
 */
export type JobSignal = { status: "succeeded"; outputUrl?: string } | { status: "failed"; error: string; retryable?: boolean };

/**
 * The payload of a `job-<id>` event from an unsigned callback: the provider says the job has an
 * outcome, but what it is must be read from the provider itself (the workflow's `check` step).
 */
export const OUTCOME_REPORTED = { status: "reported" } as const;
export type JobEventPayload = JobSignal | typeof OUTCOME_REPORTED;

/** The one event type a job's waiting workflow listens for. */
export const jobEventType = (jobId: string) => `job-${jobId}`;

export function toSignal(r: JobResult): JobSignal {
  if (r.status === "succeeded") return { status: "succeeded", ...(r.outputUrl ? { outputUrl: r.outputUrl } : {}) };
  return { status: "failed", error: r.error, ...(r.retryable === undefined ? {} : { retryable: r.retryable }) };
}
