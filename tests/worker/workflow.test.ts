/**
 * ShootWorkflow inside workerd: approve, revise and cancel at every checkpoint, and the timeout
 * policy. Decisions go through the real HTTP API (which resolves the D1 row and sends the event);
 * provider and media jobs are replaced at their step boundaries (submit/store, enqueue/record) and
 * their completion events with `mockEvent`, since the simulator and media service cannot call back
 * into this in-process Worker. The real path is covered end to end in tests/e2e.
 */
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Shoot } from "../../src/api/types.ts";
import { db } from "../../src/db/client.ts";
import { jobsForShoot } from "../../src/db/jobs.ts";
import { idempotentShootId, insertShoot, updateShoot } from "../../src/db/shoots.ts";
import { DEFAULT_STITCH } from "../../src/domain/shoot.ts";
import { call, newAccount, uploadRefs } from "./helpers.ts";
import { DEFAULT_REVIEW, MAKING_STAGES, STAGES as C_STAGES } from "../../src/domain/contract.ts";
import type { Finding } from "../../src/domain/findings.ts";

type Introspector = Awaited<ReturnType<typeof introspectWorkflowInstance>>;
type Modifier = Parameters<Parameters<Introspector["modify"]>[0]>[0];

/** 1-based positions where two checkpoints show different assets. */
function changedPositions(before: string[], after: string[]): number[] {
  expect(after).toHaveLength(before.length);
  return after.flatMap((id, i) => (id === before[i] ? [] : [i + 1]));
}

/** Stands in for every provider and media job a test might reach, except the steps named in `except`. */
async function mockJobs(m: Modifier, shootId: string, except: string[] = [], checks: Record<string, Finding[]> = {}) {
  await m.disableSleeps();
  await m.disableRetryDelays();
  const provider = async (name: string, kind: string, index: number, version: number) => {
    if (except.includes(name)) return;
    const jobId = `${shootId}-${kind}-${index}-${version}`;
    await m.mockStepResult({ name: `submit ${name}` }, { jobId });
    await m.mockEvent({ type: `job-${jobId}`, payload: { status: "succeeded", outputUrl: `https://provider.test/${jobId}` } });
    await m.mockStepResult({ name: `store ${name}` }, { assetId: `as-${name}`, key: `test/${name}`, width: 100, height: 100 });
  };
  const media = async (name: string, kind: string, attempt: number, outputs: string[], details: object = { boxes: [], confidence: 0.97 }, scope?: string) => {
    if (except.includes(name)) return;
    const jobId = [shootId, kind, ...(scope ? [scope] : []), attempt].join("-");
    await m.mockStepResult({ name: `enqueue ${name}` }, { jobId });
    await m.mockEvent({ type: `job-${jobId}`, payload: { status: "succeeded" } });
    const assets = Object.fromEntries(outputs.map((o) => [o, { assetId: `as-${name}-${o}`, key: `test/${name}/${o}`, width: 100, height: 100 }]));
    await m.mockStepResult({ name: `record ${name}` }, { ok: true, assets, details });
  };
  // The quality checks pass everything unless a test says otherwise (`checks`: step name → findings).
  for (const stage of MAKING_STAGES) {
    for (const v of [1, 2, 3, 4]) {
      const name = `check-${stage}#${v}`;
      const findings = checks[name] ?? [];
      const flagged = findings.filter((f) => f.verdict === "flag").length;
      await media(name, "check", v, [], { findings, flagged, skipped: [] }, stage);
    }
  }
  for (const v of [1, 2]) {
    await provider(`hero#${v}`, "hero", 0, v);
    await provider(`contact-sheet#${v}`, "contact-sheet", 0, v);
    await media(
      `crop#${v}`,
      "crop",
      v,
      [1, 2, 3, 4, 5, 6].map((i) => `frame-${i}`),
    );
    await media(`stitch#${v}`, "stitch", v, ["reel", "poster"]);
    for (let n = 1; n <= 6; n++) await provider(`clip-${n}#${v}`, "clip", n, v);
  }
  for (let n = 1; n <= 6; n++) await provider(`frame-${n}#2`, "frame", n, 2);
}

