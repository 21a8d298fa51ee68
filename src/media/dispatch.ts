/**
 * Media queue consumer: turns a job row into a request to the media service (with signed URLs for
 * its inputs and outputs), records the outcome once, and tells the workflow with the job's own event
 * type. Each job goes to its own instance of the pool (./instances.ts). A fault on the way (every
 * instance down or restarting) retries the message; a job that is already finished, on the row or
 * as an answer an instance left in R2, is only announced, never re-run.
 */
import { getContainer } from "@cloudflare/containers";
import { db } from "../db/client.ts";
import { getJob, noteDispatchError, toSignal, type JobResult } from "../db/jobs.ts";
import type { MediaJobAnswer, MediaJobBody, MediaJobMessage, MediaJobRequest } from "../domain/media-jobs.ts";
import { completeJob, notifyWorkflow } from "../jobs/completion.ts";
import { jobAnswerKey } from "../storage/job-answers.ts";
import { blobUrl } from "../storage/urls.ts";
import { containerName, instanceOrder, mediaTargets } from "./instances.ts";

const URL_TTL_SECONDS = 3600;

export async function handleMediaBatch(batch: MessageBatch<MediaJobMessage>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    try {
      await runJob(env, msg.body.jobId, msg.attempts);
      msg.ack();
    } catch (err) {
      console.error(JSON.stringify({ msg: "media job dispatch failed", job: msg.body.jobId, attempt: msg.attempts, error: String(err) }));
      // Kept on the row, so the dead-letter consumer can say why the job never ran.
      await noteDispatchError(db(env.DB), msg.body.jobId, String(err)).catch(() => undefined);
      msg.retry({ delaySeconds: Math.min(2 ** msg.attempts, 30) });
    }
  }
}

/**
 * The media jobs' dead-letter queue: a job whose message failed every delivery fails with the
 * reason, and its workflow is told, so the stage's checkpoint shows it and a revise tries again.
 */
export async function handleDeadMediaJobs(batch: MessageBatch<MediaJobMessage>, env: Env): Promise<void> {
  const d = db(env.DB);
  for (const msg of batch.messages) {
    const job = await getJob(d, msg.body.jobId);
    if (job && job.type === "media" && !job.result) {
      // An instance may have finished it while every reply was lost: its answer still counts.
      const stored = await storedAnswer(env, jobAnswerKey(job.accountId, job.shootId, job.id), job.id);
      const error = `the media service could not run this job: every delivery of it failed (last: ${job.error ?? "no answer"})`;
      await completeJob(env, job, stored ?? { status: "failed", error }, stored ? "media" : "dead-letter");
    }
    msg.ack();
  }
}

async function runJob(env: Env, jobId: string, delivery: number): Promise<void> {
  const d = db(env.DB);
  const job = await getJob(d, jobId);
  if (job?.type !== "media") return; // nothing to do for an unknown id
  if (!job.result) {
    const answerKey = jobAnswerKey(job.accountId, job.shootId, jobId);
    // An instance may have finished it already and its reply been lost (a killed runtime, a
    // redelivery): then its answer is in R2 and the job is completed from there, not run again.
    const result = (await storedAnswer(env, answerKey, jobId)) ?? (await runOnService(env, jobId, delivery, job.request as MediaJobRequest, answerKey));
    if (await completeJob(env, job, result, "media")) return;
  }
  // Finished before (a redelivered message or a re-dispatch): announce the stored outcome again.
  const finished = await getJob(d, jobId);
  if (finished?.result) await notifyWorkflow(env, finished, toSignal(finished.result));
}

async function storedAnswer(env: Env, key: string, jobId: string): Promise<JobResult | null> {
  const obj = await env.BUCKET.get(key);
  if (!obj) return null;
  const answer = await obj.json<MediaJobAnswer>().catch(() => null);
  if (answer?.id !== jobId || answer.status !== "done" || !answer.result) return null;
  console.log(JSON.stringify({ msg: "media job answered from storage", job: jobId }));
  return { status: "succeeded", output: answer.result };
}

/** Sends the job to its instance (another one when that cannot be reached); throws when the message should be retried. */
async function runOnService(env: Env, jobId: string, delivery: number, req: MediaJobRequest, answerKey: string): Promise<JobResult> {
  // A media job row's request is the MediaJobRequest its workflow step stored.
  const body: MediaJobBody = {
    ...req,
    inputs: await Promise.all(req.inputs.map(async (i) => ({ name: i.name, url: await blobUrl(env, "GET", i.key, URL_TTL_SECONDS) }))),
    outputs: Object.fromEntries(await Promise.all(req.outputs.map(async (o) => [o.name, await blobUrl(env, "PUT", o.key, URL_TTL_SECONDS)] as const))),
    answer: await blobUrl(env, "PUT", answerKey, URL_TTL_SECONDS),
  };
  const res = await mediaFetch(env, jobId, delivery, `/jobs/${encodeURIComponent(jobId)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => null)) as { result?: unknown; error?: string } | null;
  if (res.status === 200 && answer?.result) return { status: "succeeded", output: answer.result };
  if (res.status === 422 || res.status === 400) return { status: "failed", error: answer?.error ?? `media service answered ${res.status}` };
  throw new Error(`media service answered ${res.status}`);
}

/**
 * The job's instance: a local service (MEDIA_SERVICE_URL, comma-separated) in development, a
 * MediaContainer of the pool in production. One that cannot be reached (the call throws, or 502/503
 * while it starts or is gone) hands the job to the next in the job's own order, so a lost instance
 * delays its jobs by one attempt, not by the queue's retries. A job whose instance died mid-run may
 * thus run twice, never finish twice: outputs go to the same keys and completeJob records it once.
 * Each later delivery of the message starts one further along the order, so a job whose instance
 * answered but failed it (a 500: a full disk, a crashed FFmpeg) is tried elsewhere next time.
 */
async function mediaFetch(env: Env, jobId: string, delivery: number, path: string, init: RequestInit): Promise<Response> {
  const targets = mediaTargets(env.MEDIA_SERVICE_URL, env.MEDIA_INSTANCES);
  const count = targets.kind === "urls" ? targets.urls.length : targets.count;
  const failures: string[] = [];
  const order = instanceOrder(jobId, count);
  const shift = Math.max(0, delivery - 1) % order.length;
  for (const i of [...order.slice(shift), ...order.slice(0, shift)]) {
    const name = targets.kind === "urls" ? targets.urls[i]! : containerName(i);
    try {
      const res =
        targets.kind === "urls"
          ? await fetch(`${name}${path}`, init)
          : await getContainer(env.MEDIA_CONTAINER, name).fetch(new Request(`http://media${path}`, init));
      if (res.status !== 502 && res.status !== 503) {
        if (failures.length) console.warn(JSON.stringify({ msg: "media job failed over", job: jobId, to: name, unreachable: failures }));
        return res;
      }
      await res.body?.cancel().catch(() => undefined);
      failures.push(`${name}: ${res.status}`);
    } catch (err) {
      failures.push(`${name}: ${String(err)}`);
    }
  }
  throw new Error(`no media instance could be reached (${failures.join("; ")})`);
}
