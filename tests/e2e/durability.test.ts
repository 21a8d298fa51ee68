/**
 * Durability: the Worker runtime (wrangler dev and its workerd) and the media service are SIGKILLed
 * three times during one shoot: while it waits at a checkpoint, while clip jobs are in flight at the
 * provider, and while the stitch job's queue message is pending (the media service already down, so
 * the message is lost and the job must be sent again). The simulator, standing for the outside
 * world, keeps running. After each restart the shoot goes on, and it completes with every asset
 * present exactly once.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Shoot } from "../../src/api/types.ts";
import { client, startTestStack, until } from "./helpers.ts";
import { isFinalStatus } from "../../src/domain/contract.ts";

describe("a shoot survives SIGKILL of the runtime and the media service", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  beforeAll(async () => {
    // Short waits so a lost queue message is re-dispatched within seconds, not minutes.
    env = await startTestStack("durability", 18800, { MEDIA_JOB_TIMEOUT: "15 seconds", PROVIDER_WAIT_TIMEOUT: "20 seconds" }, { SIM_CLIP_SECONDS: "3" });
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it("completes with every asset exactly once", async () => {
    const api = client(env.stack);
    const sim = (p: string, body?: unknown) =>
      fetch(`${env.stack.simUrl}${p}`, {
        method: body ? "POST" : "GET",
        headers: { "content-type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      }).then((r) => r.json());
    const get = async () => (await api<Shoot>("GET", `/api/shoots/${id}`)).body;
    const atCheckpoint = (stage: string) =>
      until(
        `the ${stage} checkpoint`,
        async () => {
          const s = await get();
          if (isFinalStatus(s.status) && s.status !== "completed") throw new Error(`shoot ${s.status}: ${s.error}\n${env.logs.slice(-40).join("\n")}`);
          return s.checkpoint?.stage === stage ? s : null;
        },
        300_000,
      );
    const approve = async (stage: string) =>
      expect((await api("POST", `/api/shoots/${id}/checkpoints/${stage}/decision`, { action: "approve" })).status).toBe(202);
    const killAndRestart = async () => {
      await env.stack.kill("worker", "SIGKILL");
      await env.stack.kill("media", "SIGKILL");
      await env.stack.start(["media", "worker"]);
    };

    const form = new FormData();
    for (const c of [
      [30, 40, 90],
      [190, 170, 140],
    ]) {
      const png = await sharp({ create: { width: 480, height: 640, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } })
        .png()
        .toBuffer();
      form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
    }
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${env.stack.identity.apiKey}` }, body: form });
    const refs = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
    const created = await api<{ id: string }>("POST", "/api/shoots", { brief: "industrial editorial", references: refs, idempotencyKey: "durability-1" });
    expect(created.status).toBe(201);
    const id = created.body.id;

    // 1. Killed while waiting at a checkpoint.
    await atCheckpoint("hero");
    await killAndRestart();
    expect((await get()).checkpoint?.stage).toBe("hero");
    await approve("hero");
    await atCheckpoint("contact-sheet");
    await approve("contact-sheet");

    // 2. Killed while clip jobs are in flight at the provider (the simulator holds them back).
    await atCheckpoint("frames");
    await sim("/__sim/faults", { clipDelayMs: 15_000 });
    await approve("frames");
    await until("clip jobs submitted", async () => (await get()).jobs.some((j) => j.stage === "clips" && j.status === "submitted"));
    await killAndRestart();
    await sim("/__sim/faults", { clipDelayMs: 0 });
    await atCheckpoint("clips");

    // 3. Killed while the stitch job is queued; its queue message dies with the runtime. The media
    // service is down from before the dispatch, so the stitch cannot finish before the kill and the
    // only way on is the workflow (or the watchdog) sending the same job again.
    await env.stack.kill("media", "SIGKILL");
    await approve("clips");
    const queued = await until(
      "the stitch job dispatched",
      async () => (await get()).jobs.find((j) => j.model === "stitch" && j.dispatches >= 1) ?? null,
      120_000,
      100,
    );
    await killAndRestart();
    expect(queued.status).not.toBe("succeeded");
    await atCheckpoint("reel");
    await approve("reel");
    const done = await until("completion", async () => {
      const s = await get();
      return s.status === "completed" ? s : null;
    });

    // Every asset exactly once: one row per kind, index and version, each object readable.
    const slots = done.assets.filter((a) => a.kind !== "reference").map((a) => `${a.kind}-${a.index}-v${a.version}`);
    expect(new Set(slots).size).toBe(slots.length);
    expect(slots.sort()).toEqual(
      [
        "plan-0-v1",
        "hero-0-v1",
        "contact-sheet-0-v1",
        ...[1, 2, 3, 4, 5, 6].map((i) => `frame-${i}-v1`),
        ...[1, 2, 3, 4, 5].map((i) => `clip-${i}-v1`),
        "reel-0-v1",
        "poster-0-v1",
      ].sort(),
    );
    for (const a of done.assets) {
      const res = await fetch(a.url);
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(a.bytes);
    }
    // Each provider job was submitted once (the simulator saw every request), and the lost stitch
    // message was dispatched again rather than the stitch being made twice.
    const simJobs = (await sim("/__sim/jobs")) as { jobs: { provider: string; model: string }[] };
    expect(simJobs.jobs.filter((j) => j.provider === "kling")).toHaveLength(5);
    expect(simJobs.jobs.filter((j) => j.provider === "fal" && j.model.includes("nano-banana"))).toHaveLength(2);
    const stitch = done.jobs.filter((j) => j.model === "stitch");
    expect(stitch).toHaveLength(1);
    expect(stitch[0].status).toBe("succeeded");
    expect(stitch[0].dispatches).toBeGreaterThanOrEqual(2);
  });
});
