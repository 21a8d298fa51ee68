/**
 * Providers under failure, on the whole stack (wrangler dev, the media service, the simulator):
 * a 429 burst with Retry-After at submit, a FAL submit whose answer is lost after FAL accepted it
 * (the step dies between submit and recording the request id), a clip and a hero refused by content
 * policy (counted at the simulator: tried once), and a budget cap below the shoot's cost. The API is
 * called through its generated types (openapi-fetch, as the UI does); costs come from the price table.
 */
import path from "node:path";
import createClient from "openapi-fetch";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonc } from "../../common/jsonc.ts";
import { ROOT } from "../../scripts/stack.ts";
import type { components, paths } from "../../src/api/openapi.gen.ts";
import { priceOf } from "../../src/lib/prices.ts";
import { contractFetch, startTestStack, until } from "./helpers.ts";
import { isFinalStatus } from "../../src/domain/contract.ts";

type Decision = components["schemas"]["Decision"];
type SimJob = { provider: string; model: string; externalId?: string; status: string; error?: string; webhookAttempts: { kind: string; ok: boolean }[] };

// Expected costs come from the price table the Worker runs with (wrangler.jsonc vars, read by
// src/lib/prices.ts), not from literals: a price change moves the test with it.
const VARS = (readJsonc(path.join(ROOT, "wrangler.jsonc")) as { vars: Record<string, string> }).vars;
const IMAGE_USD = priceOf({ PRICES: VARS.PRICES }, VARS.IMAGE_MODEL)!;
const CLIP_USD = priceOf({ PRICES: VARS.PRICES }, VARS.CLIP_MODEL)!;
/** Clips are submitted in batches of CLIP_CONCURRENCY; the budget is checked before each batch. */
const CLIP_BATCH = Number(VARS.CLIP_CONCURRENCY);
const CLIPS = 5;
const usd = (n: number) => Math.round(n * 10000) / 10000;

