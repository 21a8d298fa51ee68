/**
 * The FAL queue API (queue.fal.run) under /fal, byte-compatible enough that @fal-ai/client and
 * hand-written fetch code work unchanged: submit with ?fal_webhook, status/result/cancel under
 * <owner>/<alias>/requests/<id>, signed webhooks on completion, JWKS for verification.
 */
import crypto from "node:crypto";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { fileUrl, type SimContext } from "./context.ts";
import { decideDrift, type ClipDrift, type ImageDrift } from "./drift.ts";
import { InputError, loadImage } from "./inputs.ts";
import { checkFalAuth, falWebhookHeaders, jwks } from "./keys.ts";
import type { SimJob } from "./state.ts";
import { ASPECT_RATIOS, OUTPUT_FORMATS, RESOLUTIONS, classifyPrompt, synthesizeClip, synthesizeImage } from "./synth.ts";
import { sleep } from "./webhooks.ts";

type ModelKind = "image" | "video";

/** Which simulated model family serves an endpoint id (model ids are configuration upstream). */
export function falModelKind(modelId: string): ModelKind | undefined {
  if (/^fal-ai\/(nano-banana|gemini-[\w.-]*image)/.test(modelId)) return "image";
  if (/^fal-ai\/kling-video\/.+\/image-to-video$/.test(modelId)) return "video";
  return undefined;
}

const ImageInput = z
  .object({
    prompt: z.string().min(1).max(50_000),
    image_urls: z.array(z.string().min(1)).max(14).optional(),
    num_images: z.number().int().min(1).max(4).default(1),
    aspect_ratio: z.enum(ASPECT_RATIOS).default("auto"),
    resolution: z.enum(RESOLUTIONS).default("1K"),
    output_format: z.enum(OUTPUT_FORMATS).default("png"),
    seed: z.number().int().optional(),
  })
  .passthrough();

const Duration = z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(Number);
const VideoInput = z
  .object({
    prompt: z.string().min(1).max(2500),
    // v2.6 / v3 field names, with the v2.1 / v2.5 names as aliases.
    start_image_url: z.string().min(1).optional(),
    end_image_url: z.string().min(1).optional(),
    image_url: z.string().min(1).optional(),
    tail_image_url: z.string().min(1).optional(),
    duration: Duration.default(5),
    negative_prompt: z.string().max(2500).optional(),
  })
  .passthrough();

type Detail = { loc: (string | number)[]; msg: string; type: string }[] | string;

/** A job failure, carried to the result endpoint (HTTP status + FAL `detail`) and the webhook. */
class FalJobError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: Detail,
  ) {
    super(typeof detail === "string" ? detail : detail.map((d) => d.msg).join("; "));
  }
}

function zodDetail(error: z.ZodError): Detail {
  return error.issues.map((i) => {
    const missing = i.code === "invalid_type" && /received undefined/.test(i.message);
    return {
      loc: ["body", ...i.path.map((p) => (typeof p === "number" ? p : String(p)))],
      msg: missing ? "Field required" : i.message,
      type: missing ? "missing" : i.code === "invalid_value" ? "literal_error" : "value_error",
    };
  });
}

interface Route {
  /** Path under /fal without the leading slash, e.g. "fal-ai/nano-banana-pro/edit". */
  path: string;
  search: URLSearchParams;
}

/** With @fal-ai/client's proxy mode the real target travels in x-fal-target-url; honour it. */
function routeOf(c: Context): Route {
  const target = c.req.header("x-fal-target-url");
  if (target) {
    try {
      const u = new URL(target);
      return { path: u.pathname.replace(/^\/+/, ""), search: u.searchParams };
    } catch {
      // fall through to the request's own path
    }
  }
  const u = new URL(c.req.url);
  return { path: u.pathname.replace(/^\/fal\/?/, ""), search: u.searchParams };
}

