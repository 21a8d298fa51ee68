import fs from "node:fs/promises";
import { createFalClient } from "@fal-ai/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import { startTestSim, startReceiver, testImage, verifyFalWebhook, type Hit } from "./helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

function falClient(sim: Sim, key = "test-fal-key") {
  // Exactly what the Worker does: point the real client at the sim by rewriting the queue host.
  return createFalClient({
    credentials: key,
    requestMiddleware: async (req) => ({ ...req, url: req.url.replace("https://queue.fal.run", `${sim.url}/fal`) }),
  });
}

async function submitRaw(sim: Sim, model: string, input: unknown, webhook?: string, key: string | null = "k") {
  const q = webhook ? `?fal_webhook=${encodeURIComponent(webhook)}` : "";
  return fetch(`${sim.url}/fal/${model}${q}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Key ${key}` } : {}) },
    body: JSON.stringify(input),
  });
}

async function waitForStatus(statusUrl: string, want = "COMPLETED", timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = (await (await fetch(statusUrl, { headers: { authorization: "Key k" } })).json()) as { status: string };
    if (s.status === want) return s;
    if (Date.now() > end) throw new Error(`status stuck at ${s.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("FAL queue API", () => {
  let sim: Sim;
  let rx: Receiver;
  let ref: string;

  beforeAll(async () => {
    sim = await startTestSim();
    rx = await startReceiver();
    ref = rx.addImage("model.png", await testImage(600, 900, "#804020", "#203040"));
  });
  afterAll(async () => {
    await sim?.close();
    await rx?.close();
  });

  it("serves submit → status → result through the real @fal-ai/client", async () => {
    const fal = falClient(sim);
    const model = "fal-ai/nano-banana-pro/edit";
    const submitted = await fal.queue.submit(model, {
      input: { prompt: "Show me a high fashion photoshoot.\nSetting: dark void backdrop", image_urls: [ref], resolution: "1K" },
    });
    expect(submitted.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(submitted.status).toBe("IN_QUEUE");
    expect(submitted.status_url).toBe(`${sim.url}/fal/fal-ai/nano-banana-pro/requests/${submitted.request_id}/status`);
    expect(submitted.response_url).toBe(`${sim.url}/fal/fal-ai/nano-banana-pro/requests/${submitted.request_id}`);

    const seen: string[] = [];
    const done = await fal.queue.subscribeToStatus(model, {
      requestId: submitted.request_id,
      pollInterval: 50,
      logs: true,
      onQueueUpdate: (u) => seen.push(u.status),
    });
    expect(done.status).toBe("COMPLETED");
    expect(seen).toContain("COMPLETED");

    const result = await fal.queue.result(model, { requestId: submitted.request_id });
    expect(result.requestId).toBe(submitted.request_id);
    const data = result.data as { images: { url: string; content_type: string; width: number; height: number; file_size: number }[]; description: string };
    expect(data.images).toHaveLength(1);
    const img = data.images[0];
    expect(img).toMatchObject({ content_type: "image/png", width: 848, height: 1264 }); // 'auto' → 2:3 at 1K
    const res = await fetch(img.url);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(Number(res.headers.get("content-length"))).toBe(img.file_size);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([848, 1264]);

    // The hand-built status endpoint (what a Workflow poll fallback uses) agrees.
    const st = await fetch(submitted.status_url, { headers: { authorization: "Key k" } });
    expect(st.status).toBe(200);
    expect(await st.json()).toMatchObject({ status: "COMPLETED", request_id: submitted.request_id });
  });

  it("rejects requests without a key, and a wrong key when SIM_FAL_KEY is pinned", async () => {
    expect((await submitRaw(sim, "fal-ai/nano-banana-pro/edit", { prompt: "x" }, undefined, null)).status).toBe(401);
    const pinned = await startTestSim({ config: { falKey: "the-right-key" } });
    try {
      expect((await submitRaw(pinned, "fal-ai/nano-banana-pro", { prompt: "x" }, undefined, "wrong")).status).toBe(401);
      expect((await submitRaw(pinned, "fal-ai/nano-banana-pro", { prompt: "x" }, undefined, "the-right-key")).status).toBe(200);
    } finally {
      await pinned.close();
    }
  });

  it("POSTs a webhook whose Ed25519 signature verifies against the JWKS (and a tampered body does not)", async () => {
    const hook = `${rx.url}/webhooks/fal?shoot=s1&token=secret`;
    const before = rx.hits.length;
    const res = await submitRaw(sim, "fal-ai/nano-banana-pro/edit", { prompt: "Show me a hero", image_urls: [ref] }, hook);
    const { request_id } = (await res.json()) as { request_id: string };
    const hits = await rx.waitFor((h) => h.length > before);
    const hit = hits[before];
    expect(hit.path).toBe("/webhooks/fal?shoot=s1&token=secret");
    const body = JSON.parse(hit.body) as { request_id: string; gateway_request_id: string; status: string; payload: { images: unknown[] } };
    expect(body).toMatchObject({ request_id, status: "OK" });
    expect(body.gateway_request_id).toBeTruthy();
    expect(body.payload.images).toHaveLength(1);
    expect(hit.headers["x-fal-webhook-request-id"]).toBe(request_id);
    expect(Number(hit.headers["x-fal-webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -2);

    const jwksUrl = `${sim.url}/fal/.well-known/jwks.json`;
    expect(await verifyFalWebhook(hit, jwksUrl)).toBe(true);
    expect(await verifyFalWebhook({ ...hit, body: hit.body.replace('"OK"', '"ERROR"') }, jwksUrl)).toBe(false);
    expect(await verifyFalWebhook({ ...hit, headers: { ...hit.headers, "x-fal-webhook-user-id": "someone-else" } }, jwksUrl)).toBe(false);
  });

  it("keeps its signing key across restarts (same stateDir)", async () => {
    const first = await startTestSim({ keepState: true });
    const jwks1 = await (await fetch(`${first.url}/fal/.well-known/jwks.json`)).json();
    await first.close();
    const second = await startTestSim({ stateDir: first.stateDir });
    const jwks2 = await (await fetch(`${second.url}/fal/.well-known/jwks.json`)).json();
    await second.close();
    await fs.rm(first.stateDir, { recursive: true, force: true });
    expect(jwks2).toEqual(jwks1);
    expect((jwks1 as { keys: { kty: string; crv: string; x: string }[] }).keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519" });
  });

  it("retries delivery while the receiver answers 503, then succeeds", async () => {
    const rx2 = await startReceiver();
    rx2.setResponder((_hit, i) => (i < 2 ? 503 : 200));
    try {
      const res = await submitRaw(sim, "fal-ai/nano-banana-pro", { prompt: "hero in a city street" }, `${rx2.url}/hook`);
      const { request_id } = (await res.json()) as { request_id: string };
      const hits = await rx2.waitFor((h) => h.some((x) => x.status === 200), 15_000);
      expect(hits.map((h) => h.status)).toEqual([503, 503, 200]);
      // Backoff: ~1 s, then ~2 s.
      expect(hits[1].at - hits[0].at).toBeGreaterThanOrEqual(900);
      expect(hits[2].at - hits[1].at).toBeGreaterThanOrEqual(1800);
      // Every attempt is signed afresh and verifies.
      const jwksUrl = `${sim.url}/fal/.well-known/jwks.json`;
      for (const h of hits) expect(await verifyFalWebhook(h, jwksUrl)).toBe(true);
      const job = (await (await fetch(`${sim.url}/__sim/jobs/${request_id}`)).json()) as { webhookDeliveries: number; webhookAttempts: { status: number }[] };
      expect(job.webhookDeliveries).toBe(1);
      expect(job.webhookAttempts.map((a) => a.status)).toEqual([503, 503, 200]);
    } finally {
      await rx2.close();
    }
  });

  it("fails the job FAL-style when an input image cannot be fetched or decoded", async () => {
    const hook = `${rx.url}/hook-fail`;
    const corrupt = rx.addImage("corrupt.png", Buffer.from("definitely not a png"));
    for (const [url, type] of [
      [`${rx.url}/img/missing.png`, "file_download_error"],
      [corrupt, "image_load_error"],
    ] as const) {
      const res = await submitRaw(sim, "fal-ai/nano-banana-pro/edit", { prompt: "Take this image and add rain", image_urls: [url] }, hook);
      const sub = (await res.json()) as { request_id: string; status_url: string; response_url: string };
      await waitForStatus(sub.status_url);
      const result = await fetch(sub.response_url, { headers: { authorization: "Key k" } });
      expect(result.status).toBe(422);
      const { detail } = (await result.json()) as { detail: { loc: unknown[]; type: string }[] };
      expect(detail[0]).toMatchObject({ loc: ["body", "image_urls", 0], type });
      const hit = (await rx.waitFor((h) => h.some((x) => x.body.includes(sub.request_id)))).find((x) => x.body.includes(sub.request_id)) as Hit;
      expect(JSON.parse(hit.body)).toMatchObject({ status: "ERROR", error: "Invalid status code: 422", payload: { detail: [{ type }] } });
    }
    // The real client surfaces it as a ValidationError with field errors.
    const fal = falClient(sim);
    const sub = await fal.queue.submit("fal-ai/nano-banana-pro/edit", { input: { prompt: "x", image_urls: [`${rx.url}/img/nope.png`] } });
    await fal.queue.subscribeToStatus("fal-ai/nano-banana-pro/edit", { requestId: sub.request_id, pollInterval: 50 });
    await expect(fal.queue.result("fal-ai/nano-banana-pro/edit", { requestId: sub.request_id })).rejects.toMatchObject({ status: 422 });
  });

  it("reports IN_QUEUE/IN_PROGRESS, answers 400 for an early result, and cancels", async () => {
    await fetch(`${sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ imageDelayMs: 1500 }) });
    try {
      const res = await submitRaw(sim, "fal-ai/nano-banana-pro", { prompt: "hero" });
      const sub = (await res.json()) as { request_id: string; status_url: string; response_url: string; cancel_url: string };
      const early = await fetch(sub.response_url, { headers: { authorization: "Key k" } });
      expect(early.status).toBe(400);
      await waitForStatus(sub.status_url, "IN_PROGRESS");
      const cancel = await fetch(sub.cancel_url, { method: "PUT", headers: { authorization: "Key k" } });
      expect(cancel.status).toBe(202);
      expect(await cancel.json()).toEqual({ status: "CANCELLATION_REQUESTED" });
      const again = await fetch(sub.cancel_url, { method: "PUT", headers: { authorization: "Key k" } });
      expect(await again.json()).toEqual({ status: "ALREADY_COMPLETED" });
    } finally {
      await fetch(`${sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ imageDelayMs: 50 }) });
    }
  });

  it("routes Kling-on-FAL (v2.6 and v2.1 field names) to a clip", async () => {
    const fal = falClient(sim);
    const a = rx.addImage("a.png", await testImage(320, 320, "#c03020", "#602010"));
    const b = rx.addImage("b.png", await testImage(320, 320, "#2040c0", "#102060"));
    for (const [model, input] of [
      ["fal-ai/kling-video/v2.6/pro/image-to-video", { prompt: "dolly in", start_image_url: a, end_image_url: b, duration: "5", generate_audio: false }],
      ["fal-ai/kling-video/v2.1/pro/image-to-video", { prompt: "dolly in", image_url: a, tail_image_url: b, duration: "5" }],
    ] as const) {
      const sub = await fal.queue.submit(model, { input });
      expect(sub.status_url).toContain("/fal/fal-ai/kling-video/requests/");
      await fal.queue.subscribeToStatus(model, { requestId: sub.request_id, pollInterval: 100 });
      const { data } = await fal.queue.result(model, { requestId: sub.request_id });
      const video = (data as { video: { url: string; content_type: string; file_size: number } }).video;
      expect(video.content_type).toBe("video/mp4");
      const head = await fetch(video.url, { method: "HEAD" });
      expect(Number(head.headers.get("content-length"))).toBe(video.file_size);
      const range = await fetch(video.url, { headers: { range: "bytes=0-99" } });
      expect(range.status).toBe(206);
      expect((await range.arrayBuffer()).byteLength).toBe(100);
    }
  });
});
