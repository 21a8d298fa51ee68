/**
 * Kling's direct image-to-video API under /kling: HS256 JWT auth, tasks that move
 * submitted → processing → succeed|failed, unsigned callbacks on every status change, lookup by
 * task_id or external_task_id (which must be unique, so retried submissions can't double-bill).
 */
import crypto from "node:crypto";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { fileUrl, type SimContext } from "./context.ts";
import { decideDrift, type ClipDrift } from "./drift.ts";
import { InputError, loadKlingImage } from "./inputs.ts";
import { verifyKlingJwt } from "./keys.ts";
import type { SimJob } from "./state.ts";
import { synthesizeClip } from "./synth.ts";

type LoadedImage = Awaited<ReturnType<typeof loadKlingImage>>;
import { sleep } from "./webhooks.ts";

type TaskStatus = "submitted" | "processing" | "succeed" | "failed";

const CreateBody = z
  .object({
    model_name: z.string().min(1).default("kling-v1"),
    mode: z.enum(["std", "pro"]).default("std"),
    duration: z
      .union([z.enum(["5", "10"]), z.literal(5), z.literal(10)])
      .default("5")
      .transform(Number),
    image: z.string().min(1).optional(),
    image_tail: z.string().min(1).optional(),
    prompt: z.string().max(2500).optional(),
    negative_prompt: z.string().max(2500).optional(),
    cfg_scale: z.number().min(0).max(1).optional(),
    callback_url: z.url().optional(),
    external_task_id: z.string().min(1).max(128).optional(),
  })
  .passthrough();

interface KlingTask {
  status: TaskStatus;
  statusMsg: string;
  updatedAt: number;
  videos: { id: string; url: string; duration: string }[];
  units?: string;
}

