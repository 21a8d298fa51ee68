/**
 * Jobs whose webhook never arrives are finished by polling: the workflow's own fallback when its wait
 * times out, or the watchdog cron. Either way the job goes through the one completion path, so the
 * shoot's timeline shows `job.completed` (saying who finished it) and the workflow moves on.
 *
 * The provider is the simulator (tests/worker/global-setup.ts) over real HTTP; it drops webhooks.
 * The hero job is submitted by the test, with its reference inlined as a data: URI, because the
 * simulator cannot download from this in-process Worker; the workflow's submit step is told the job
 * id, and everything after it (wait, poll, completion, download into R2, checkpoint) is the real code.
 */
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { db } from "../../src/db/client.ts";
import { ensureJob, getJob, markSubmitted } from "../../src/db/jobs.ts";
import { completeJob } from "../../src/jobs/completion.ts";
import { idempotentShootId } from "../../src/db/shoots.ts";
import { submitFal } from "../../src/providers/fal.ts";
import { reconcileStalledJobs } from "../../src/watchdog.ts";
import { call, newAccount, uploadRefs } from "./helpers.ts";
import { makePng } from "./png.ts";

type Introspector = Awaited<ReturnType<typeof introspectWorkflowInstance>>;
type Modifier = Parameters<Parameters<Introspector["modify"]>[0]>[0];

interface ShootJson {
  status: string;
  checkpoint: { stage: string; attempt: number; artifacts: { assets: string[] } } | null;
  assets: { id: string; kind: string; mime: string; width: number | null; height: number | null; provenance: { job?: string } | null }[];
  jobs: { id: string; status: string; costUsd: number | null; completedAt: string | null }[];
  timeline: { type: string; data: Record<string, unknown> | null }[];
}

const simUrl = () => env.FAL_QUEUE_URL.replace(/\/fal$/, "");

function dataUri(bytes: Uint8Array, mime: string): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `data:${mime};base64,${btoa(bin)}`;
}