async function startShoot(
  opts: {
    review?: string[];
    timeoutPolicy?: "expire" | "approve";
    aspectRatio?: string;
    modify?: (m: Modifier) => Promise<void>;
    /** Like `modify`, for mocks that name jobs (their ids derive from the shoot id). */
    modifyWithId?: (m: Modifier, shootId: string) => Promise<void>;
    /** Only the caller's mocks, none of mockJobs'. */
    bare?: boolean;
    /** Provider jobs (by step name) mockJobs leaves to the caller. */
    except?: string[];
    /** What the quality checks answer, by check step name (`check-frames#1`); the others pass. */
    checks?: Record<string, Finding[]>;
    referenceRoles?: (string | null)[];
    reviewPolicy?: "always" | "flagged";
    autoFix?: boolean;
    channels?: string[];
  } = {},
) {
  const { apiKey, accountId } = await newAccount();
  const refs = await uploadRefs(apiKey, 2);
  const key = crypto.randomUUID();
  const id = await idempotentShootId(accountId, key);
  const instance = await introspectWorkflowInstance(env.SHOOT, id);
  await instance.modify(async (m) => {
    if (opts.bare) await m.disableSleeps();
    else await mockJobs(m, id, opts.except, opts.checks);
    await opts.modify?.(m);
    await opts.modifyWithId?.(m, id);
  });
  const res = await call("/api/shoots", {
    method: "POST",
    key: apiKey,
    body: JSON.stringify({
      brief: "streetwear editorial, confident energy",
      references: refs,
      idempotencyKey: key,
      review: opts.review,
      timeoutPolicy: opts.timeoutPolicy,
      aspectRatio: opts.aspectRatio,
      referenceRoles: opts.referenceRoles,
      reviewPolicy: opts.reviewPolicy,
      autoFix: opts.autoFix,
      channels: opts.channels,
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const get = async () => (await (await call(`/api/shoots/${id}`, { key: apiKey })).json()) as Shoot;
  const pending = async (stage: string, attempt: number) => {
    await instance.waitForStepResult({ name: `open ${stage}#${attempt}` });
    const s = await get();
    expect(s.checkpoint).toMatchObject({ stage, attempt });
    expect(s.status).toBe("awaiting_review");
  };
  const decide = async (stage: string, body: Record<string, unknown>) => {
    const r = await call(`/api/shoots/${id}/checkpoints/${stage}/decision`, { method: "POST", key: apiKey, body: JSON.stringify(body) });
    expect(r.status, await r.clone().text()).toBe(202);
  };
  return { id, apiKey, instance, get, pending, decide };
}

/** The stages a person reviews by default, in order. */
const STAGES = DEFAULT_REVIEW;

describe("ShootWorkflow", () => {
  it("approving every checkpoint completes the shoot", async () => {
    const s = await startShoot();
    await using _ = s.instance;
    for (const stage of STAGES) {
      await s.pending(stage, 1);
      await s.decide(stage, { action: "approve" });
    }
    await s.instance.waitForStatus("complete");
    const shoot = await s.get();
    expect(shoot.status).toBe("completed");
    expect(shoot.checkpoints.map((c) => [c.stage, c.status])).toEqual([["plan", "auto_approved"], ...STAGES.map((st) => [st, "approved"])]);
  });

  it("revise redoes only the targeted work and keeps going", async () => {
    const s = await startShoot({ review: ["plan", ...STAGES] });
    await using _ = s.instance;

    await s.pending("plan", 1);
    await s.decide("plan", { action: "revise", presets: { background: "industrial" }, feedback: "rawer setting" });
    expect(await s.instance.waitForStepResult({ name: "plan#2" })).toMatchObject({ plan: { background: "industrial" } });
    await s.pending("plan", 2);
    await s.decide("plan", { action: "approve" });

    await s.pending("hero", 1);
    await s.decide("hero", { action: "revise", feedback: "warmer light" });
    await s.pending("hero", 2);
    await s.decide("hero", { action: "approve" });

    await s.pending("contact-sheet", 1);
    await s.decide("contact-sheet", { action: "revise", feedback: "more dramatic angles" });
    await s.pending("contact-sheet", 2);
    await s.decide("contact-sheet", { action: "approve" });

    await s.pending("frames", 1);
    await s.decide("frames", { action: "revise", frames: [3], feedback: "crisper collar" });
    await s.pending("frames", 2);
    await s.decide("frames", { action: "approve" });

    await s.pending("clips", 1);
    await s.decide("clips", { action: "revise", clips: [2], feedback: "slower move" });
    await s.pending("clips", 2);
    await s.decide("clips", { action: "approve", stitch: { easing: "cinematic" } });

    await s.pending("reel", 1);
    await s.decide("reel", { action: "revise", stitch: { clipSeconds: 2 } });
    await s.pending("reel", 2);
    await s.decide("reel", { action: "approve" });
    await s.instance.waitForStatus("complete");

    const shoot = await s.get();
    expect(shoot.status).toBe("completed");
    // Exactly the targeted work was redone: the second frames checkpoint shows a new frame 3 and the
    // other five as they were; the second clips checkpoint a new clip 2 and the other four.
    const shown = (stage: string, attempt: number) => shoot.checkpoints.find((c) => c.stage === stage && c.attempt === attempt)!.artifacts.assets;
    expect(shown("frames", 1)).toHaveLength(6);
    expect(changedPositions(shown("frames", 1), shown("frames", 2))).toEqual([3]);
    expect(shown("frames", 2)[2]).toBe("as-frame-3#2");
    expect(shown("clips", 1)).toHaveLength(5);
    expect(changedPositions(shown("clips", 1), shown("clips", 2))).toEqual([2]);
    expect(shown("clips", 2)[1]).toBe("as-clip-2#2");
    // The reel revision changed only the stitch settings: both reels are made of the same clips.
    expect(shown("reel", 2)).toEqual(["as-stitch#2-reel", "as-stitch#2-poster"]);
    const revised = shoot.checkpoints.filter((c) => c.status === "revised").map((c) => `${c.stage}#${c.attempt}`);
    expect(revised).toEqual(["plan#1", "hero#1", "contact-sheet#1", "frames#1", "clips#1", "reel#1"]);
    expect(shoot.checkpoints.find((c) => c.stage === "hero" && c.attempt === 1)?.feedback).toBe("warmer light");
  }, 30_000);

  for (const [i, stage] of STAGES.entries()) {
    it(`cancel at the ${stage} checkpoint ends the shoot as cancelled`, async () => {
      const s = await startShoot();
      await using _ = s.instance;
      for (const earlier of STAGES.slice(0, i)) {
        await s.pending(earlier, 1);
        await s.decide(earlier, { action: "approve" });
      }
      await s.pending(stage, 1);
      await s.decide(stage, { action: "cancel" });
      await s.instance.waitForStatus("complete");
      expect(await s.instance.getOutput()).toEqual({ status: "cancelled" });
      const shoot = await s.get();
      expect(shoot.status).toBe("cancelled");
      expect(shoot.stage).toBe(stage);
      // A decision after the end changes nothing.
      const late = await call(`/api/shoots/${s.id}/checkpoints/${stage}/decision`, {
        method: "POST",
        key: s.apiKey,
        body: JSON.stringify({ action: "approve" }),
      });
      expect(late.status).toBe(409);
    });
  }

  it("an instance made for a shoot cancelled before it was placed makes nothing", async () => {
    // A batch row whose createBatch failed after its shoot row was written, cancelled by a person,
    // then placed on the row's retry: the instance sees the ended shoot and stops at once.
    const { accountId } = await newAccount();
    const shootId = `sh_late${crypto.randomUUID().slice(0, 8)}`;
    const d = db(env.DB);
    await insertShoot(d, {
      id: shootId,
      accountId,
      brief: "cancelled while queued",
      params: { references: [], presets: {}, aspectRatio: null, review: [], checkpointTimeout: "7 days", timeoutPolicy: "expire", stitch: DEFAULT_STITCH },
    });
    await updateShoot(d, shootId, { status: "cancelled" });
    await using instance = await introspectWorkflowInstance(env.SHOOT, shootId);
    await env.SHOOT.create({ id: shootId, params: { shootId, accountId } });
    await instance.waitForStatus("complete");
    expect(await instance.getOutput()).toEqual({ status: "cancelled" });
    expect(await jobsForShoot(d, shootId)).toEqual([]);
  });

  it("a checkpoint that times out expires the shoot under the expire policy", async () => {
    const s = await startShoot({ timeoutPolicy: "expire", modify: (m) => m.forceEventTimeout({ name: "decide hero#1" }) });
    await using _ = s.instance;
    await s.instance.waitForStatus("complete");
    expect(await s.instance.getOutput()).toEqual({ status: "expired" });
    const shoot = await s.get();
    expect(shoot.status).toBe("expired");
    expect(shoot.checkpoints.find((c) => c.stage === "hero")).toMatchObject({ status: "expired" });
  });

  it("a checkpoint that times out approves itself under the approve policy", async () => {
    const s = await startShoot({ timeoutPolicy: "approve", modify: (m) => m.forceEventTimeout({ name: "decide contact-sheet#1" }) });
    await using _ = s.instance;
    await s.pending("hero", 1);
    await s.decide("hero", { action: "approve" });
    await s.pending("frames", 1);
    const shoot = await s.get();
    expect(shoot.checkpoints.find((c) => c.stage === "contact-sheet")).toMatchObject({ status: "approved" });
  });

  it("stages left out of the review policy approve themselves", async () => {
    const s = await startShoot({ review: ["reel"] });
    await using _ = s.instance;
    await s.pending("reel", 1);
    const shoot = await s.get();
    expect(shoot.checkpoints.filter((c) => c.status === "auto_approved").map((c) => c.stage)).toEqual(C_STAGES.filter((s) => s !== "reel"));
    await s.decide("reel", { action: "approve" });
    await s.instance.waitForStatus("complete");
    expect((await s.get()).status).toBe("completed");
  });
});

describe("provider failures", () => {
  const outcomes = (step: string, job: string, tries: ({ status: "failed"; error: string; retryable?: boolean } | "succeeded")[]) => async (m: Modifier) => {
    for (const [i, outcome] of tries.entries()) {
      const id = i === 0 ? job : `${job}-t${i + 1}`;
      await m.mockStepResult({ name: i === 0 ? `submit ${step}` : `submit ${step} try ${i + 1}` }, { jobId: id });
      await m.mockEvent({ type: `job-${id}`, payload: outcome === "succeeded" ? { status: "succeeded", outputUrl: `https://provider.test/${id}` } : outcome });
    }
  };
  const transient = { status: "failed" as const, error: "Internal error: runner crashed" };
  const refusal = { status: "failed" as const, error: "Failure to pass the risk control system", retryable: false };

  it("a job that fails transiently is tried again as a new job", async () => {
    const s = await startShoot({
      except: ["hero#1"],
      modifyWithId: async (m, id) => {
        await outcomes("hero#1", `${id}-hero-0-1`, [transient, "succeeded"])(m);
        await m.mockStepResult({ name: "store hero#1" }, { assetId: "as-hero", key: "test/hero", width: 10, height: 10 });
      },
    });
    await using _ = s.instance;
    // Only the second job's event says succeeded: the hero checkpoint opens with its output only if
    // the workflow submitted a new job (id -t2) and waited for that job's own event.
    await s.pending("hero", 1);
    expect(await s.instance.waitForStepResult({ name: "submit hero#1 try 2" })).toEqual({ jobId: `${s.id}-hero-0-1-t2` });
    const shoot = await s.get();
    expect(shoot.checkpoints.find((c) => c.stage === "hero")!.artifacts.assets).toEqual(["as-hero"]);
    expect(shoot.status).toBe("awaiting_review");
  });

  it("a job that keeps failing opens its checkpoint with the provider's reason; revise tries it again", async () => {
    const s = await startShoot({ except: ["hero#1"], modifyWithId: (m, id) => outcomes("hero#1", `${id}-hero-0-1`, [transient, transient, transient])(m) });
    await using _ = s.instance;
    await s.pending("hero", 1);
    const shoot = await s.get();
    expect(shoot.status).toBe("awaiting_review");
    expect(shoot.checkpoint!.artifacts.error).toContain("runner crashed");
    expect(shoot.checkpoint!.artifacts.failed).toMatchObject([{ item: "hero" }]);
    // Nothing to approve: the API says so and changes nothing.
    const approve = await call(`/api/shoots/${s.id}/checkpoints/hero/decision`, { method: "POST", key: s.apiKey, body: JSON.stringify({ action: "approve" }) });
    expect(approve.status).toBe(409);
    await s.decide("hero", { action: "revise", feedback: "try again" });
    await s.pending("hero", 2);
    expect((await s.get()).checkpoint!.artifacts.assets).toEqual(["as-hero#2"]);
  });

  it("a content-policy refusal is not retried blindly", async () => {
    const s = await startShoot({ except: ["hero#1"], modifyWithId: (m, id) => outcomes("hero#1", `${id}-hero-0-1`, [refusal])(m) });
    await using _ = s.instance;
    await s.pending("hero", 1);
    const shoot = await s.get();
    expect(shoot.checkpoint!.artifacts.error).toContain("risk control");
    // The first submit is mocked; a second try is not, so it would have reached FAL (the simulator
    // the global setup runs): the simulator saw no hero request for this shoot.
    const simJobs = (await (await fetch(`${env.FAL_QUEUE_URL.replace(/\/fal$/, "")}/__sim/jobs`)).json()) as {
      jobs: { provider: string; webhookUrl?: string }[];
    };
    expect(simJobs.jobs.filter((j) => j.provider === "fal" && j.webhookUrl?.includes(`job=${s.id}-hero`))).toEqual([]);
    expect(shoot.jobs.filter((j) => j.stage === "hero")).toEqual([]);
  });

  it("a refused clip leaves the clips checkpoint with the reason on that clip and the others intact; revising it completes the shoot", async () => {
    const s = await startShoot({
      review: ["clips"],
      except: ["clip-3#1"],
      modifyWithId: (m, id) => outcomes("clip-3#1", `${id}-clip-3-1`, [refusal])(m),
    });
    await using _ = s.instance;
    await s.pending("clips", 1);
    const shoot = await s.get();
    const items = shoot.checkpoint!.artifacts.clips!;
    expect(items.map((c) => c.clip)).toEqual([1, 2, 3, 4, 5]);
    expect(items[2]).toMatchObject({ assetId: null, error: expect.stringContaining("risk control") });
    expect(items.filter((c) => c.clip !== 3).map((c) => c.assetId)).toEqual(["as-clip-1#1", "as-clip-2#1", "as-clip-4#1", "as-clip-5#1"]);
    // Approving a set with a missing clip is refused; revising just that clip redoes only it.
    const approve = await call(`/api/shoots/${s.id}/checkpoints/clips/decision`, {
      method: "POST",
      key: s.apiKey,
      body: JSON.stringify({ action: "approve" }),
    });
    expect(approve.status).toBe(409);
    await s.decide("clips", { action: "revise", clips: [3], feedback: "a gentler move" });
    await s.pending("clips", 2);
    const after = (await s.get()).checkpoint!.artifacts;
    expect(after.assets).toEqual(["as-clip-1#1", "as-clip-2#1", "as-clip-3#2", "as-clip-4#1", "as-clip-5#1"]);
    expect(after.error).toBeUndefined();
    await s.decide("clips", { action: "approve" });
    await s.instance.waitForStatus("complete");
    expect((await s.get()).status).toBe("completed");
  });
});

describe("live events", () => {
  it("streams stage, asset and checkpoint events as Server-Sent Events, resumable by id", async () => {
    const s = await startShoot();
    await using _ = s.instance;
    await s.pending("hero", 1);
    const res = await call(`/api/shoots/${s.id}/events`, { key: s.apiKey });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("event: checkpoint.pending")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await reader.cancel();
    const types = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(types).toEqual(expect.arrayContaining(["shoot.created", "stage.started", "asset.stored", "checkpoint.pending"]));
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    // Resuming after the last id sends only what came later: nothing yet, so the first event is new.
    await s.decide("hero", { action: "approve" });
    const resumed = await call(`/api/shoots/${s.id}/events`, { key: s.apiKey, headers: { "last-event-id": String(ids[ids.length - 1]) } });
    const r2 = resumed.body!.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await r2.read();
    await r2.cancel();
    const firstId = Number(/^id: (\d+)$/m.exec(value ?? "")?.[1]);
    expect(firstId).toBeGreaterThan(ids[ids.length - 1]);
  });
});

describe("decisions that do not fit", () => {
  it("get 409, 404 or 400 and change nothing", async () => {
    const s = await startShoot();
    await using _ = s.instance;
    await s.pending("hero", 1);
    const before = await s.get();
    const post = (path: string, body: unknown) => call(path, { method: "POST", key: s.apiKey, body: typeof body === "string" ? body : JSON.stringify(body) });

    // wrong stage
    const wrong = await post(`/api/shoots/${s.id}/checkpoints/frames/decision`, { action: "approve" });
    expect(wrong.status).toBe(409);
    // unknown shoot
    expect((await post(`/api/shoots/sh_nope/checkpoints/hero/decision`, { action: "approve" })).status).toBe(404);
    // malformed bodies name the field
    const bad = await post(`/api/shoots/${s.id}/checkpoints/hero/decision`, { action: "approve-ish" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { field: string }[] }).errors[0].field).toBe("action");
    const notJson = await post(`/api/shoots/${s.id}/checkpoints/hero/decision`, "{nope");
    expect(notJson.status).toBe(400);
    const badTarget = await post(`/api/shoots/${s.id}/checkpoints/hero/decision`, { action: "revise", frames: [3], feedback: "x" });
    expect(badTarget.status).toBe(400);
    expect(((await badTarget.json()) as { errors: { field: string }[] }).errors[0].field).toBe("frames");
    const outOfRange = await post(`/api/shoots/${s.id}/checkpoints/hero/decision`, { action: "revise", feedback: "x", stitch: { fps: 500 } });
    expect(outOfRange.status).toBe(400);

    const after = await s.get();
    expect(after.checkpoints).toEqual(before.checkpoints);
    expect(after.status).toBe("awaiting_review");

    // the same decision twice: the first counts, the second is a 409
    await s.decide("hero", { action: "approve" });
    expect((await post(`/api/shoots/${s.id}/checkpoints/hero/decision`, { action: "approve" })).status).toBe(409);
    await s.pending("contact-sheet", 1);
    expect((await s.get()).checkpoints.filter((c) => c.stage === "hero")).toHaveLength(1);
  });

  it("another account cannot see or decide a shoot", async () => {
    const s = await startShoot();
    await using _ = s.instance;
    await s.pending("hero", 1);
    const other = await newAccount("other studio");
    expect((await call(`/api/shoots/${s.id}`, { key: other.apiKey })).status).toBe(404);
    const r = await call(`/api/shoots/${s.id}/checkpoints/hero/decision`, { method: "POST", key: other.apiKey, body: JSON.stringify({ action: "approve" }) });
    expect(r.status).toBe(404);
    expect((await s.get()).checkpoint).toMatchObject({ stage: "hero" });
  });
});

/**
 * Media jobs (crop, reframe, stitch) that fail, never answer, or land on the dead-letter queue: each
 * opens its stage's checkpoint with the reason, keeps what was made, and a revise redoes just that
 * job. The enqueue, wait, re-dispatch, give-up and dead-letter paths are the real code; only the
 * media service's own answers are stand-ins (it does not run inside workerd).
 */
describe("media job failures", () => {
  /** The media service's answer to a job, as the queue consumer would report it. */
  const answered = async (m: Modifier, name: string, jobId: string, outputs: string[]) => {
    await m.mockEvent({ type: `job-${jobId}`, payload: { status: "succeeded" } });
    const assets = Object.fromEntries(outputs.map((o) => [o, { assetId: `as-${name}-${o}`, key: `test/${name}/${o}`, width: 100, height: 100 }]));
    await m.mockStepResult({ name: `record ${name}` }, { ok: true, assets, details: { boxes: [], confidence: 0.97 } });
  };
  const frameNames = [1, 2, 3, 4, 5, 6].map((i) => `frame-${i}`);
  const jobsOf = async (s: { id: string; apiKey: string }) =>
    ((await (await call(`/api/shoots/${s.id}`, { key: s.apiKey })).json()) as Shoot).jobs.filter((j) => j.type === "media");

  it("a reframe that fails opens the frames checkpoint with the reason and the cropped frames; revise redoes only the reframe", async () => {
    const s = await startShoot({
      review: ["frames"],
      aspectRatio: "4:5",
      modifyWithId: async (m, id) => {
        await m.mockStepResult({ name: "enqueue reframe#1" }, { jobId: `${id}-reframe-1` });
        await m.mockEvent({ type: `job-${id}-reframe-1`, payload: { status: "failed", error: "sharp: unsupported image format" } });
        await m.mockStepResult({ name: "enqueue reframe#2" }, { jobId: `${id}-reframe-2` });
        await answered(m, "reframe#2", `${id}-reframe-2`, frameNames);
      },
    });
    await using _ = s.instance;
    await s.pending("frames", 1);
    const first = (await s.get()).checkpoint!.artifacts;
    expect(first.error).toContain("reframe to 4:5 failed: sharp: unsupported image format");
    expect(first.failed).toMatchObject([{ item: "reframe", job: `${s.id}-reframe-1` }]);
    // The crop's frames are kept and shown; nothing was regenerated.
    expect(first.assets).toEqual(frameNames.map((f) => `as-crop#1-${f}`));
    const approve = await call(`/api/shoots/${s.id}/checkpoints/frames/decision`, {
      method: "POST",
      key: s.apiKey,
      body: JSON.stringify({ action: "approve" }),
    });
    expect(approve.status).toBe(409);
    await s.decide("frames", { action: "revise", feedback: "try the reframe again" });
    await s.pending("frames", 2);
    const second = (await s.get()).checkpoint!.artifacts;
    expect(second.error).toBeUndefined();
    expect(second.assets).toEqual(frameNames.map((f) => `as-reframe#2-${f}`));
    // Only the reframe ran again: no second crop and no frame regenerated at the provider.
    expect((await s.get()).timeline.filter((e) => e.type === "job.submitted").map((e) => (e.data as { job: string }).job)).not.toContain(`${s.id}-frame-1-2`);
  });

  it("a stitch the media service never answers opens the reel checkpoint with the reason and every clip; revise re-stitches only", async () => {
    const waits = Number(env.MEDIA_MAX_WAITS);
    const s = await startShoot({
      review: ["reel"],
      except: ["stitch#1"],
      modify: async (m) => {
        for (let w = 1; w <= waits; w++) await m.forceEventTimeout({ name: `await stitch#1#${w}` });
      },
    });
    await using _ = s.instance;
    await s.pending("reel", 1);
    const shoot = await s.get();
    const artifacts = shoot.checkpoint!.artifacts;
    expect(artifacts.error).toBe(`stitch#1: the media service gave no result after ${waits} waits of ${env.MEDIA_JOB_TIMEOUT}`);
    expect(artifacts.failed).toMatchObject([{ item: "stitch", job: `${s.id}-stitch-1` }]);
    expect(artifacts.assets).toEqual([1, 2, 3, 4, 5].map((n) => `as-clip-${n}#1`));
    // Each timed-out wait dispatched the job again; then it was given up, so nothing sends it any more.
    const [job] = (await jobsOf(s)).filter((j) => j.id === `${s.id}-stitch-1`);
    expect(job).toMatchObject({ status: "failed", error: artifacts.error });
    expect(job.dispatches).toBe(waits);
    await s.decide("reel", { action: "revise", feedback: "stitch it again" });
    await s.pending("reel", 2);
    expect((await s.get()).checkpoint!.artifacts.assets).toEqual(["as-stitch#2-reel", "as-stitch#2-poster"]);
    // No clip was made again.
    expect(shoot.assets.filter((a) => a.kind === "clip")).toEqual((await s.get()).assets.filter((a) => a.kind === "clip"));
  });

  it("a crop whose every delivery fails lands on the dead-letter queue, which opens the frames checkpoint with the reason; revise crops again", async () => {
    const s = await startShoot({ review: ["frames"], except: ["crop#1"] });
    await using _ = s.instance;
    // The real queue: the consumer cannot reach the media service here, retries, then dead-letters.
    await s.pending("frames", 1);
    const artifacts = (await s.get()).checkpoint!.artifacts;
    expect(artifacts.error).toMatch(/^the media service could not run this job: every delivery of it failed \(last: .+\)$/);
    expect(artifacts.failed).toMatchObject([{ item: "crop", job: `${s.id}-crop-1` }]);
    // The contact sheet it was cutting is kept and shown.
    expect(artifacts.assets).toEqual(["as-contact-sheet#1"]);
    const [job] = await jobsOf(s);
    expect(job).toMatchObject({ id: `${s.id}-crop-1`, status: "failed" });
    expect((await s.get()).timeline).toContainEqual(
      expect.objectContaining({ type: "job.failed", data: expect.objectContaining({ job: job.id, by: "dead-letter" }) }),
    );
    await s.decide("frames", { action: "revise", feedback: "crop it again" });
    await s.pending("frames", 2);
    expect((await s.get()).checkpoint!.artifacts.assets).toEqual(frameNames.map((f) => `as-crop#2-${f}`));
  }, 240_000);
});

/** A check's flag on one job input, as the media service words it. */
const flag = (asset: string, check: Finding["check"] = "garment-colour"): Finding => ({
  asset,
  check,
  verdict: "flag",
  score: 18,
  threshold: 10,
  region: { x: 0.3, y: 0.35, w: 0.4, h: 0.3 },
  reason: "garment colour drifted: ΔE00 18 from the reference's brown",
});

describe("quality gate", () => {
  const gated = { referenceRoles: ["model", "garment"], reviewPolicy: "flagged" as const };

  it("review flagged: stages whose checks pass approve themselves; a flagged clip waits, showing the finding on its asset", async () => {
    const s = await startShoot({
      ...gated,
      checks: { "check-clips#1": [{ ...flag("clip-3", "clip-stability"), region: undefined, timeRange: { from: 1, to: 2.5 } }] },
    });
    await using _ = s.instance;
    await s.pending("clips", 1);
    const shoot = await s.get();
    expect(shoot.checkpoints.map((c) => [c.stage, c.status])).toEqual([
      ["plan", "auto_approved"],
      ["hero", "auto_approved"],
      ["contact-sheet", "auto_approved"],
      ["frames", "auto_approved"],
      ["clips", "pending"],
    ]);
    const quality = shoot.checkpoint!.artifacts.quality!;
    expect(quality.flagged).toBe(1);
    expect(quality.findings[0]).toMatchObject({ asset: "as-clip-3#1", check: "clip-stability", verdict: "flag", timeRange: { from: 1, to: 2.5 } });
    expect(shoot.flagged).toBe(1);
    const pending = shoot.timeline.find((e) => e.type === "checkpoint.pending");
    expect(pending?.data).toMatchObject({ stage: "clips", flagged: 1 });
    // Without a judge configured the hero is measured, the clips are measured; the sheet and frames are not.
    expect(shoot.timeline.filter((e) => e.type === "check.completed").map((e) => (e.data as { stage: string }).stage)).toEqual(["hero", "clips"]);
    // A mark must be on something the checkpoint shows.
    const bad = await call(`/api/shoots/${s.id}/checkpoints/clips/decision`, {
      method: "POST",
      key: s.apiKey,
      body: JSON.stringify({ action: "revise", marks: [{ asset: "as-hero#1", region: { x: 0.1, y: 0.1, w: 0.2, h: 0.2 }, reason: "sharper" }] }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("marks[0].asset");
    await s.decide("clips", { action: "approve" });
    await s.instance.waitForStatus("complete");
    expect((await s.get()).status).toBe("completed");
  });

  it("autoFix: a flagged hero is made once more with its findings in the prompt, checked again, and goes on when it passes", async () => {
    const s = await startShoot({ ...gated, autoFix: true, checks: { "check-hero#1": [flag("hero")] } });
    await using _ = s.instance;
    await s.instance.waitForStatus("complete");
    const shoot = await s.get();
    const hero = shoot.checkpoints.find((c) => c.stage === "hero")!;
    expect(hero.status).toBe("auto_approved");
    expect(hero.artifacts.assets).toEqual(["as-hero#2"]);
    expect(hero.artifacts.quality).toMatchObject({ flagged: 0, autoFixed: ["hero"] });
    expect(shoot.autoFixed).toBe(1);
    expect(shoot.flagged).toBe(0);
  });

  it("autoFix: a hero still flagged after its one fix waits for a person with the new finding", async () => {
    const s = await startShoot({ ...gated, autoFix: true, checks: { "check-hero#1": [flag("hero")], "check-hero#2": [flag("hero", "identity")] } });
    await using _ = s.instance;
    await s.pending("hero", 1);
    const quality = (await s.get()).checkpoint!.artifacts.quality!;
    expect(quality).toMatchObject({ flagged: 1, autoFixed: ["hero"] });
    expect(quality.findings[0]).toMatchObject({ asset: "as-hero#2", check: "identity" });
    await s.decide("hero", { action: "cancel" });
  });

  it("the flagged policy needs to know which reference is what", async () => {
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 2);
    const res = await call("/api/shoots", {
      method: "POST",
      key: apiKey,
      body: JSON.stringify({ brief: "a gated shoot", references: refs, reviewPolicy: "flagged" }),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain("referenceRoles");
    const wrong = await call("/api/shoots", {
      method: "POST",
      key: apiKey,
      body: JSON.stringify({ brief: "a gated shoot", references: refs, referenceRoles: ["garment"] }),
    });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(await wrong.json())).toContain("referenceRoles");
  });
});

describe("deliver stage", () => {
  it("a shoot with channels starts its pack when the reel is approved; the pack's workflow records it ready", async () => {
    const s = await startShoot({ review: [], channels: ["reels", "shopify"] });
    await using _ = s.instance;
    const packId = `${s.id}-pack-1`;
    // The pack's own workflow, its media job replaced at the step boundaries like the shoot's.
    await using pack = await introspectWorkflowInstance(env.DELIVER, packId);
    await pack.modify(async (m) => {
      await m.disableSleeps();
      await m.mockStepResult(
        { name: "load" },
        {
          params: {},
          channels: [{ name: "reels", label: "Reels", media: "video", width: 1080, height: 1920, margin: 0.04, format: "mp4", codec: "h264", fill: "blur" }],
          sources: { reel: "test/reel", hero: "test/hero", frames: ["test/frame-1"], cuts: [1.5] },
        },
      );
      await m.mockStepResult({ name: "enqueue pack#1" }, { jobId: packId });
      await m.mockEvent({ type: `job-${packId}`, payload: { status: "succeeded" } });
      await m.mockStepResult({ name: "record pack#1" }, { ok: true, assets: {}, details: {} });
    });
    await s.instance.waitForStatus("complete");
    expect((await s.get()).status).toBe("completed");
    await pack.waitForStatus("complete");

    const res = await call(`/api/shoots/${s.id}/pack`, { key: s.apiKey });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { id: string; version: number; status: string; channels: { name: string; width: number; height: number }[] };
    expect(body).toMatchObject({ id: packId, version: 1, status: "ready" });
    // The shoot's choice, resolved to the default specs when the shoot was created.
    expect(body.channels.map((c) => [c.name, c.width, c.height])).toEqual([
      ["reels", 1080, 1920],
      ["shopify", 2048, 2048],
    ]);
    const types = (await s.get()).timeline.map((e) => e.type);
    expect(types).toContain("pack.started");
    expect(types).toContain("pack.ready");
  });

  it("a shoot without channels makes no pack", async () => {
    const s = await startShoot({ review: [] });
    await using _ = s.instance;
    await s.instance.waitForStatus("complete");
    expect((await call(`/api/shoots/${s.id}/pack`, { key: s.apiKey })).status).toBe(404);
  });
});