export function klingRoutes(ctx: SimContext): Hono {
  const app = new Hono();
  // Keyed by the job object, so /__sim/reset (which drops the jobs) drops the tasks too.
  const tasks = new WeakMap<SimJob, KlingTask>();
  const processingAfterMs = 150;

  const requestId = () => crypto.randomUUID();
  const fail = (c: Context, http: number, code: number, message: string) => c.json({ code, message, request_id: requestId() }, http as 400);

  /** The task as Kling serialises it in GET responses and callbacks. */
  function taskBody(job: SimJob) {
    const t = tasks.get(job);
    return {
      task_id: job.id,
      task_status: t?.status ?? "submitted",
      task_status_msg: t?.statusMsg ?? "",
      task_info: job.externalId ? { external_task_id: job.externalId } : {},
      task_result: { videos: t?.videos ?? [] },
      created_at: job.createdAt,
      updated_at: t?.updatedAt ?? job.createdAt,
      ...(t?.units ? { final_unit_deduction: t.units } : {}),
    };
  }

  app.use("/*", async (c, next) => {
    const auth = verifyKlingJwt(c.req.header("authorization"), {
      accessKey: ctx.config.klingAccessKey,
      secretKey: ctx.config.klingSecretKey,
    });
    if (!auth.ok) return fail(c, 401, 1004, `Auth failed: ${auth.reason}`);
    await next();
  });

  app.post("/v1/videos/image2video", async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return fail(c, 400, 1201, "Invalid JSON body");
    }
    const parsed = CreateBody.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(c, 400, 1201, `${issue.path.join(".") || "body"}: ${issue.message}`);
    }
    const body = parsed.data;
    if (!body.image && !body.image_tail) return fail(c, 400, 1201, "image or image_tail is required");
    if (body.external_task_id && ctx.jobs.findByExternalId("kling", body.external_task_id)) {
      return fail(c, 400, 1201, "external_task_id already exists");
    }
    const refused = ctx.faults.submitFault();
    if (refused?.kind === "rate-limit") {
      ctx.log("Kling submit rate limited (fault)");
      c.header("retry-after", String(refused.retryAfterSeconds));
      return fail(c, 429, 1302, "The API request is too fast, please slow down (simulated fault)");
    }
    if (refused) {
      ctx.log("Kling submit refused (fault)");
      return fail(c, 500, 5000, "Server internal error (simulated fault)");
    }
    // Kling validates (and so downloads) the images when the task is created: a bad or unreachable
    // image is an error answer to the create call, not a failed task later.
    let images: [LoadedImage | undefined, LoadedImage | undefined];
    try {
      images = await Promise.all([
        body.image ? loadKlingImage(body.image, "image", ctx.signal()) : undefined,
        body.image_tail ? loadKlingImage(body.image_tail, "image_tail", ctx.signal()) : undefined,
      ]);
    } catch (err) {
      if (err instanceof InputError) return fail(c, 400, 1201, `${err.field}: ${err.message}`);
      throw err;
    }
    const now = Date.now();
    const job = ctx.jobs.add({
      provider: "kling",
      model: body.model_name,
      id: crypto.randomUUID(),
      externalId: body.external_task_id,
      status: "queued",
      providerStatus: "submitted",
      createdAt: now,
      input: body,
      webhookUrl: body.callback_url,
      webhookDeliveries: 0,
      webhookLog: [],
    });
    tasks.set(job, { status: "submitted", statusMsg: "", updatedAt: now, videos: [] });
    inputs.set(job, images);
    ctx.log(`Kling ${job.id} submitted${body.callback_url ? " (callback)" : ""}`);
    ctx.track(process(job, ctx.generation(), ctx.signal()));
    const t = taskBody(job);
    return c.json({
      code: 0,
      message: "SUCCEED",
      request_id: requestId(),
      data: { task_id: t.task_id, task_status: t.task_status, task_info: t.task_info, created_at: t.created_at, updated_at: t.updated_at },
    });
  });

  app.get("/v1/videos/image2video", (c) => {
    const external = c.req.query("external_task_id");
    if (external) return getOne(c, external);
    const pageNum = Math.max(1, Number(c.req.query("pageNum") ?? 1) || 1);
    const pageSize = Math.min(500, Math.max(1, Number(c.req.query("pageSize") ?? 30) || 30));
    const all = ctx.jobs
      .list()
      .filter((j) => j.provider === "kling" && tasks.has(j))
      .reverse();
    const data = all.slice((pageNum - 1) * pageSize, pageNum * pageSize).map(taskBody);
    return c.json({ code: 0, message: "SUCCEED", request_id: requestId(), data });
  });

  app.get("/v1/videos/image2video/:id", (c) => getOne(c, c.req.param("id")));

  function getOne(c: Context, id: string) {
    const direct = ctx.jobs.get(id);
    const job = direct?.provider === "kling" ? direct : ctx.jobs.findByExternalId("kling", id);
    if (!job || !tasks.has(job)) return fail(c, 404, 1203, "task not found");
    return c.json({ code: 0, message: "SUCCEED", request_id: requestId(), data: taskBody(job) });
  }

  function setStatus(job: SimJob, status: TaskStatus, msg = "") {
    const t = tasks.get(job);
    if (!t) return;
    t.status = status;
    t.statusMsg = msg;
    t.updatedAt = Date.now();
    job.providerStatus = status;
    job.status = status === "processing" ? "running" : status === "succeed" ? "succeeded" : status === "failed" ? "failed" : "queued";
    if (status === "processing") job.startedAt = t.updatedAt;
    if (status === "succeed" || status === "failed") job.completedAt = t.updatedAt;
  }

  const inputs = new WeakMap<SimJob, [LoadedImage | undefined, LoadedImage | undefined]>();

  async function process(job: SimJob, generation: number, signal: AbortSignal) {
    const alive = () => ctx.generation() === generation;
    await sleep(processingAfterMs, signal);
    if (!alive()) return;
    setStatus(job, "processing");
    callback(job, "processing");
    const body = job.input as z.infer<typeof CreateBody>;
    const faults = ctx.faults.get();
    try {
      const latency = ctx.faults.latencyMs();
      if (latency > 0) await sleep(latency, signal);
      if (ctx.faults.failJob(job.input)) throw new KlingTaskError("Failure to pass the risk control system (simulated fault)");
      const [start, end] = inputs.get(job) ?? [undefined, undefined];
      inputs.delete(job);
      const first = start ?? end;
      if (!first) throw new KlingTaskError("image is required");
      const name = `${job.id}.mp4`;
      const drift = decideDrift(ctx.faults.get().drift, "video", [job.model, body.prompt ?? "", first.data, start && end ? end.data : ""]);
      const clip = await synthesizeClip({
        start: first.data,
        end: start && end ? end.data : undefined,
        seconds: ctx.config.clipSeconds ?? body.duration,
        outFile: ctx.files.pathFor(name),
        signal,
        ...(drift ? { drift: { kind: drift.kind as ClipDrift, seed: drift.seed } } : {}),
      });
      if (drift && clip.drift && alive()) {
        ctx.drift.add({ jobId: job.id, provider: "kling", model: job.model, kind: drift.kind, detail: clip.drift });
        ctx.log(`Kling ${job.id}: drift ${drift.kind} (${clip.drift})`);
      }
      if (faults.clipDelayMs > 0) await sleep(faults.clipDelayMs, signal);
      const hold = faults.clipMinMs - (Date.now() - (job.startedAt ?? Date.now()));
      if (hold > 0) await sleep(hold, signal);
      if (!alive()) return;
      const t = tasks.get(job);
      if (!t) return;
      t.videos = [{ id: crypto.randomUUID(), url: fileUrl(ctx, name), duration: clip.duration.toFixed(1) }];
      t.units = String((body.mode === "pro" ? 3.5 : 1) * (body.duration / 5));
      job.output = { videos: t.videos };
      setStatus(job, "succeed");
      ctx.log(`Kling ${job.id} succeed in ${(job.completedAt ?? 0) - (job.startedAt ?? 0)} ms`);
    } catch (err) {
      if (!alive()) return;
      const msg =
        err instanceof KlingTaskError ? err.message : err instanceof InputError ? `${err.field}: ${err.message}` : `Internal error: ${(err as Error).message}`;
      job.error = { message: msg };
      setStatus(job, "failed", msg);
      ctx.log(`Kling ${job.id} failed: ${msg}`);
    }
    callback(job, tasks.get(job)?.status ?? "failed");
  }

  function callback(job: SimJob, event: string) {
    if (!job.webhookUrl) return;
    const body = JSON.stringify(taskBody(job));
    void ctx.webhooks.dispatch({
      job,
      url: job.webhookUrl,
      body,
      event,
      headers: () => ({}),
      // Kling callbacks are unsigned, so the forgery is a premature "succeed" with a bogus video:
      // a receiver that re-checks with GET before trusting it is unaffected.
      forge:
        event === "processing"
          ? () => [
              {
                kind: "forged-callback",
                body: JSON.stringify({
                  ...taskBody(job),
                  task_status: "succeed",
                  task_result: { videos: [{ id: "forged", url: "http://127.0.0.1:9/forged.mp4", duration: "5.0" }] },
                }),
                headers: {},
              },
            ]
          : undefined,
    });
  }

  return app;
}

class KlingTaskError extends Error {}