/** Submits a hero job to the simulator the way the submit step does, and waits until it is done there. */
async function submitHeroAtProvider(shootId: string, accountId: string): Promise<string> {
  const jobId = `${shootId}-hero-0-1`;
  const input = {
    prompt: "Editorial fashion photograph, full-length, studio light",
    image_urls: [dataUri(await makePng(64, 96), "image/png")],
    aspect_ratio: "2:3",
    resolution: "1K",
    output_format: "png",
    num_images: 1,
  };
  const d = db(env.DB);
  await ensureJob(d, {
    id: jobId,
    shootId,
    accountId,
    type: "provider",
    provider: "fal",
    model: env.IMAGE_MODEL,
    stage: "hero",
    attempt: 1,
    status: "pending",
    request: { provider: "fal", model: env.IMAGE_MODEL, input },
  });
  const requestId = await submitFal(env, env.IMAGE_MODEL, input, `${env.PUBLIC_URL}/webhooks/fal`);
  await markSubmitted(d, jobId, requestId);
  for (let i = 0; ; i++) {
    const job = (await (await fetch(`${simUrl()}/__sim/jobs/${requestId}`)).json()) as { status: string };
    if (job.status === "succeeded") return jobId;
    if (job.status === "failed" || i > 200) throw new Error(`the simulator's hero job ended ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startShoot(modify: (m: Modifier, jobId: string) => Promise<void>) {
  const { apiKey, accountId } = await newAccount();
  const refs = await uploadRefs(apiKey, 1);
  const key = crypto.randomUUID();
  const id = await idempotentShootId(accountId, key);
  const jobId = await submitHeroAtProvider(id, accountId);
  const instance = await introspectWorkflowInstance(env.SHOOT, id);
  await instance.modify(async (m) => {
    await m.disableSleeps();
    await m.mockStepResult({ name: "submit hero#1" }, { jobId });
    await modify(m, jobId);
  });
  const res = await call("/api/shoots", {
    method: "POST",
    key: apiKey,
    body: JSON.stringify({ brief: "studio editorial, calm energy", references: refs, idempotencyKey: key }),
  });
  expect(res.status).toBe(201);
  const get = async () => (await (await call(`/api/shoots/${id}`, { key: apiKey })).json()) as ShootJson;
  return { id, jobId, instance, get };
}

/** The hero checkpoint shows the provider's image, copied into R2 by the real store step. */
async function expectHeroStored(shoot: ShootJson, jobId: string) {
  expect(shoot.status).toBe("awaiting_review");
  expect(shoot.checkpoint).toMatchObject({ stage: "hero", attempt: 1 });
  const hero = shoot.assets.find((a) => a.id === shoot.checkpoint!.artifacts.assets[0])!;
  expect(hero).toMatchObject({ kind: "hero", mime: "image/png", provenance: { job: jobId } });
  expect(hero.width).toBeGreaterThan(0);
  const job = shoot.jobs.find((j) => j.id === jobId)!;
  expect(job.status).toBe("succeeded");
  expect(job.completedAt).not.toBeNull();
  expect(job.costUsd).toBe(0.15);
}

describe("jobs finished without their webhook", () => {
  it("a job the workflow polls after its wait times out appears in the timeline as job.completed", async () => {
    const s = await startShoot((m) => m.forceEventTimeout({ name: "await hero#1#1" }));
    await using _ = s.instance;
    expect(await s.instance.waitForStepResult({ name: "poll hero#1#1" })).toMatchObject({ status: "succeeded" });
    await s.instance.waitForStepResult({ name: "open hero#1" });
    const shoot = await s.get();
    const completed = shoot.timeline.filter((e) => e.type === "job.completed" && e.data?.job === s.jobId);
    expect(completed).toEqual([
      { type: "job.completed", data: { job: s.jobId, provider: "fal", stage: "hero", by: "poll" }, id: expect.any(Number), at: expect.any(String) },
    ]);
    await expectHeroStored(shoot, s.jobId);

    // A webhook arriving late, or a contradicting one, changes nothing and adds nothing.
    const row = (await getJob(db(env.DB), s.jobId))!;
    expect(await completeJob(env, row, { status: "succeeded", outputUrl: "https://provider.test/late.png" }, "webhook")).toBe(false);
    expect(await completeJob(env, row, { status: "failed", error: "late failure" }, "webhook")).toBe(false);
    const after = await s.get();
    // job.queued and job.resumed are the provider slot's (src/limits), logged around the job by the workflow.
    const outcomes = (e: { type: string }) => e.type.startsWith("job.") && !["job.submitted", "job.queued", "job.resumed"].includes(e.type);
    expect(after.timeline.filter(outcomes)).toEqual(completed);
    expect(after.jobs.find((j) => j.id === s.jobId)).toEqual(shoot.jobs.find((j) => j.id === s.jobId));
  });

  it("a job the watchdog polls appears in the timeline as job.completed and wakes the workflow", async () => {
    const s = await startShoot(async () => {});
    await using _ = s.instance;
    await s.instance.waitForStepResult({ name: "submit hero#1" });
    // Not stalled yet: the watchdog leaves a job alone until its wait timeout has passed.
    expect(await reconcileStalledJobs(env)).toMatchObject({ finished: 0 });
    expect((await s.get()).timeline.some((e) => e.type === "job.completed")).toBe(false);

    const later = Date.now() + 11 * 60_000; // past PROVIDER_WAIT_TIMEOUT (10 minutes)
    const stats = await reconcileStalledJobs(env, later);
    expect(stats.finished).toBeGreaterThanOrEqual(1);
    await s.instance.waitForStepResult({ name: "open hero#1" });
    const shoot = await s.get();
    const completed = shoot.timeline.filter((e) => e.type === "job.completed" && e.data?.job === s.jobId);
    expect(completed).toEqual([
      { type: "job.completed", data: { job: s.jobId, provider: "fal", stage: "hero", by: "watchdog" }, id: expect.any(Number), at: expect.any(String) },
    ]);
    await expectHeroStored(shoot, s.jobId);

    // A second pass finds nothing to do and logs nothing twice.
    await reconcileStalledJobs(env, later);
    expect((await s.get()).timeline.filter((e) => e.type === "job.completed")).toHaveLength(1);
  });
});
