/**
 * The one way the workflow waits for an external job, provider or media. It waits for the job's
 * own event type (`job-<id>`); each wait that times out runs one recovery step (a provider is
 * polled, a media job is dispatched again), which may find the outcome. When the waits are spent
 * the job ends as failed with a reason, never by throwing: the caller's stage opens its checkpoint
 * showing why and keeping what succeeded, and a revise tries that item again.
 */
import { jobEventType, type JobEventPayload, type JobSignal } from "../domain/jobs.ts";
import { IO_STEP, isTimeout, type Duration, type RunContext } from "./context.ts";

export interface JobWait {
  jobId: string;
  /** Step name base (`hero#1`, `crop#2`). */
  name: string;
  timeout: Duration;
  maxWaits: number;
  /** What is waited on, for the reason given when the waits are spent ("the media service"). */
  source: string;
  /** The recovery step's verb, in its name (`poll hero#1#3`, `redispatch crop#1#2`). */
  recovery: string;
  /** The recovery step's body: the outcome if it is known now, else null. `last`: no wait follows it. */
  recover: (last: boolean) => Promise<JobSignal | null>;
  /**
   * An event that only says the job has an outcome (an unsigned callback): the body of a step that
   * reads it from the source. Null when it is not final yet (an early or forged callback).
   */
  check?: () => Promise<JobSignal | null>;
  /** A step body run once when the waits are spent (e.g. marking the job row failed). */
  giveUp?: (reason: string) => Promise<void>;
}

export interface JobWaitResult {
  signal: JobSignal;
  /** When the step that took up a reported outcome started (the resume-delay measure). */
  resumedAt?: string;
}

export async function awaitJob(ctx: RunContext, w: JobWait): Promise<JobWaitResult> {
  const { step } = ctx;
  for (let wait = 1; ; wait++) {
    try {
      const event = await step.waitForEvent(`await ${w.name}#${wait}`, { type: jobEventType(w.jobId), timeout: w.timeout });
      const payload = event.payload as JobEventPayload;
      if (payload.status !== "reported") return { signal: payload };
      if (!w.check) continue;
      const check = w.check;
      const checked = await step.do(`check ${w.name}#${wait}`, IO_STEP, async () => ({ startedAt: new Date().toISOString(), signal: await check() }));
      if (checked.signal) return { signal: checked.signal, resumedAt: checked.startedAt };
    } catch (err) {
      if (!isTimeout(err)) throw err;
      const last = wait >= w.maxWaits;
      const found = await step.do(`${w.recovery} ${w.name}#${wait}`, IO_STEP, () => w.recover(last));
      if (found) return { signal: found };
      if (last) {
        const reason = `${w.name}: ${w.source} gave no result after ${wait} waits of ${w.timeout}`;
        const giveUp = w.giveUp;
        if (giveUp) await step.do(`give up ${w.name}`, IO_STEP, () => giveUp(reason));
        return { signal: { status: "failed", error: reason, retryable: true } };
      }
    }
  }
}
