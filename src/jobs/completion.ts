/**
 * The one way a job is finished, whoever learns the outcome: the FAL webhook, the Kling callback,
 * the workflow's poll fallback, the watchdog and the media queue consumer. It records the outcome
 * on the job row once, logs `job.completed` or `job.failed` on the shoot's timeline, and wakes the
 * workflow waiting for the job's own event. A duplicate or late outcome changes nothing. The row
 * and the event are one transaction, so a retry after a crash never leaves a finished job off the
 * timeline.
 */
import { db } from "../db/client.ts";
import { finishJob, toSignal, type JobEventPayload, type JobResult, type JobRow } from "../db/jobs.ts";
import { priceOf } from "../lib/prices.ts";
import { pollProviderJob } from "../providers/jobs.ts";
import { jobEventType } from "../domain/jobs.ts";

/** Who learnt the outcome; the timeline shows it. */
export type CompletedBy = "webhook" | "callback" | "poll" | "watchdog" | "media" | "dead-letter" | "timeout";

export interface CompleteOptions {
  /**
   * Send the workflow its `job-<id>` event (default). The poll fallback runs inside the workflow,
   * which takes the outcome from its own step result, so it has no one to wake.
   */
  notify?: boolean;
  /** When the outcome reached the Worker (a webhook's arrival, before it is verified), for the resume-delay log. */
  receivedAt?: number;
}

/** Returns whether this call finished the job (false when it was already finished). */
export async function completeJob(env: Env, job: JobRow, result: JobResult, by: CompletedBy, opts: CompleteOptions = {}): Promise<boolean> {
  const d = db(env.DB);
  // The instance handle is looked up while the row is written (it has no side effects), so waking
  // the workflow after the write costs one call, not two (bench:batch: the resume delay's largest part).
  const instance = opts.notify !== false ? waitingInstance(env, job).catch(() => null) : null;
  const cost = priceOf(env, job.type === "media" ? "media" : job.model);
  const finished = await finishJob(d, job.id, result, cost, {
    shootId: job.shootId,
    accountId: job.accountId,
    type: result.status === "succeeded" ? "job.completed" : "job.failed",
    data: { job: job.id, provider: job.provider, stage: job.stage, by, ...(result.status === "failed" ? { error: result.error } : {}) },
  });
  if (!finished) return false;
  if (instance) await notifyWorkflow(env, job, toSignal(result), (await instance) ?? undefined, opts.receivedAt);
  return true;
}

/**
 * Asks the provider about a submitted job and completes it when the provider has an outcome.
 * Returns the outcome, or null while the provider is still working on it.
 */
export async function pollAndComplete(env: Env, job: JobRow, by: "poll" | "callback" | "watchdog", opts: CompleteOptions = {}): Promise<JobResult | null> {
  if (!job.externalId || !job.model) return null;
  const result = await pollProviderJob(env, job.provider, job.model, job.externalId);
  if (result) await completeJob(env, job, result, by, opts);
  return result;
}

/** The workflow instance that waits for a job: a pack's own (its id is the job's), else the shoot's. */
function waitingInstance(env: Env, job: Pick<JobRow, "id" | "shootId" | "model">): Promise<WorkflowInstance> {
  return job.model === "pack" ? env.DELIVER.get(job.id) : env.SHOOT.get(job.shootId);
}

/** Wakes the waiting workflow; a shoot that has ended meanwhile simply has no one waiting. */
export async function notifyWorkflow(
  env: Env,
  job: Pick<JobRow, "id" | "shootId" | "model">,
  payload: JobEventPayload,
  found?: WorkflowInstance,
  receivedAt?: number,
): Promise<void> {
  const started = Date.now();
  try {
    const instance = found ?? (await waitingInstance(env, job));
    await instance.sendEvent({ type: jobEventType(job.id), payload });
    // When the outcome arrived, when the event was handed over and how long that took: the resume
    // path's parts (bench:batch measures from the arrival and splits on the rest).
    const received = receivedAt ? new Date(receivedAt).toISOString() : undefined;
    console.log(JSON.stringify({ msg: "workflow notified", job: job.id, received, at: new Date().toISOString(), sendMs: Date.now() - started }));
  } catch (err) {
    console.warn(JSON.stringify({ msg: "workflow not notified", shoot: job.shootId, job: job.id, error: String(err) }));
  }
}
