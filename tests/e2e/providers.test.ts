/**
 * Providers under failure, on the whole stack (wrangler dev, the media service, the simulator):
 * a 429 burst with Retry-After at submit, a FAL submit whose answer is lost after FAL accepted it
 * (the step dies between submit and recording the request id), a clip refused by content policy,
 * and a budget cap below the shoot's cost.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CAMERA_MOVES } from "../../src/domain/shots.ts";
import { client, startTestStack, until } from "./helpers.ts";

interface Job { id: string; type: string; stage: string; attempt: number; status: string; costUsd: number | null; error: string | null; createdAt: string; completedAt: string | null }
interface Shoot {
  id: string;
  status: string;
  stage: string;
  error: string | null;
  checkpoint: { stage: string; attempt: number; artifacts: Record<string, any> } | null;
  assets: { kind: string; index: number; version: number; url: string; bytes: number }[];
  jobs: Job[];
  costs: { totalUsd: number; budgetUsd: number | null; estimatedRemainingUsd: number };
  timeline: { type: string; data: any }[];
}

describe("providers under failure", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  let api: ReturnType<typeof client>;
  const sim = async (p: string, body?: unknown) =>
    (await fetch(`${env.stack.simUrl}${p}`, { method: body ? "POST" : "GET", headers: { "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined })).json();

  beforeAll(async () => {
    env = await startTestStack("providers", 22000, {}, { SIM_CLIP_SECONDS: "1", SIM_QUIET: "1" });
    api = client(env.stack);
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  async function references(): Promise<string[]> {
    const form = new FormData();
    for (const c of [[40, 50, 90], [180, 160, 130]]) {
      const png = await sharp({ create: { width: 480, height: 640, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } }).png().toBuffer();
      form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
    }
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${env.stack.identity.apiKey}` }, body: form });
    return ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
  }
  const get = async (id: string) => (await api<Shoot>("GET", `/api/shoots/${id}`)).body;
  const at = (id: string, stage: string, attempt = 1) =>
    until(`the ${stage}#${attempt} checkpoint`, async () => {
      const s = await get(id);
      if (["failed", "cancelled", "expired", "completed"].includes(s.status)) throw new Error(`shoot ${s.status}: ${s.error}\n${env.logs.slice(-40).join("\n")}`);
      return s.checkpoint?.stage === stage && s.checkpoint.attempt === attempt ? s : null;
    }, 300_000);
  const done = (id: string) =>
    until("completion", async () => {
      const s = await get(id);
      if (["failed", "cancelled", "expired"].includes(s.status)) throw new Error(`shoot ${s.status}: ${s.error}`);
      return s.status === "completed" ? s : null;
    }, 300_000);
  const decide = (id: string, stage: string, body: unknown) => api("POST", `/api/shoots/${id}/checkpoints/${stage}/decision`, body);
  const sumOfJobs = (s: Shoot) => Math.round(s.jobs.reduce((t, j) => t + (j.costUsd ?? 0), 0) * 10000) / 10000;

  it("waits out a 429 burst, recovers a lost FAL submit answer without paying twice, and keeps good clips when one is refused", async () => {
    await sim("/__sim/faults", { rateLimitBurst: 3, retryAfterSeconds: 2 });
    const created = await api<{ id: string }>("POST", "/api/shoots", { brief: "studio editorial", references: await references(), review: ["hero", "clips"] });
    expect(created.status).toBe(201);
    const id = created.body.id;

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
    await sim("/__sim/faults", { loseSubmitResponses: 1, refusals: [{ match: CAMERA_MOVES[2].prompt.slice(0, 60), times: 1 }] });
    expect((await decide(id, "hero", { action: "approve" })).status).toBe(202);

    // 3. The clips checkpoint: clip 3 carries the provider's reason, the other four are there.
    s = await at(id, "clips");
    const items = s.checkpoint!.artifacts.clips as { clip: number; assetId: string | null; error: string | null }[];
    expect(items.map((c) => c.clip)).toEqual([1, 2, 3, 4, 5]);
    expect(items[2].assetId).toBeNull();
    expect(items[2].error).toMatch(/risk control/);
    expect(items.filter((c) => c.clip !== 3).every((c) => c.assetId && !c.error)).toBe(true);
    // A refusal is not retried blindly: clip 3 was tried once.
    expect(s.jobs.filter((j) => j.stage === "clips" && j.id.includes("-clip-3-"))).toHaveLength(1);
    expect((await decide(id, "clips", { action: "approve" })).status).toBe(409);
    expect((await decide(id, "clips", { action: "revise", clips: [3], feedback: "a gentler move" })).status).toBe(202);

    s = await at(id, "clips", 2);
    expect((s.checkpoint!.artifacts.clips as { assetId: string | null }[]).every((c) => c.assetId)).toBe(true);
    expect((await decide(id, "clips", { action: "approve" })).status).toBe(202);
    s = await done(id);

    // The lost answer was recovered from the webhook (its URL names the job): one FAL request, one asset.
    expect(s.timeline.some((e) => e.type === "job.recovered")).toBe(true);
    const simJobs = (await sim("/__sim/jobs")) as { jobs: { provider: string; model: string }[] };
    expect(simJobs.jobs.filter((j) => j.provider === "fal" && j.model.includes("nano-banana"))).toHaveLength(2);
    const slots = s.assets.filter((a) => a.kind !== "reference").map((a) => `${a.kind}-${a.index}-v${a.version}`);
    expect(new Set(slots).size).toBe(slots.length);
    expect(slots.filter((x) => x.startsWith("contact-sheet"))).toEqual(["contact-sheet-0-v1"]);
    // Clip 3 kept its first (failed) version number; the revision is version 2.
    expect(s.assets.filter((a) => a.kind === "clip" && a.index === 3).map((a) => a.version)).toEqual([2]);
    expect(s.costs.totalUsd).toBe(sumOfJobs(s));
  });

  it("stops at a budget checkpoint before the step that would pass the cap, and goes on when it is raised", async () => {
    await sim("/__sim/reset", {});
    const created = await api<{ id: string }>("POST", "/api/shoots", { brief: "studio editorial", references: await references(), review: [], budgetUsd: 1 });
    expect(created.status).toBe(201);
    const id = created.body.id;

    // Hero + sheet cost 0.30; the first clip batch (3 × 0.49) would take it to 1.77.
    let s = await at(id, "budget");
    expect(s.status).toBe("awaiting_review");
    expect(s.stage).toBe("clips");
    expect(s.checkpoint!.artifacts.budget).toMatchObject({ spentUsd: 0.3, nextUsd: 1.47, capUsd: 1, neededUsd: 1.77 });
    expect(s.costs).toMatchObject({ totalUsd: 0.3, budgetUsd: 1, estimatedRemainingUsd: 2.45 });
    expect(((await sim("/__sim/jobs")) as { jobs: { provider: string }[] }).jobs.filter((j) => j.provider === "kling")).toHaveLength(0);

    // Too little, or a stage's targets, are refused naming the field; nothing changes.
    const low = await decide(id, "budget", { action: "approve", budgetUsd: 1.5 });
    expect(low.status).toBe(400);
    expect((low.body as { errors: { field: string }[] }).errors[0].field).toBe("budgetUsd");
    expect((await decide(id, "budget", { action: "revise", feedback: "cheaper" })).status).toBe(400);
    expect((await get(id)).checkpoint?.stage).toBe("budget");

    // Raised to 2.00: the first batch runs (1.77), the second (2 × 0.49) would pass 2.00.
    expect((await decide(id, "budget", { action: "approve", budgetUsd: 2 })).status).toBe(202);
    s = await at(id, "budget", 2);
    expect(s.costs.totalUsd).toBeLessThanOrEqual(2);
    expect(s.checkpoint!.artifacts.budget).toMatchObject({ capUsd: 2, nextUsd: 0.98 });
    expect((await decide(id, "budget", { action: "approve", budgetUsd: 3 })).status).toBe(202);
    s = await done(id);
    expect(s.costs.totalUsd).toBe(2.75);
    expect(s.costs.totalUsd).toBeLessThanOrEqual(s.costs.budgetUsd!);
    expect(s.costs.totalUsd).toBe(sumOfJobs(s));
  });

  it("a premature Kling callback claiming success with a bogus video finishes nothing: each clip is read from Kling", async () => {
    await sim("/__sim/reset", {});
    // Each Kling task's "processing" callback is preceded by a forgery on the same (tokened) URL:
    // status "succeed" and a video at an address that answers nothing.
    await sim("/__sim/faults", { forgeWebhooks: true });
    const created = await api<{ id: string }>("POST", "/api/shoots", { brief: "studio editorial", references: await references(), review: [] });
    expect(created.status).toBe(201);
    const s = await done(created.body.id);
    await sim("/__sim/faults", { forgeWebhooks: false });

    type SimJob = { provider: string; webhookAttempts: { kind: string; ok: boolean }[] };
    const kling = ((await sim("/__sim/jobs")) as { jobs: SimJob[] }).jobs.filter((j) => j.provider === "kling");
    expect(kling).toHaveLength(5);
    for (const j of kling) expect(j.webhookAttempts.some((a) => a.kind === "forged-callback" && a.ok)).toBe(true);
    // Every clip is Kling's real video, and no clip job failed on the forged URL.
    const clipJobs = s.jobs.filter((j) => j.stage === "clips");
    expect(clipJobs.map((j) => j.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded", "succeeded"]);
    const clips = s.assets.filter((a) => a.kind === "clip");
    expect(clips.map((a) => a.index).sort()).toEqual([1, 2, 3, 4, 5]);
    for (const c of clips) expect(c.bytes).toBeGreaterThan(10_000);
    const by = s.timeline.filter((e) => e.type === "job.completed" && clipJobs.some((j) => j.id === e.data?.job)).map((e) => e.data.by);
    expect(by).toHaveLength(5);
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
    await sim("/__sim/faults", { holdSubmitResponseMs: 15_000, holdJobs: downloadWhileDown, webhookDelayRate: downloadWhileDown ? 0 : 1, webhookDelayMs: 10_000 });
    const created = await api<{ id: string }>("POST", "/api/shoots", { brief: "studio editorial", references: await references(), review: ["hero"] });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const falJobs = async () => ((await sim("/__sim/jobs")) as { jobs: { provider: string; model: string; status: string; error?: { detail?: { type?: string }[] } }[] }).jobs.filter((j) => j.provider === "fal");
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
