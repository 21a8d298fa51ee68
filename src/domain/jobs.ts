/** The outcome stored on a job row (D1 `jobs.result`); `output` is the provider's or media service's full answer. */
export type JobResult =
  | { status: "succeeded"; outputUrl?: string; output?: unknown; costUsd?: number }
  | { status: "failed"; error: string; retryable?: boolean; costUsd?: number };
