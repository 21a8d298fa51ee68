import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FaultInjector, defaultFaults } from "../../../sim/faults.ts";
import { mintKlingJwt } from "../../../sim/keys.ts";
import { startReceiver, startTestSim, testImage, verifyFalWebhook } from "./helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe("fault injection and test hooks", () => {
  let sim: Sim;
  let rx: Receiver;

  beforeAll(async () => {
    sim = await startTestSim();
    rx = await startReceiver();
  });
  afterEach(async () => {
    await fetch(`${sim.url}/__sim/reset`, { method: "POST" });
  });
  afterAll(async () => {
    await sim?.close();
    await rx?.close();
  });

  const setFaults = async (patch: unknown) => {
    const res = await fetch(`${sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify(patch) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const falSubmit = async (webhook?: string) =>
    fetch(`${sim.url}/fal/fal-ai/nano-banana-pro${webhook ? `?fal_webhook=${encodeURIComponent(webhook)}` : ""}`, {
      method: "POST",
      headers: { authorization: "Key k", "content-type": "application/json" },
      body: JSON.stringify({ prompt: "hero, grey studio" }),
    });
  const jwks = () => `${sim.url}/fal/.well-known/jwks.json`;

  it("merges, validates, reports and resets faults", async () => {
    expect((await setFaults({ imageDelayMs: 10, duplicateWebhooks: true })).body).toMatchObject({
      imageDelayMs: 10,
      duplicateWebhooks: true,
      dropWebhooks: false,
    });
    expect((await setFaults({ jobErrorRate: 2 })).status).toBe(400);
    expect((await setFaults({ nonsense: true })).status).toBe(400);
    expect(await (await fetch(`${sim.url}/__sim/faults`)).json()).toMatchObject({ imageDelayMs: 10, duplicateWebhooks: true });
    await (await falSubmit()).json();
    expect(((await (await fetch(`${sim.url}/__sim/jobs`)).json()) as { jobs: unknown[] }).jobs).toHaveLength(1);
    await fetch(`${sim.url}/__sim/reset`, { method: "POST" });
    expect(((await (await fetch(`${sim.url}/__sim/jobs`)).json()) as { jobs: unknown[] }).jobs).toHaveLength(0);
    expect(await (await fetch(`${sim.url}/__sim/faults`)).json()).toMatchObject({ imageDelayMs: 50, duplicateWebhooks: false });
  });

  it("refuses submissions at submitErrorRate 1 in each provider's own way", async () => {
    await setFaults({ submitErrorRate: 1 });
    expect((await falSubmit()).status).toBe(503);
    const kling = await fetch(`${sim.url}/kling/v1/videos/image2video`, {
      method: "POST",
      headers: { authorization: `Bearer ${mintKlingJwt("sim-access", "sim-secret")}`, "content-type": "application/json" },
      body: JSON.stringify({ image: "http://127.0.0.1:9/x.png" }),
    });
    expect(kling.status).toBe(500);
    const anthropic = await fetch(`${sim.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "k", "content-type": "application/json" },
      body: JSON.stringify({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(anthropic.status).toBe(529);
  });

  it("fails accepted jobs at jobErrorRate 1 (ERROR webhook, 422 result)", async () => {
    await setFaults({ jobErrorRate: 1 });
    const sub = (await (await falSubmit(`${rx.url}/err`)).json()) as { request_id: string; response_url: string };
    const hit = (await rx.waitFor((h) => h.some((x) => x.path === "/err"))).find((x) => x.path === "/err")!;
    expect(JSON.parse(hit.body)).toMatchObject({ request_id: sub.request_id, status: "ERROR", payload: { detail: [{ type: "content_policy_violation" }] } });
    expect(await verifyFalWebhook(hit, jwks())).toBe(true);
    expect((await fetch(sub.response_url, { headers: { authorization: "Key k" } })).status).toBe(422);
  });

  it("duplicates, drops and forges webhooks on request", async () => {
    await setFaults({ duplicateWebhooks: true });
    const dup = (await (await falSubmit(`${rx.url}/dup`)).json()) as { request_id: string };
    const dups = (await rx.waitFor((h) => h.filter((x) => x.path === "/dup").length >= 2)).filter((x) => x.path === "/dup");
    expect(dups.map((d) => d.body)).toEqual([dups[0].body, dups[0].body]);
    for (const d of dups) expect(await verifyFalWebhook(d, jwks())).toBe(true);
    await sim.state.idle();
    expect(sim.state.jobs.get(dup.request_id)?.webhookDeliveries).toBe(2);

    await setFaults({ duplicateWebhooks: false, dropWebhooks: true });
    const dropped = (await (await falSubmit(`${rx.url}/drop`)).json()) as { request_id: string };
    for (let i = 0; i < 1000 && sim.state.jobs.get(dropped.request_id)?.status !== "succeeded"; i++) await new Promise((r) => setTimeout(r, 20));
    await sim.state.idle();
    expect(rx.hits.filter((h) => h.path === "/drop")).toHaveLength(0);
    expect(sim.state.jobs.get(dropped.request_id)?.webhookLog.map((a) => a.kind)).toEqual(["dropped"]);

    await setFaults({ dropWebhooks: false, forgeWebhooks: true });
    const forged = (await (await falSubmit(`${rx.url}/forge`)).json()) as { request_id: string };
    const three = (await rx.waitFor((h) => h.filter((x) => x.path === "/forge").length >= 3)).filter((x) => x.path === "/forge");
    expect(await verifyFalWebhook(three[0], jwks())).toBe(false); // tampered body
    expect(await verifyFalWebhook(three[1], jwks())).toBe(false); // stale timestamp…
    expect(await verifyFalWebhook(three[1], jwks(), 10_000)).toBe(true); // …though genuinely signed
    expect(await verifyFalWebhook(three[2], jwks())).toBe(true);
    expect(JSON.parse(three[2].body)).toMatchObject({ request_id: forged.request_id, status: "OK" });
  });

  it("forges a premature Kling 'succeed' callback that a GET re-check exposes", async () => {
    await setFaults({ forgeWebhooks: true, clipDelayMs: 1500 });
    const image = rx.addImage("k.png", await testImage(320, 320, "#703030", "#303070"));
    const res = await fetch(`${sim.url}/kling/v1/videos/image2video`, {
      method: "POST",
      headers: { authorization: `Bearer ${mintKlingJwt("sim-access", "sim-secret")}`, "content-type": "application/json" },
      body: JSON.stringify({ image, callback_url: `${rx.url}/kcb` }),
    });
    const { data } = (await res.json()) as { data: { task_id: string } };
    const first = (await rx.waitFor((h) => h.some((x) => x.path === "/kcb"))).find((x) => x.path === "/kcb")!;
    expect(JSON.parse(first.body)).toMatchObject({ task_id: data.task_id, task_status: "succeed" });
    const check = (await (
      await fetch(`${sim.url}/kling/v1/videos/image2video/${data.task_id}`, {
        headers: { authorization: `Bearer ${mintKlingJwt("sim-access", "sim-secret")}` },
      })
    ).json()) as { data: { task_status: string } };
    expect(check.data.task_status).toBe("processing");
  });

  it("draws error rates from a seeded generator", () => {
    const draw = (seed: number) => {
      const f = new FaultInjector({ ...defaultFaults({ imageDelayMs: 0, clipDelayMs: 0 }), jobErrorRate: 0.5, seed });
      return Array.from({ length: 32 }, () => f.failJob());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(42).filter(Boolean).length).toBeGreaterThan(4);
  });

  it("answers a 429 burst with Retry-After, then accepts again, counting what it did", async () => {
    await setFaults({ rateLimitBurst: 2, retryAfterSeconds: 2 });
    const a = await falSubmit();
    expect(a.status).toBe(429);
    expect(a.headers.get("retry-after")).toBe("2");
    const kling = await fetch(`${sim.url}/kling/v1/videos/image2video`, {
      method: "POST",
      headers: { authorization: `Bearer ${mintKlingJwt("sim-access", "sim-secret")}`, "content-type": "application/json" },
      body: JSON.stringify({ image: "http://127.0.0.1:9/x.png" }),
    });
    expect(kling.status).toBe(429);
    expect(kling.headers.get("retry-after")).toBe("2");
    expect(((await kling.json()) as { code: number }).code).toBe(1302);
    expect((await falSubmit()).status).toBe(200);
    expect(await (await fetch(`${sim.url}/__sim/faults/counts`)).json()).toMatchObject({ rateLimited: 2 });
  });

  it("refuses exactly the targeted job as a content-policy violation, as many times as asked", async () => {
    await setFaults({ refusals: [{ match: "blue jacket", times: 1 }] });
    const submit = async (prompt: string) =>
      (await (
        await fetch(`${sim.url}/fal/fal-ai/nano-banana-pro?fal_webhook=${encodeURIComponent(`${rx.url}/ref`)}`, {
          method: "POST",
          headers: { authorization: "Key k", "content-type": "application/json" },
          body: JSON.stringify({ prompt }),
        })
      ).json()) as { request_id: string };
    const refused = await submit("hero in a blue jacket");
    const fine = await submit("hero in a red jacket");
    const again = await submit("hero in a blue jacket, take two");
    const hits = await rx.waitFor((h) => h.filter((x) => x.path === "/ref").length >= 3);
    const byId = new Map(hits.filter((x) => x.path === "/ref").map((x) => [JSON.parse(x.body).request_id, JSON.parse(x.body).status]));
    expect([byId.get(refused.request_id), byId.get(fine.request_id), byId.get(again.request_id)]).toEqual(["ERROR", "OK", "OK"]);
  });

  it("drops, duplicates, delays and reorders webhooks at the configured rates, reproducibly", () => {
    const fates = (seed: number) => {
      const f = new FaultInjector({
        ...defaultFaults({ imageDelayMs: 0, clipDelayMs: 0 }),
        webhookDropRate: 0.2,
        webhookDuplicateRate: 0.1,
        webhookDelayRate: 0.1,
        webhookDelayMs: 40_000,
        webhookReorderRate: 0.1,
        seed,
      });
      const list = Array.from({ length: 2000 }, () => f.webhookFate());
      return { list, counts: f.counts };
    };
    const { list, counts } = fates(7);
    expect(fates(7).list).toEqual(list);
    // Within a few points of the rates asked for.
    expect(counts.webhooksDropped / 2000).toBeCloseTo(0.2, 1);
    expect(list.filter((x) => !x.drop && x.duplicate).length / 1600).toBeCloseTo(0.1, 1);
    expect(list.filter((x) => !x.drop && x.delayMs === 40_000).length / 1600).toBeCloseTo(0.1, 1);
    expect(list.filter((x) => !x.drop && x.reorder).length / 1600).toBeCloseTo(0.1, 1);
  });

  it("takes a run's faults from SIM_FAULTS and rejects a bad one naming the field", async () => {
    const { configFromEnv } = await import("../../../sim/config.ts");
    expect(configFromEnv({ SIM_FAULTS: '{"webhookDropRate":0.2,"rateLimitRate":0.05}' } as NodeJS.ProcessEnv).faults).toEqual({
      webhookDropRate: 0.2,
      rateLimitRate: 0.05,
    });
    expect(() => configFromEnv({ SIM_FAULTS: '{"webhookDropRate":2}' } as NodeJS.ProcessEnv)).toThrow(/webhookDropRate/);
  });
});
