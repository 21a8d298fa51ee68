/**
 * A stranded instance, made on purpose: the runtime is SIGKILLed while the plan step is inside its
 * provider call (the simulator is paused with SIGSTOP, so the call hangs) and there is no job row
 * or checkpoint for anything outside to act on. After the restart the local Workflows engine does
 * not resume the instance by itself (shown: no progress while below the threshold); the watchdog
 * then finds it (running, nothing pending, idle past STRANDED_AFTER), sends it a `wake` event, and
 * the shoot completes. The raw logs of the whole run are then checked for secrets.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, startTestStack, until } from "./helpers.ts";
import { findSecrets } from "../../scripts/log-secrets.ts";
import { isFinalStatus } from "../../src/domain/contract.ts";

interface Shoot {
  status: string;
  stage: string;
  error: string | null;
  assets: { kind: string; index: number; version: number }[];
  timeline: { type: string; at: string }[];
}

describe("a shoot stranded by a runtime crash mid-step is woken by the watchdog", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  beforeAll(async () => {
    env = await startTestStack(
      "stranded",
      23100,
      { STRANDED_AFTER: "30 seconds", MEDIA_JOB_TIMEOUT: "15 seconds", PROVIDER_WAIT_TIMEOUT: "20 seconds" },
      { SIM_CLIP_SECONDS: "2" },
      { rawLogs: true },
    );
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it("completes after a wake, and no log line carries a secret", async () => {
    const api = client(env.stack);
    const get = async () => (await api<Shoot>("GET", `/api/shoots/${id}`)).body;
    const sim = env.stack.procs.get("sim")!;

    const form = new FormData();
    const png = await sharp({ create: { width: 320, height: 480, channels: 3, background: { r: 120, g: 80, b: 60 } } })
      .png()
      .toBuffer();
    form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${env.stack.identity.apiKey}` }, body: form });
    expect(up.status).toBe(201);
    const refs = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);

    // The outside world hangs: the planner's call to the (simulated) Anthropic API gets no answer.
    process.kill(-sim.pid!, "SIGSTOP");
    const created = await api<{ id: string }>("POST", "/api/shoots", { brief: "studio editorial, calm", references: refs, review: [] });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await until("the plan stage to start", async () => (await get()).timeline.some((e) => e.type === "stage.started"), 60_000);
    await new Promise((r) => setTimeout(r, 3000)); // the plan step is now waiting on the provider

    await env.stack.kill("worker", "SIGKILL");
    process.kill(-sim.pid!, "SIGCONT");
    const restartedAt = Date.now();
    await env.stack.start(["worker"]);

    // Below the threshold nothing moves it: the engine does not resume the instance on its own.
    const eventsAtRestart = (await get()).timeline.length;
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - restartedAt))));
    const idle = await get();
    expect(idle.status).toBe("running");
    expect(idle.stage).toBe("plan");
    expect(idle.timeline.length).toBe(eventsAtRestart);

    const done = await until(
      "completion after the wake",
      async () => {
        const s = await get();
        if (isFinalStatus(s.status) && s.status !== "completed") throw new Error(`shoot ${s.status}: ${s.error}`);
        return s.status === "completed" ? s : null;
      },
      480_000,
      1000,
    );
    expect(done.timeline.filter((e) => e.type === "shoot.woken").length).toBeGreaterThanOrEqual(1);
    expect(env.logs.some((l) => l.includes("recovery: woke a stranded shoot") && l.includes(id))).toBe(true);
    const slots = done.assets.filter((a) => a.kind !== "reference").map((a) => `${a.kind}-${a.index}-v${a.version}`);
    expect(new Set(slots).size).toBe(slots.length);
    expect(slots).toHaveLength(16);

    // Must not leak: the API key, the signing secret, provider credentials, signed-URL signatures.
    expect(findSecrets(env.logs, env.stack)).toEqual([]);
  });
});