export function falRoutes(ctx: SimContext): Hono {
  const app = new Hono();
  const queueMs = 60;

  const urlsFor = (job: SimJob) => {
    const base = `${ctx.baseUrl()}/fal/${job.endpoint}/requests/${job.id}`;
    return { status_url: `${base}/status`, response_url: base, cancel_url: `${base}/cancel` };
  };

  const json = (c: Context, status: number, body: unknown, job?: SimJob) => {
    if (job) c.header("x-fal-request-id", job.id);
    return c.json(body as object, status as 200);
  };

  // Public, like https://rest.alpha.fal.ai/.well-known/jwks.json
  app.get("/.well-known/jwks.json", (c) => {
    c.header("cache-control", "public, max-age=3600");
    return c.json(jwks(ctx.signingKey));
  });

  app.all("/*", async (c) => {
    const route = routeOf(c);
    const auth = checkFalAuth(c.req.header("authorization"), ctx.config.falKey);
    if (!auth.ok) return json(c, 401, { detail: auth.reason });

    const segments = route.path.split("/").filter(Boolean);
    const r = segments.indexOf("requests");
    if (r >= 2 && segments.length > r + 1) {
      const job = ctx.jobs.get(segments[r + 1]);
      if (job?.provider !== "fal") return json(c, 404, { detail: "Request not found" });
      const action = segments.slice(r + 2).join("/");
      if (c.req.method === "GET" && action === "status") return status(c, job, route.search.get("logs") === "1");
      if (c.req.method === "GET" && action === "") return result(c, job);
      if (c.req.method === "PUT" && action === "cancel") return cancel(c, job);
      return json(c, 405, { detail: "Method not allowed" });
    }
    if (c.req.method !== "POST") return json(c, 405, { detail: "Method not allowed" });
    return submit(c, segments.join("/"), route.search);
  });

  async function submit(c: Context, modelId: string, search: URLSearchParams) {
    const kind = falModelKind(modelId);
    if (!kind) return json(c, 404, { detail: `Application '${modelId}' not found` });
    const refused = ctx.faults.submitFault();
    if (refused?.kind === "rate-limit") {
      ctx.log(`FAL submit to ${modelId} rate limited (fault)`);
      c.header("retry-after", String(refused.retryAfterSeconds));
      return json(c, 429, { detail: "Too many requests: concurrent request limit reached (simulated fault)" });
    }
    if (refused) {
      ctx.log(`FAL submit to ${modelId} refused (fault)`);
      return json(c, 503, { detail: "Service temporarily unavailable (simulated fault)" });
    }
    let input: unknown;
    try {
      const text = await c.req.text();
      input = text ? JSON.parse(text) : {};
    } catch {
      return json(c, 422, { detail: [{ loc: ["body"], msg: "Invalid JSON body", type: "json_invalid" }] });
    }
    const [owner, alias] = modelId.split("/");
    const id = crypto.randomUUID();
    const webhook = search.get("fal_webhook") ?? undefined;
    const job = ctx.jobs.add({
      provider: "fal",
      model: modelId,
      id,
      status: "queued",
      providerStatus: "IN_QUEUE",
      createdAt: Date.now(),
      input,
      webhookUrl: webhook,
      webhookDeliveries: 0,
      webhookLog: [],
      endpoint: `${owner}/${alias}`,
      gatewayRequestId: crypto.randomUUID(),
    });
    ctx.log(`FAL ${modelId} ${id} queued${webhook ? " (webhook)" : ""}`);
    ctx.track(process(job, kind, ctx.generation(), ctx.signal()));
    const hold = ctx.faults.get().holdSubmitResponseMs;
    if (hold > 0) {
      ctx.log(`FAL ${id}: holding the submit answer ${hold} ms (fault)`);
      await sleep(hold, ctx.signal());
    }
    if (ctx.faults.loseSubmitResponse()) {
      // The request is queued (and will be billed), but the caller never hears its id.
      ctx.log(`FAL ${id}: submit answer lost (fault)`);
      (c.env as { incoming?: { socket?: { destroy(): void } } }).incoming?.socket?.destroy();
      return new Response(null, { status: 500 });
    }
    return json(
      c,
      200,
      {
        status: "IN_QUEUE",
        request_id: id,
        gateway_request_id: job.gatewayRequestId,
        queue_position: 0,
        ...urlsFor(job),
        logs: null,
        metrics: {},
      },
      job,
    );
  }

  function status(c: Context, job: SimJob, withLogs: boolean) {
    const urls = urlsFor(job);
    const logs = withLogs ? logLines(job) : null;
    if (job.providerStatus === "IN_QUEUE") {
      return json(c, 202, { status: "IN_QUEUE", request_id: job.id, queue_position: 0, ...urls, logs, metrics: {} }, job);
    }
    if (job.providerStatus === "IN_PROGRESS") {
      return json(c, 202, { status: "IN_PROGRESS", request_id: job.id, ...urls, logs: logs ?? [], metrics: {} }, job);
    }
    const inference = job.startedAt && job.completedAt ? (job.completedAt - job.startedAt) / 1000 : 0;
    const body: Record<string, unknown> = {
      status: "COMPLETED",
      request_id: job.id,
      ...urls,
      logs: logs ?? [],
      metrics: { inference_time: inference },
    };
    if (job.error) {
      body.error = job.status === "cancelled" ? "Request cancelled" : `Invalid status code: ${job.error.statusCode ?? 500}`;
      body.error_type = job.status === "cancelled" ? "cancelled" : "request_error";
    }
    return json(c, 200, body, job);
  }

  function result(c: Context, job: SimJob) {
    if (job.providerStatus !== "COMPLETED") return json(c, 400, { detail: "Request is still in progress" }, job);
    if (job.error) return json(c, job.error.statusCode ?? 422, { detail: job.error.detail ?? job.error.message }, job);
    return json(c, 200, job.output, job);
  }

  function cancel(c: Context, job: SimJob) {
    if (job.providerStatus === "COMPLETED") return json(c, 400, { status: "ALREADY_COMPLETED" }, job);
    // The running synthesis is abandoned: process() checks the status before it writes a result.
    job.status = "cancelled";
    job.providerStatus = "COMPLETED";
    job.completedAt = Date.now();
    job.error = { message: "Request cancelled", statusCode: 400, detail: "Request was cancelled" };
    ctx.log(`FAL ${job.id} cancelled`);
    return json(c, 202, { status: "CANCELLATION_REQUESTED" }, job);
  }

  function logLines(job: SimJob) {
    const at = (ms?: number) => new Date(ms ?? Date.now()).toISOString();
    const lines = [{ message: "Request received", level: "INFO", source: "stdout", timestamp: at(job.createdAt) }];
    if (job.startedAt) lines.push({ message: "Generating…", level: "INFO", source: "stdout", timestamp: at(job.startedAt) });
    if (job.completedAt)
      lines.push({ message: job.error ? job.error.message : "Done", level: job.error ? "ERROR" : "INFO", source: "stdout", timestamp: at(job.completedAt) });
    return lines;
  }

  async function process(job: SimJob, kind: ModelKind, generation: number, signal: AbortSignal) {
    await sleep(queueMs, signal);
    while (ctx.faults.get().holdJobs && !signal.aborted) await sleep(50, signal);
    const alive = () => ctx.generation() === generation && job.status !== "cancelled";
    if (!alive()) return;
    job.status = "running";
    job.providerStatus = "IN_PROGRESS";
    job.startedAt = Date.now();
    const faults = ctx.faults.get();
    let output: unknown;
    let error: FalJobError | undefined;
    try {
      const latency = ctx.faults.latencyMs();
      if (latency > 0) await sleep(latency, signal);
      if (ctx.faults.failJob(job.input)) {
        throw new FalJobError(422, [
          {
            loc: ["body", "prompt"],
            msg: "The content could not be processed because it contained material flagged by a content checker. (simulated fault)",
            type: "content_policy_violation",
          },
        ]);
      }
      if (kind === "image") {
        output = await runImage(job, signal);
        const remaining = faults.imageDelayMs - (Date.now() - job.startedAt);
        if (remaining > 0) await sleep(remaining, signal);
      } else {
        output = await runVideo(job, signal);
        if (faults.clipDelayMs > 0) await sleep(faults.clipDelayMs, signal);
        const hold = faults.clipMinMs - (Date.now() - job.startedAt);
        if (hold > 0) await sleep(hold, signal);
      }
    } catch (err) {
      error =
        err instanceof FalJobError
          ? err
          : err instanceof InputError
            ? new FalJobError(422, err.falDetail())
            : new FalJobError(500, `Internal error: ${(err as Error).message}`);
    }
    if (!alive()) return;
    job.completedAt = Date.now();
    job.providerStatus = "COMPLETED";
    if (error) {
      job.status = "failed";
      job.error = { message: error.message, detail: error.detail, statusCode: error.statusCode };
      ctx.log(`FAL ${job.id} failed: ${error.message}`);
    } else {
      job.status = "succeeded";
      job.output = output;
      ctx.log(`FAL ${job.id} completed in ${job.completedAt - (job.startedAt ?? job.createdAt)} ms`);
    }
    if (job.webhookUrl) sendWebhook(job);
  }

  async function runImage(job: SimJob, signal: AbortSignal) {
    const parsed = ImageInput.safeParse(job.input);
    if (!parsed.success) throw new FalJobError(422, zodDetail(parsed.error));
    const input = parsed.data;
    const urls = input.image_urls ?? [];
    if (job.model.endsWith("/edit") && urls.length === 0) {
      throw new FalJobError(422, [{ loc: ["body", "image_urls"], msg: "Field required", type: "missing" }]);
    }
    if (classifyPrompt(input.prompt) !== "hero" && urls.length === 0) {
      throw new FalJobError(422, [{ loc: ["body", "image_urls"], msg: "This prompt needs an input image", type: "value_error" }]);
    }
    const images = await Promise.all(urls.map((u, i) => loadImage(u, `image_urls.${i}`, signal)));
    const drift = decideDrift(ctx.faults.get().drift, "image", [job.model, input.prompt, ...images.map((i) => i.data)]);
    const picture = classifyPrompt(input.prompt);
    const out = [];
    for (let v = 0; v < input.num_images; v++) {
      const img = await synthesizeImage({
        prompt: input.prompt,
        images,
        aspectRatio: input.aspect_ratio,
        resolution: input.resolution,
        outputFormat: input.output_format,
        variant: v,
        seed: input.seed,
        ...(drift ? { drift: { kind: drift.kind as ImageDrift, seed: drift.seed + v } } : {}),
      });
      const name = `${job.id}-${v}.${img.ext}`;
      if (drift && img.drift) {
        ctx.drift.add(
          {
            jobId: job.id,
            provider: "fal",
            model: job.model,
            kind: drift.kind,
            detail: input.num_images > 1 ? `image ${v + 1}: ${img.drift}` : img.drift,
          },
          { url: fileUrl(ctx, name), data: img.data, picture },
        );
        ctx.log(`FAL ${job.id}: drift ${drift.kind} (${img.drift})`);
      }
      await ctx.files.put(name, img.data);
      out.push({
        url: fileUrl(ctx, name),
        content_type: img.contentType,
        file_name: name,
        file_size: img.data.byteLength,
        width: img.width,
        height: img.height,
      });
    }
    const description =
      picture === "contact-sheet"
        ? "Here is the 2x3 contact sheet with six camera angles of the same scene."
        : picture === "edit"
          ? "Here is the edited frame."
          : "Here is the editorial image.";
    return { images: out, description };
  }

  async function runVideo(job: SimJob, signal: AbortSignal) {
    const parsed = VideoInput.safeParse(job.input);
    if (!parsed.success) throw new FalJobError(422, zodDetail(parsed.error));
    const input = parsed.data;
    const longForm = /\/(v3|o3)\//.test(job.model);
    const okDuration = longForm ? input.duration >= 3 && input.duration <= 15 : input.duration === 5 || input.duration === 10;
    if (!okDuration) {
      throw new FalJobError(422, [
        { loc: ["body", "duration"], msg: longForm ? "Input should be between '3' and '15'" : "Input should be '5' or '10'", type: "literal_error" },
      ]);
    }
    const startField = input.start_image_url ? "start_image_url" : "image_url";
    const startUrl = input.start_image_url ?? input.image_url;
    if (!startUrl) throw new FalJobError(422, [{ loc: ["body", "start_image_url"], msg: "Field required", type: "missing" }]);
    const endField = input.end_image_url ? "end_image_url" : "tail_image_url";
    const endUrl = input.end_image_url ?? input.tail_image_url;
    const [start, end] = await Promise.all([loadImage(startUrl, startField, signal), endUrl ? loadImage(endUrl, endField, signal) : undefined]);
    const name = `${job.id}.mp4`;
    const drift = decideDrift(ctx.faults.get().drift, "video", [job.model, input.prompt, start.data, end?.data ?? ""]);
    const clip = await synthesizeClip({
      start: start.data,
      end: end?.data,
      seconds: ctx.config.clipSeconds ?? input.duration,
      outFile: ctx.files.pathFor(name),
      signal,
      ...(drift ? { drift: { kind: drift.kind as ClipDrift, seed: drift.seed } } : {}),
    });
    if (drift && clip.drift) {
      ctx.drift.add({ jobId: job.id, provider: "fal", model: job.model, kind: drift.kind, detail: clip.drift });
      ctx.log(`FAL ${job.id}: drift ${drift.kind} (${clip.drift})`);
    }
    const size = await ctx.files.size(name);
    return { video: { url: fileUrl(ctx, name), content_type: "video/mp4", file_name: name, file_size: size } };
  }

  function sendWebhook(job: SimJob) {
    const url = job.webhookUrl as string;
    const payload = job.error
      ? {
          request_id: job.id,
          gateway_request_id: job.gatewayRequestId,
          status: "ERROR",
          error: `Invalid status code: ${job.error.statusCode ?? 500}`,
          payload: { detail: job.error.detail ?? job.error.message },
        }
      : { request_id: job.id, gateway_request_id: job.gatewayRequestId, status: "OK", payload: job.output };
    const body = JSON.stringify(payload);
    const userId = ctx.config.falUserId;
    void ctx.webhooks.dispatch({
      job,
      url,
      body,
      event: payload.status,
      headers: () => falWebhookHeaders(ctx.signingKey, { requestId: job.id, userId, body }),
      forge: () => {
        // A tampered body under the real body's signature, then a genuine signature that is too old.
        const tampered = JSON.stringify({ ...payload, status: "OK", payload: { forged: true, images: [{ url: "http://127.0.0.1:9/evil.png" }] } });
        return [
          { kind: "forged-signature", body: tampered, headers: falWebhookHeaders(ctx.signingKey, { requestId: job.id, userId, body }) },
          {
            kind: "stale-timestamp",
            body,
            headers: falWebhookHeaders(ctx.signingKey, { requestId: job.id, userId, body, timestamp: Math.floor(Date.now() / 1000) - 3600 }),
          },
        ];
      },
    });
  }

  return app;
}