describe("providers under failure", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  // The API through its generated types (as the UI calls it), every answer checked against the document.
  let api: ReturnType<typeof createClient<paths>>;
  const sim = async (p: string, body?: unknown) =>
    (
      await fetch(`${env.stack.simUrl}${p}`, {
        method: body ? "POST" : "GET",
        headers: { "content-type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      })
    ).json();
  const simJobs = async () => ((await sim("/__sim/jobs")) as { jobs: SimJob[] }).jobs;

  beforeAll(async () => {
    env = await startTestStack("providers", 22000, {}, { SIM_CLIP_SECONDS: "1", SIM_QUIET: "1" });
    api = createClient<paths>({ baseUrl: env.stack.url, fetch: contractFetch(env.stack), headers: { authorization: `Bearer ${env.stack.identity.apiKey}` } });
    expect(IMAGE_USD).toBeGreaterThan(0);
    expect(CLIP_USD).toBeGreaterThan(0);
    expect(CLIP_BATCH).toBeGreaterThanOrEqual(2);
    expect(CLIP_BATCH).toBeLessThan(CLIPS);
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  async function references(): Promise<string[]> {
    const form = new FormData();
    for (const c of [
      [40, 50, 90],
      [180, 160, 130],
    ]) {
      const png = await sharp({ create: { width: 480, height: 640, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } })
        .png()
        .toBuffer();
      form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
    }
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${env.stack.identity.apiKey}` }, body: form });
    return ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
  }
  const get = async (id: string) => {
    const { data, response } = await api.GET("/api/shoots/{id}", { params: { path: { id } } });
    if (!data) throw new Error(`GET /api/shoots/${id} answered ${response.status}`);
    return data;
  };
  const create = async (body: components["schemas"]["CreateShoot"]) => {
    const { data, response } = await api.POST("/api/shoots", { body });
    expect(response.status).toBe(201);
    return data!.id;
  };
  const at = (id: string, stage: string, attempt = 1) =>
    until(
      `the ${stage}#${attempt} checkpoint`,
      async () => {
        const s = await get(id);
        if (isFinalStatus(s.status)) throw new Error(`shoot ${s.status}: ${s.error}\n${env.logs.slice(-40).join("\n")}`);
        return s.checkpoint?.stage === stage && s.checkpoint.attempt === attempt ? s : null;
      },
      300_000,
    );
  const done = (id: string) =>
    until(
      "completion",
      async () => {
        const s = await get(id);
        if (isFinalStatus(s.status) && s.status !== "completed") throw new Error(`shoot ${s.status}: ${s.error}`);
        return s.status === "completed" ? s : null;
      },
      300_000,
    );
  const decide = async (id: string, stage: components["schemas"]["CheckpointStage"], body: Decision) => {
    const { data, error, response } = await api.POST("/api/shoots/{id}/checkpoints/{stage}/decision", { params: { path: { id, stage } }, body });
    return { status: response.status, body: data ?? error };
  };
  const sumOfJobs = (s: { jobs: { costUsd: number | null }[] }) => usd(s.jobs.reduce((t, j) => t + (j.costUsd ?? 0), 0));

  it("waits out a 429 burst, recovers a lost FAL submit answer without paying twice, and keeps good clips when one is refused", async () => {
    await sim("/__sim/faults", { rateLimitBurst: 3, retryAfterSeconds: 2 });
    const id = await create({ brief: "studio editorial", references: await references(), review: ["hero", "clips"] });

    // 1. Three 429s with Retry-After: 2, each a job row with its error, each next try ≥ 2 s later.
    let s = await at(id, "hero");
    const hero = s.jobs.filter((j) => j.stage === "hero").sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    expect(hero.map((j) => j.status)).toEqual(["failed", "failed", "failed", "succeeded"]);
    for (const j of hero.slice(0, 3)) expect(j.error).toMatch(/FAL 429/);
    for (let i = 1; i < hero.length; i++) {
      expect(Date.parse(hero[i].createdAt) - Date.parse(hero[i - 1].completedAt!)).toBeGreaterThanOrEqual(1900);
    }
    expect(s.checkpoint!.artifacts.assets).toHaveLength(1);

    // 2. The contact sheet's submit answer is lost after FAL queued it; clip 3's move is refused once.
    // The move comes from this shoot's plan (the planner's words, whichever planner made it).
    const move3 = s.plan!.motions[2].prompt;
    await sim("/__sim/faults", { loseSubmitResponses: 1, refusals: [{ match: JSON.stringify(move3).slice(1, 61), times: 1 }] });
    expect((await decide(id, "hero", { action: "approve" })).status).toBe(202);

    // 3. The clips checkpoint: clip 3 carries the provider's reason, the other four are there.
    s = await at(id, "clips");
    const items = s.checkpoint!.artifacts.clips!;
    expect(items.map((c) => c.clip)).toEqual([1, 2, 3, 4, 5]);
    expect(items[2].assetId).toBeNull();
    expect(items[2].error).toMatch(/risk control/);
    expect(items.filter((c) => c.clip !== 3).every((c) => c.assetId && !c.error)).toBe(true);
    // A refusal is not retried blindly: clip 3 was tried once, in our records and at Kling itself.
    expect(s.jobs.filter((j) => j.stage === "clips" && j.id.includes("-clip-3-"))).toHaveLength(1);
    const clip3AtKling = (await simJobs()).filter((j) => j.provider === "kling" && j.externalId?.includes("-clip-3-"));
    expect(clip3AtKling.map((j) => j.status)).toEqual(["failed"]);
    expect((await simJobs()).filter((j) => j.provider === "kling")).toHaveLength(CLIPS);
    expect((await decide(id, "clips", { action: "approve" })).status).toBe(409);
    expect((await decide(id, "clips", { action: "revise", clips: [3], feedback: "a gentler move" })).status).toBe(202);

    s = await at(id, "clips", 2);
    expect(s.checkpoint!.artifacts.clips!.every((c) => c.assetId)).toBe(true);
    expect((await decide(id, "clips", { action: "approve" })).status).toBe(202);
    s = await done(id);

    // The lost answer was recovered from the webhook (its URL names the job): one FAL request, one asset.
    expect(s.timeline.some((e) => e.type === "job.recovered")).toBe(true);
    expect((await simJobs()).filter((j) => j.provider === "fal" && j.model === VARS.IMAGE_MODEL)).toHaveLength(2);
    expect((await simJobs()).filter((j) => j.provider === "kling" && j.externalId?.includes("-clip-3-"))).toHaveLength(2);
    const slots = s.assets.filter((a) => a.kind !== "reference").map((a) => `${a.kind}-${a.index}-v${a.version}`);
    expect(new Set(slots).size).toBe(slots.length);
    expect(slots.filter((x) => x.startsWith("contact-sheet"))).toEqual(["contact-sheet-0-v1"]);
    // Clip 3 kept its first (failed) version number; the revision is version 2.
    expect(s.assets.filter((a) => a.kind === "clip" && a.index === 3).map((a) => a.version)).toEqual([2]);
    expect(s.costs.totalUsd).toBe(sumOfJobs(s));
  });

  it("a hero refused by content policy is not retried: one request reached FAL, and the checkpoint gives the reason", async () => {
    await sim("/__sim/reset", {});
    // Refuse every hero that names the motif, so a blind retry would show up as a second request.
    await sim("/__sim/faults", { refusals: [{ match: "forbidden-motif", times: 5 }] });
    const id = await create({ brief: "studio editorial, forbidden-motif print", references: await references(), review: ["hero"] });
    const s = await at(id, "hero");
    expect(s.checkpoint!.artifacts.error).toMatch(/content checker/);
    expect(s.checkpoint!.artifacts.failed).toMatchObject([{ item: "hero" }]);
    const heroAtFal = (await simJobs()).filter((j) => j.provider === "fal" && j.model === VARS.IMAGE_MODEL);
    expect(heroAtFal.map((j) => j.status)).toEqual(["failed"]);
    expect(s.jobs.filter((j) => j.stage === "hero").map((j) => j.status)).toEqual(["failed"]);
    await sim("/__sim/faults", { refusals: [] });
    expect((await decide(id, "hero", { action: "cancel" })).status).toBe(202);
  });

  it("stops at a budget checkpoint before the step that would pass the cap, and goes on when it is raised", async () => {
    await sim("/__sim/reset", {});
    // A cap that the hero and the sheet fit under, and the first clip batch does not.
    const images = usd(2 * IMAGE_USD);
    const firstBatch = usd(CLIP_BATCH * CLIP_USD);
    const cap = usd(images + firstBatch / 2);
    const id = await create({ brief: "studio editorial", references: await references(), review: [], budgetUsd: cap });

    let s = await at(id, "budget");
    expect(s.status).toBe("awaiting_review");
    expect(s.stage).toBe("clips");
    expect(s.checkpoint!.artifacts.budget).toMatchObject({ spentUsd: images, nextUsd: firstBatch, capUsd: cap, neededUsd: usd(images + firstBatch) });
    expect(s.costs).toMatchObject({ totalUsd: images, budgetUsd: cap, estimatedRemainingUsd: usd(CLIPS * CLIP_USD) });
    expect((await simJobs()).filter((j) => j.provider === "kling")).toHaveLength(0);

    // Too little, or a stage's targets, are refused naming the field; nothing changes.
    const low = await decide(id, "budget", { action: "approve", budgetUsd: usd(images + firstBatch - 0.01) });
    expect(low.status).toBe(400);
    expect((low.body as { errors: { field: string }[] }).errors[0].field).toBe("budgetUsd");
    expect((await decide(id, "budget", { action: "revise", feedback: "cheaper" })).status).toBe(400);
    expect((await get(id)).checkpoint?.stage).toBe("budget");

    // Raised to just above the first batch: it runs, the second batch would pass the cap.
    const secondBatch = usd((CLIPS - CLIP_BATCH) * CLIP_USD);
    const cap2 = usd(images + firstBatch + secondBatch / 2);
    expect((await decide(id, "budget", { action: "approve", budgetUsd: cap2 })).status).toBe(202);
    s = await at(id, "budget", 2);
    expect(s.costs.totalUsd).toBeLessThanOrEqual(cap2);
    expect(s.checkpoint!.artifacts.budget).toMatchObject({ capUsd: cap2, nextUsd: secondBatch });
    expect((await decide(id, "budget", { action: "approve", budgetUsd: usd(images + firstBatch + secondBatch + 1) })).status).toBe(202);
    s = await done(id);
    // FAL reports no cost (list price); Kling reports its units, which for these clips come to the list price.
    expect(s.costs.totalUsd).toBe(usd(images + CLIPS * CLIP_USD));
    expect(s.costs.totalUsd).toBeLessThanOrEqual(s.costs.budgetUsd!);
    expect(s.costs.totalUsd).toBe(sumOfJobs(s));
  });

  it("a premature Kling callback claiming success with a bogus video finishes nothing: each clip is read from Kling", async () => {
    await sim("/__sim/reset", {});
    // Each Kling task's "processing" callback is preceded by a forgery on the same (tokened) URL:
    // status "succeed" and a video at an address that answers nothing.
    await sim("/__sim/faults", { forgeWebhooks: true });
    const s = await done(await create({ brief: "studio editorial", references: await references(), review: [] }));
    await sim("/__sim/faults", { forgeWebhooks: false });

    const kling = (await simJobs()).filter((j) => j.provider === "kling");
    expect(kling).toHaveLength(CLIPS);
    for (const j of kling) expect(j.webhookAttempts.some((a) => a.kind === "forged-callback" && a.ok)).toBe(true);
    // Every clip is Kling's real video, and no clip job failed on the forged URL.
    const clipJobs = s.jobs.filter((j) => j.stage === "clips" && j.type === "provider");
    expect(clipJobs.map((j) => j.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded", "succeeded"]);
    const clips = s.assets.filter((a) => a.kind === "clip");
    expect(clips.map((a) => a.index).sort()).toEqual([1, 2, 3, 4, 5]);
    for (const c of clips) expect(c.bytes).toBeGreaterThan(10_000);
    const by = s.timeline
      .map((e) => e as { type: string; data?: { job?: string; by?: string } })
      .filter((e) => e.type === "job.completed" && clipJobs.some((j) => j.id === e.data?.job))
      .map((e) => e.data?.by);
    expect(by).toHaveLength(CLIPS);
    for (const b of by) expect(["callback", "poll"]).toContain(b);
  });

  // The kill can land before FAL has downloaded the inputs (our signed URLs, served by the runtime
  // being killed): FAL then fails the job with a 422 file_download_error. That is our outage, not a
  // refusal, so it is tried again as a new job (a request of its own, not a second one for the job
  // whose answer was lost). Either way: one hero asset, and one FAL request per hero job row.
  // `downloadWhileDown` decides which of the two happens, by holding FAL's job until the runtime is
  // dead; otherwise the job is done before the kill and its webhook is held until after the restart.
  const killBetweenSubmitAndRecord = async (downloadWhileDown: boolean) => {
    await sim("/__sim/reset", {});
    // FAL queues the job at once but answers only 15 s later: the Worker dies in between.
    await sim("/__sim/faults", {
      holdSubmitResponseMs: 15_000,
      holdJobs: downloadWhileDown,
      webhookDelayRate: downloadWhileDown ? 0 : 1,
      webhookDelayMs: 10_000,
    });
    const id = await create({ brief: "studio editorial", references: await references(), review: ["hero"] });
    const falJobs = async () => (await simJobs()).filter((j) => j.provider === "fal");
    await until("FAL accepted the hero", async () => (await falJobs()).length >= 1, 120_000, 200);
    const before = await get(id);
    expect(before.jobs.find((j) => j.stage === "hero")?.status).toBe("submitting");
    if (!downloadWhileDown) await until("FAL made the hero", async () => (await falJobs())[0].status === "succeeded", 30_000, 100);
    await env.stack.kill("worker", "SIGKILL");
    await sim("/__sim/faults", { holdSubmitResponseMs: 0, holdJobs: false, webhookDelayRate: 0 });
    if (downloadWhileDown) await until("FAL failed to fetch the inputs", async () => (await falJobs())[0].status === "failed", 30_000, 100);
    await env.stack.start(["worker"]);

    // The replayed submit step finds the recorded intent and waits; the webhook names the job.
    const s = await at(id, "hero");
    expect(s.checkpoint!.artifacts.error).toBeUndefined();
    expect(s.timeline.some((e) => e.type === "job.recovered")).toBe(true);
    expect(s.assets.filter((a) => a.kind === "hero").map((a) => a.version)).toEqual([1]);
    const heroJobs = s.jobs.filter((j) => j.stage === "hero").sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    expect(heroJobs.some((j) => j.id.includes("-dup-"))).toBe(false);
    expect(await falJobs()).toHaveLength(heroJobs.length);
    expect(heroJobs.at(-1)!.status).toBe("succeeded");
    for (const j of heroJobs.slice(0, -1)) expect(j.error).toMatch(/Failed to download the file/);
    expect((await decide(id, "hero", { action: "cancel" })).status).toBe(202);
    return heroJobs;
  };

  it("a runtime SIGKILLed between FAL accepting the hero and the request id being recorded makes no second request and no second asset", async () => {
    // FAL has fetched the inputs before the kill: the recovered job is the only one.
    const heroJobs = await killBetweenSubmitAndRecord(false);
    expect(heroJobs.map((j) => j.status)).toEqual(["succeeded"]);
  });

  it("when FAL cannot download the inputs because the runtime is down, the hero is tried again, not refused", async () => {
    // FAL starts on the job only once the runtime is dead, so its input download fails.
    const heroJobs = await killBetweenSubmitAndRecord(true);
    expect(heroJobs.map((j) => j.status)).toEqual(["failed", "succeeded"]);
  });
});
