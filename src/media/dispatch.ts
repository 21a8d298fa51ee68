/**
 * Media queue consumer: turns a job row into a request to the media service (with signed URLs for
 * its inputs and outputs), records the outcome once, and tells the workflow with the job's own event
 * type. A fault on the way (the service is down or restarting) retries the message; a job that is
 * already finished is only re-announced, never re-run.
 */
import { getContainer } from "@cloudflare/containers";
import { db } from "../db/client.ts";
import { getJob, noteDispatchError, toSignal, type JobResult } from "../db/jobs.ts";
import type { MediaJobBody, MediaJobMessage, MediaJobRequest } from "../domain/media-jobs.ts";
import { completeJob, notifyWorkflow } from "../jobs/completion.ts";
import { blobUrl } from "../storage/urls.ts";

const URL_TTL_SECONDS = 3600;

export async function handleMediaBatch(batch: MessageBatch<MediaJobMessage>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    try {
      await runJob(env, msg.body.jobId);
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
      const error = `the media service could not run this job: every delivery of it failed (last: ${job.error ?? "no answer"})`;
      await completeJob(env, job, { status: "failed", error }, "dead-letter");
    }
    msg.ack();
  }
}

async function runJob(env: Env, jobId: string): Promise<void> {
  const d = db(env.DB);
  const job = await getJob(d, jobId);
  if (job?.type !== "media") return; // nothing to do for an unknown id
  if (!job.result) {
    // A media job row's request is the MediaJobRequest its workflow step stored.
    const req = job.request as MediaJobRequest;
    const body: MediaJobBody = {
      ...req,
      inputs: await Promise.all(req.inputs.map(async (i) => ({ name: i.name, url: await blobUrl(env, "GET", i.key, URL_TTL_SECONDS) }))),
      outputs: Object.fromEntries(await Promise.all(req.outputs.map(async (o) => [o.name, await blobUrl(env, "PUT", o.key, URL_TTL_SECONDS)] as const))),
    };
    const res = await mediaFetch(env, `/jobs/${encodeURIComponent(jobId)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = (await res.json().catch(() => null)) as { result?: unknown; error?: string } | null;
    let result: JobResult;
    if (res.status === 200 && answer?.result) result = { status: "succeeded", output: answer.result };
    else if (res.status === 422 || res.status === 400) result = { status: "failed", error: answer?.error ?? `media service answered ${res.status}` };
    else throw new Error(`media service answered ${res.status}`);
    if (await completeJob(env, job, result, "media")) return;
  }
  // Finished before (a redelivered message or a re-dispatch): announce the stored outcome again.
  const finished = await getJob(d, jobId);
  if (finished?.result) await notifyWorkflow(env, finished, toSignal(finished.result));
}

/** The local media service in development, the MediaContainer in production. */
function mediaFetch(env: Env, path: string, init: RequestInit): Promise<Response> {
  if (env.MEDIA_SERVICE_URL) return fetch(`${env.MEDIA_SERVICE_URL.replace(/\/$/, "")}${path}`, init);
  return getContainer(env.MEDIA_CONTAINER, "media").fetch(new Request(`http://media${path}`, init));
}
