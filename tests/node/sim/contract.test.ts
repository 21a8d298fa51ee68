/**
 * Contract: the production provider clients (src/providers) against the simulator, with every
 * request and answer on the wire checked against the shapes in ../shared/reference/platform-facts.md
 * (§4 FAL queue API and webhooks, §5 Kling image2video with JWT and callbacks, §6 Anthropic
 * messages with tool use). The schemas below are written from that document, not from the sim, so
 * a drift on either side fails here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ProviderRefusal } from "../../../src/providers/errors.ts";
import { FalConnectionError, pollFal, submitFal } from "../../../src/providers/fal.ts";
import { verifyFalWebhook } from "../../../src/providers/fal-webhook.ts";
import { getKlingTask, submitKling } from "../../../src/providers/kling.ts";
import { PlannerFallback, planWithClaude } from "../../../src/providers/anthropic.ts";
import { startReceiver, startTestSim, testImage } from "./helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

interface Wire {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
  status: number;
  responseHeaders: Headers;
  response: unknown;
}

// platform-facts §4.1: submit answer, status, result; §4.2 webhook body; §4.3 headers.
const FalSubmitAnswer = z.object({
  request_id: z.string().min(1),
  gateway_request_id: z.string().min(1),
  status: z.literal("IN_QUEUE"),
  queue_position: z.number().int().min(0),
  status_url: z.url(),
  response_url: z.url(),
  cancel_url: z.url(),
});
const FalStatus = z.object({ status: z.enum(["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]), request_id: z.string() });
const FalImageOutput = z.object({
  images: z
    .array(
      z.object({
        url: z.url(),
        content_type: z.string().optional(),
        file_name: z.string().optional(),
        file_size: z.number().optional(),
        width: z.number().optional(),
        height: z.number().optional(),
      }),
    )
    .min(1),
  description: z.string(),
});
const FalWebhookBody = z.discriminatedUnion("status", [
  z.object({ request_id: z.string(), gateway_request_id: z.string(), status: z.literal("OK"), payload: z.unknown() }),
  z.object({
    request_id: z.string(),
    gateway_request_id: z.string(),
    status: z.literal("ERROR"),
    error: z.string(),
    payload: z.object({ detail: z.unknown() }),
  }),
]);
const FalWebhookHeaders = z.object({
  "x-fal-webhook-request-id": z.string().min(1),
  "x-fal-webhook-user-id": z.string().min(1),
  "x-fal-webhook-timestamp": z.string().regex(/^\d{10}$/), // unix seconds
  "x-fal-webhook-signature": z.string().regex(/^[0-9a-f]{128}$/), // hex Ed25519
});
// platform-facts §5: create body, answer, task, callback.
const KlingCreateBody = z.object({
  model_name: z.string(),
  mode: z.enum(["std", "pro"]),
  duration: z.enum(["5", "10"]), // strings
  image: z.string(),
  image_tail: z.string(),
  prompt: z.string().max(2500),
  negative_prompt: z.string().max(2500),
  callback_url: z.url(),
  external_task_id: z.string().min(1),
});
const KlingTaskData = z.object({
  task_id: z.string(),
  task_status: z.enum(["submitted", "processing", "succeed", "failed"]),
  task_info: z.object({ external_task_id: z.string() }),
  created_at: z.number(), // ms
  updated_at: z.number(),
});
const KlingAnswer = z.object({ code: z.literal(0), message: z.string(), request_id: z.string(), data: KlingTaskData });
const KlingCallback = KlingTaskData.extend({
  task_status_msg: z.string(),
  task_result: z.object({ videos: z.array(z.object({ id: z.string(), url: z.url(), duration: z.string() })) }),
  final_unit_deduction: z.string().optional(),
});
// platform-facts §6: a forced strict tool call with images before text.
const AnthropicRequest = z.object({
  model: z.string(),
  max_tokens: z.number().int().positive(),
  tools: z.array(z.object({ name: z.string(), input_schema: z.object({ type: z.literal("object") }).passthrough(), strict: z.literal(true) })).length(1),
  tool_choice: z.object({ type: z.literal("tool"), name: z.string() }),
  messages: z.array(z.object({ role: z.literal("user"), content: z.array(z.object({ type: z.string() }).passthrough()) })),
});
const AnthropicAnswer = z.object({
  id: z.string().regex(/^msg_/),
  type: z.literal("message"),
  role: z.literal("assistant"),
  stop_reason: z.literal("tool_use"),
  content: z.array(z.object({ type: z.literal("tool_use"), id: z.string(), name: z.string(), input: z.record(z.string(), z.unknown()) })),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }),
});

describe("provider clients and simulator honour the documented contracts", () => {
  let sim: Sim;
  let rx: Receiver;
  let wire: Wire[] = [];
  const realFetch = globalThis.fetch;

  beforeAll(async () => {
    sim = await startTestSim({ config: { clipSeconds: 1 } });
    rx = await startReceiver();
    // Record what goes over the wire to the simulator (the clients call the global fetch).
    globalThis.fetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      const req = new Request(input, init);
      const url = new URL(req.url);
      if (!url.href.startsWith(sim.url)) return realFetch(req);
      const text = req.method === "GET" ? "" : await req.clone().text();
      const parse = (t: string) => {
        try {
          return t ? JSON.parse(t) : null;
        } catch {
          return t;
        }
      };
      // Recorded before the call, so a request whose answer is lost still counts.
      const entry: Wire = { method: req.method, url, headers: req.headers, body: parse(text), status: 0, responseHeaders: new Headers(), response: null };
      wire.push(entry);
      const res = await realFetch(req);
      Object.assign(entry, { status: res.status, responseHeaders: res.headers, response: parse(await res.clone().text()) });
      return res;
    };
  });
  afterEach(async () => {
    wire = [];
    await realFetch(`${sim.url}/__sim/reset`, { method: "POST" });
  });
  afterAll(async () => {
    globalThis.fetch = realFetch;
    await sim?.close();
    await rx?.close();
  });

  const env = () => ({
    FAL_KEY: "fal-test-key",
    FAL_QUEUE_URL: `${sim.url}/fal`,
    KLING_BASE_URL: `${sim.url}/kling`,
    KLING_ACCESS_KEY: "sim-access",
    KLING_SECRET_KEY: "sim-secret",
    ANTHROPIC_API_KEY: "sk-ant-test",
    ANTHROPIC_BASE_URL: `${sim.url}/anthropic`,
    ANTHROPIC_MODEL: "claude-sonnet-4-6",
    ANTHROPIC_TIMEOUT_MS: "20000",
  });
  const faults = (patch: unknown) => realFetch(`${sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify(patch) });

  it("FAL: queue submit with ?fal_webhook and Key auth, owner/alias status and result URLs, a signed webhook", async () => {
    const image = rx.addImage("ref.png", await testImage(400, 600, "#203040", "#a09080"));
    const input = {
      prompt: "A full-body editorial still. Setting: grey studio",
      image_urls: [image],
      aspect_ratio: "2:3",
      resolution: "1K",
      output_format: "png",
      num_images: 1,
    };
    const requestId = await submitFal(env(), "fal-ai/nano-banana-pro/edit", input, `${rx.url}/webhooks/fal?job=j1&token=t`);

    const submit = wire[0];
    expect(submit.method).toBe("POST");
    expect(submit.url.pathname).toBe("/fal/fal-ai/nano-banana-pro/edit");
    expect(submit.url.searchParams.get("fal_webhook")).toBe(`${rx.url}/webhooks/fal?job=j1&token=t`);
    expect(submit.headers.get("authorization")).toBe("Key fal-test-key");
    expect(submit.body).toEqual(input);
    const answer = FalSubmitAnswer.parse(submit.response);
    expect(answer.request_id).toBe(requestId);
    // Status and result live under owner/alias only, not the full model path (§4.1 gotcha).
    expect(new URL(answer.status_url).pathname).toBe(`/fal/fal-ai/nano-banana-pro/requests/${requestId}/status`);
    expect(new URL(answer.response_url).pathname).toBe(`/fal/fal-ai/nano-banana-pro/requests/${requestId}`);

    const hit = (await rx.waitFor((h) => h.some((x) => x.path.startsWith("/webhooks/fal")))).find((x) => x.path.startsWith("/webhooks/fal"))!;
    FalWebhookHeaders.parse(hit.headers);
    const body = FalWebhookBody.parse(JSON.parse(hit.body));
    expect(body).toMatchObject({ request_id: requestId, status: "OK" });
    FalImageOutput.parse((body as { payload: unknown }).payload);
    // The Worker's own verifier accepts it; a changed body does not verify.
    const headers = new Headers(Object.entries(hit.headers).map(([k, v]) => [k, String(v)]));
    const raw = new TextEncoder().encode(hit.body);
    expect(await verifyFalWebhook(`${sim.url}/fal/.well-known/jwks.json`, headers, raw.buffer as ArrayBuffer)).toEqual({ ok: true });
    const tampered = new TextEncoder().encode(hit.body.replace('"OK"', '"ERROR"'));
    expect((await verifyFalWebhook(`${sim.url}/fal/.well-known/jwks.json`, headers, tampered.buffer as ArrayBuffer)).ok).toBe(false);

    wire = [];
    const polled = await pollFal(env(), "fal-ai/nano-banana-pro/edit", requestId);
    expect(polled.state).toBe("done");
    expect(wire.map((w) => `${w.method} ${w.url.pathname}`)).toEqual([
      `GET /fal/fal-ai/nano-banana-pro/requests/${requestId}/status`,
      `GET /fal/fal-ai/nano-banana-pro/requests/${requestId}`,
    ]);
    FalStatus.parse(wire[0].response);
    FalImageOutput.parse(wire[1].response);
  });

  it("FAL: a 429 with Retry-After reaches the workflow as one refusal carrying the wait (the client does not retry it)", async () => {
    await faults({ rateLimitBurst: 1, retryAfterSeconds: 2 });
    const err = await submitFal(env(), "fal-ai/nano-banana-pro/edit", { prompt: "hero", image_urls: ["http://127.0.0.1:9/x.png"] }, `${rx.url}/w`).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ProviderRefusal);
    expect(err).toMatchObject({ status: 429, retryAfterMs: 2000, transient: true });
    expect(wire).toHaveLength(1);
    expect(wire[0].responseHeaders.get("retry-after")).toBe("2");
  });

  it("FAL: a validation refusal (422) is not transient", async () => {
    const err = await submitFal(env(), "fal-ai/nope/edit", { prompt: "x" }, `${rx.url}/w`).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderRefusal);
    expect(err.transient).toBe(false);
  });

  it("FAL: a submit whose answer is lost is one request at the provider, surfaced as a connection error", async () => {
    await faults({ loseSubmitResponses: 1 });
    const err = await submitFal(env(), "fal-ai/nano-banana-pro/edit", { prompt: "hero" }, `${rx.url}/webhooks/fal?job=j2&token=t`).catch((e) => e);
    expect(err).toBeInstanceOf(FalConnectionError);
    expect(wire.filter((w) => w.method === "POST")).toHaveLength(1);
    const jobs = (await (await realFetch(`${sim.url}/__sim/jobs`)).json()) as { jobs: unknown[] };
    expect(jobs.jobs).toHaveLength(1);
    // Its webhook still comes, to the URL that names our job: that is how the Worker recovers the id.
    const hit = await rx.waitFor((h) => h.some((x) => x.path.includes("job=j2")));
    expect(hit.length).toBeGreaterThan(0);
  });

  it("Kling: JWT-signed create with string duration and external_task_id, query, callbacks on each status change", async () => {
    const a = rx.addImage("a.png", await testImage(400, 400, "#703030", "#303070"));
    const b = rx.addImage("b.png", await testImage(400, 400, "#307030", "#707030"));
    const s = {
      externalTaskId: "sh_1-clip-1-1",
      model: "kling-v2-6",
      image: a,
      imageTail: b,
      prompt: "slow push in",
      negativePrompt: "blur",
      duration: "5" as const,
      callbackUrl: `${rx.url}/webhooks/kling/sh_1-clip-1-1?token=t`,
    };
    const taskId = await submitKling(env(), s);

    const create = wire[0];
    expect(`${create.method} ${create.url.pathname}`).toBe("POST /kling/v1/videos/image2video");
    const [head, payload, sig] = (create.headers.get("authorization") ?? "").replace(/^Bearer /, "").split(".");
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(Buffer.from(head, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as { iss: string; exp: number; nbf: number };
    const now = Date.now() / 1000;
    expect(claims.iss).toBe("sim-access");
    expect(claims.exp - now).toBeLessThanOrEqual(1800);
    expect(claims.nbf).toBeLessThanOrEqual(now);
    KlingCreateBody.parse(create.body);
    const answer = KlingAnswer.parse(create.response);
    expect(answer.data).toMatchObject({ task_id: taskId, task_status: "submitted", task_info: { external_task_id: "sh_1-clip-1-1" } });

    // A repeated create (a retried step) finds the first task instead of making a second one.
    expect(await submitKling(env(), s)).toBe(taskId);

    const calls = await rx.waitFor((h) => h.some((x) => x.path.startsWith("/webhooks/kling") && JSON.parse(x.body).task_status === "succeed"), 60_000);
    const statuses = calls.filter((x) => x.path.startsWith("/webhooks/kling")).map((x) => KlingCallback.parse(JSON.parse(x.body)).task_status);
    expect(statuses).toEqual(["processing", "succeed"]);
    const task = await getKlingTask(env(), taskId);
    expect(task).toMatchObject({ task_id: taskId, task_status: "succeed" });
    expect(task.task_result?.videos?.[0]?.url).toMatch(/^http/);
    const jobs = (await (await realFetch(`${sim.url}/__sim/jobs`)).json()) as { jobs: unknown[] };
    expect(jobs.jobs).toHaveLength(1);
  });

  it("Kling: a request without a valid JWT is refused with code 1004", async () => {
    const bad = { ...env(), KLING_SECRET_KEY: "wrong" };
    const err = await getKlingTask(bad, "nope").catch((e) => e);
    expect(String(err)).toMatch(/1004|Auth failed/);
  });

  it("Anthropic: a forced strict tool call with the images before the text, answered with a tool_use plan", async () => {
    const url = rx.addImage("r.png", await testImage(300, 300, "#101010", "#f0f0f0"));
    const result = await planWithClaude(env(), "industrial streetwear editorial", [url], {}, null);
    expect(result.planner).toBe("claude");
    const call = wire.find((w) => w.url.pathname === "/anthropic/v1/messages")!;
    // SDK 1.x sends the key as a bearer token; older ones as x-api-key. The sim takes either.
    expect(call.headers.get("x-api-key") ?? call.headers.get("authorization")).toMatch(/^(Bearer )?sk-ant-test$/);
    expect(call.headers.get("anthropic-version")).toBeTruthy();
    const body = AnthropicRequest.parse(call.body);
    const content = body.messages[0].content;
    expect(content[0]).toMatchObject({ type: "image", source: { type: "url", url } });
    expect(content[content.length - 1].type).toBe("text");
    AnthropicAnswer.parse(call.response);
  });

  for (const [fault, reason] of [
    ["refusal", "refusal"],
    ["invalid", "invalid"],
    ["slow", "timeout"],
  ] as const) {
    it(`Anthropic: a ${fault} answer becomes a PlannerFallback (${reason}) for the rules planner to take over`, async () => {
      await faults({ plannerFault: fault, slowMs: 3000 });
      const err = await planWithClaude({ ...env(), ANTHROPIC_TIMEOUT_MS: "1000" }, "studio portrait", [], {}, null).catch((e) => e);
      expect(err).toBeInstanceOf(PlannerFallback);
      expect(err.reason).toBe(reason);
    });
  }
});
