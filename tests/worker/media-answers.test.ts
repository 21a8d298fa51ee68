/**
 * The media pool's exactly-once (issue 21): a job whose answer an instance left in R2 is completed
 * from there by the media consumer, whichever instance would get it next, and never run again; a
 * redelivery only re-announces it. A pool none of whose instances can be reached retries the message;
 * the next delivery starts at the next instance of the job's order (a 500 is not sent back to where it
 * happened).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { db } from "../../src/db/client.ts";
import { eventsSince } from "../../src/db/events.ts";
import { ensureJob, getJob } from "../../src/db/jobs.ts";
import { insertShoot } from "../../src/db/shoots.ts";
import type { MediaJobAnswer, MediaJobMessage } from "../../src/domain/media-jobs.ts";
import { DEFAULT_STITCH } from "../../src/domain/shoot.ts";
import { handleDeadMediaJobs, handleMediaBatch } from "../../src/media/dispatch.ts";
import { jobAnswerKey } from "../../src/storage/job-answers.ts";
import { newAccount } from "./helpers.ts";

/** Nothing listens on these: every instance refuses the connection. */
const DEAD_POOL = { ...env, MEDIA_SERVICE_URL: "http://127.0.0.1:9,http://127.0.0.1:10" } as Env;

function batch(jobId: string, copies: number, attempts = 1) {
  const acked: number[] = [];
  const retried: number[] = [];
  const messages = Array.from({ length: copies }, (_, i) => ({
    id: `m${i}`,
    timestamp: new Date(),
    attempts,
    body: { jobId },
    ack: () => acked.push(i),
    retry: () => retried.push(i),
  }));
  return { batch: { queue: "atelier-media-jobs", messages, ackAll() {}, retryAll() {} } as unknown as MessageBatch<MediaJobMessage>, acked, retried };
}

async function stitchJob(suffix: string) {
  const { accountId } = await newAccount();
  const shootId = `sh_pool${suffix}${crypto.randomUUID().slice(0, 8)}`;
  const d = db(env.DB);
  await insertShoot(d, {
    id: shootId,
    accountId,
    brief: "pool",
    params: { references: [], presets: {}, aspectRatio: null, review: [], checkpointTimeout: "7 days", timeoutPolicy: "expire", stitch: DEFAULT_STITCH },
  });
  const id = `${shootId}-stitch-1`;
  await ensureJob(d, {
    id,
    shootId,
    accountId,
    type: "media",
    provider: "media",
    model: "stitch",
    stage: "reel",
    attempt: 1,
    status: "submitted",
    request: {
      kind: "stitch",
      inputs: [{ name: "clip-1", key: `accounts/${accountId}/shoots/${shootId}/clip-1/v1.mp4` }],
      outputs: [{ name: "reel", key: `accounts/${accountId}/shoots/${shootId}/reel/v1.mp4`, mime: "video/mp4" }],
      params: {},
    },
  });
  return { id, shootId, accountId };
}

describe("media answers in R2", () => {
  it("complete a job once, from storage, without reaching any instance", async () => {
    const job = await stitchJob("a");
    const answer: MediaJobAnswer = { id: job.id, status: "done", result: { outputs: { reel: { bytes: 10, sha256: "ab", mime: "video/mp4", duration: 3 } } } };
    await env.BUCKET.put(jobAnswerKey(job.accountId, job.shootId, job.id), JSON.stringify(answer));

    // Two deliveries of the message on a pool that cannot be reached: neither needs it.
    const { batch: b, acked, retried } = batch(job.id, 2);
    await handleMediaBatch(b, DEAD_POOL);
    expect(acked).toEqual([0, 1]);
    expect(retried).toEqual([]);
    const row = await getJob(db(env.DB), job.id);
    expect(row?.status).toBe("succeeded");
    expect(row?.result).toEqual({ status: "succeeded", output: answer.result });
    const completed = (await eventsSince(db(env.DB), job.shootId)).filter((e) => e.type === "job.completed");
    expect(completed.map((e) => (e.data as { job: string; by: string }).job)).toEqual([job.id]);
    expect((completed[0]!.data as { by: string }).by).toBe("media");
  });

  it("still count when every delivery failed: the dead-letter consumer completes the job from its answer", async () => {
    const job = await stitchJob("c");
    const answer: MediaJobAnswer = { id: job.id, status: "done", result: { outputs: {} } };
    await env.BUCKET.put(jobAnswerKey(job.accountId, job.shootId, job.id), JSON.stringify(answer));
    const { batch: b, acked } = batch(job.id, 1);
    await handleDeadMediaJobs(b, env);
    expect(acked).toEqual([0]);
    expect((await getJob(db(env.DB), job.id))?.result).toEqual({ status: "succeeded", output: answer.result });
    const events = await eventsSince(db(env.DB), job.shootId);
    expect(events.filter((e) => e.type === "job.failed")).toEqual([]);
    expect(events.filter((e) => e.type === "job.completed").map((e) => (e.data as { by: string }).by)).toEqual(["media"]);
  });

  it("are ignored when they name another job; a pool that cannot be reached retries the message", async () => {
    const job = await stitchJob("b");
    await env.BUCKET.put(jobAnswerKey(job.accountId, job.shootId, job.id), JSON.stringify({ id: "someone-else", status: "done", result: {} }));
    const { batch: b, acked, retried } = batch(job.id, 1);
    await handleMediaBatch(b, DEAD_POOL);
    expect(acked).toEqual([]);
    expect(retried).toEqual([0]);
    const row = await getJob(db(env.DB), job.id);
    expect(row?.result ?? null).toBeNull();
    // Both instances were tried, in the job's own order, before giving the message back.
    const tried = (error: string | null | undefined) => [...(error ?? "").matchAll(/http:\/\/127\.0\.0\.1:(\d+): /g)].map((m) => m[1]);
    const first = tried(row?.error);
    expect([...first].sort()).toEqual(["10", "9"]);
    // The second delivery starts at the other one.
    const again = batch(job.id, 1, 2);
    await handleMediaBatch(again.batch, DEAD_POOL);
    expect(again.retried).toEqual([0]);
    expect(tried((await getJob(db(env.DB), job.id))?.error)).toEqual([...first].reverse());
  });
});
