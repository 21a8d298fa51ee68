/**
 * Outbound webhooks through the whole stack: a one-shoot batch runs to completion, and three
 * receivers written with the `standardwebhooks` package hear about it. One verifies every delivery
 * (across a secret rotation), one answers 500 twice and gets the event on the third try, and one
 * never answers: its delivery is given up after the configured tries and shows in the delivery log.
 */
import sharp from "sharp";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, receiver, startTestStack, until } from "./helpers.ts";

describe("outbound webhooks", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  const good = receiver(() => 200);
  const flaky = receiver((n) => (n <= 2 ? 500 : 200));
  const silent = receiver(() => "hang");
  beforeAll(async () => {
    env = await startTestStack(
      "webhooks",
      19100,
      { WEBHOOK_ALLOW_LOCAL: "true", WEBHOOK_MAX_TRIES: "3", WEBHOOK_BACKOFF_SECONDS: "1", WEBHOOK_TIMEOUT: "2 seconds" },
      { SIM_CLIP_SECONDS: "1" },
    );
  });
  afterAll(async () => {
    for (const r of [good, flaky, silent]) r.close();
    await env?.cleanup();
  });

  it("signs, retries with backoff, gives up, and logs every attempt", async () => {
    const api = client(env.stack);
    const register = async (url: string, events?: string[]) => {
      const res = await api<{ id: string; secret: string }>("POST", "/api/webhook-endpoints", { url, ...(events ? { events } : {}) });
      expect(res.status).toBe(201);
      expect(res.body.secret).toMatch(/^whsec_/);
      return res.body;
    };
    const goodEp = await register(await good.listen());
    const flakyEp = await register(await flaky.listen(), ["checkpoint.pending"]);
    const silentEp = await register(await silent.listen(), ["checkpoint.pending"]);
    // The secret is shown once: reads never carry it.
    expect(JSON.stringify((await api("GET", `/api/webhook-endpoints/${goodEp.id}`)).body)).not.toContain(goodEp.secret);

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
    const batch = await api<{ id: string; shoots: { id: string }[] }>("POST", "/api/batches", {
      review: ["hero"],
      shoots: [{ brief: "linen suit, harbour at dawn", references: refs }],
    });
    expect(batch.status).toBe(202);
    const shootId = batch.body.shoots[0].id;

    // checkpoint.pending reaches the good receiver, verified with its secret.
    const first = await until("checkpoint.pending delivered", async () => good.got[0], 240_000);
    const pending = new Webhook(goodEp.secret).verify(first.body, first.headers) as { type: string; data: { shootId: string; stage: string } };
    expect(pending).toMatchObject({ type: "checkpoint.pending", data: { shootId, stage: "hero" } });

    // Rotate: until the old secret's overlap ends, deliveries carry both signatures.
    const rotated = await api<{ secret: string }>("POST", `/api/webhook-endpoints/${goodEp.id}/rotate-secret`, {});
    expect(rotated.status).toBe(200);
    expect((await api("POST", `/api/shoots/${shootId}/checkpoints/hero/decision`, { action: "approve" })).status).toBe(202);
    await until("shoot.completed and batch.completed delivered", async () => good.got.length >= 3, 600_000, 1000);
    for (const d of good.got.slice(1)) {
      expect(d.headers["webhook-signature"].split(" ")).toHaveLength(2);
      expect(new Webhook(rotated.body.secret).verify(d.body, d.headers)).toBeTruthy();
      expect(new Webhook(goodEp.secret).verify(d.body, d.headers)).toBeTruthy();
    }
    expect(good.got.map((d) => (JSON.parse(d.body) as { type: string }).type).sort()).toEqual(["batch.completed", "checkpoint.pending", "shoot.completed"]);
    // A forged or replayed-with-new-body delivery does not verify.
    expect(() => new Webhook(rotated.body.secret).verify(good.got[1].body.replace("completed", "failed"), good.got[1].headers)).toThrow();

    // 500, 500, then 200: the same webhook-id every time, a fresh signature each try.
    expect(flaky.got).toHaveLength(3);
    expect(new Set(flaky.got.map((d) => d.headers["webhook-id"])).size).toBe(1);
    for (const d of flaky.got) expect(new Webhook(flakyEp.secret).verify(d.body, d.headers)).toBeTruthy();
    const flakyLog = await api<{ deliveries: { status: string; attempts: number; attemptLog: { status: number | null }[] }[] }>(
      "GET",
      `/api/webhook-endpoints/${flakyEp.id}/deliveries`,
    );
    expect(flakyLog.body.deliveries).toHaveLength(1);
    expect(flakyLog.body.deliveries[0]).toMatchObject({ status: "succeeded", attempts: 3 });
    expect(flakyLog.body.deliveries[0].attemptLog.map((a) => a.status)).toEqual([500, 500, 200]);

    // Never answers: three tries that time out, then given up, all in the log.
    const silentLog = await until(
      "the silent delivery given up",
      async () => {
        const r = await api<{
          deliveries: { status: string; attempts: number; lastError: string; attemptLog: { status: number | null; error: string; durationMs: number }[] }[];
        }>("GET", `/api/webhook-endpoints/${silentEp.id}/deliveries`);
        return r.body.deliveries[0]?.status === "failed" ? r.body.deliveries[0] : null;
      },
      120_000,
      1000,
    );
    expect(silent.got).toHaveLength(3);
    expect(silentLog.attempts).toBe(3);
    expect(silentLog.lastError).toMatch(/gave up after 3 tries/);
    expect(silentLog.attemptLog.map((a) => a.status)).toEqual([null, null, null]);
    for (const a of silentLog.attemptLog) expect(a.durationMs).toBeGreaterThanOrEqual(1900);
  });
});
