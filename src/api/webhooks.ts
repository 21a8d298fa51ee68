/**
 * Provider callbacks. Public routes, so each is verified before anything is trusted:
 * FAL by its Ed25519 signature, Kling (unsigned) by a per-job token and a re-read of the task.
 * A job is finished once; duplicates and late deliveries answer 200 and change nothing.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { finishJob, getJob, jobByExternalId, toSignal, type JobResult, type JobRow } from "../db/jobs.ts";
import { safeEqual } from "../lib/crypto.ts";
import { priceOf } from "../lib/prices.ts";
import { notifyWorkflow } from "../media/dispatch.ts";
import { verifyFalWebhook } from "../providers/fal-webhook.ts";
import { falResult, klingResult } from "../providers/jobs.ts";
import { getKlingTask } from "../providers/kling.ts";
import { purposeToken } from "../storage/signing.ts";
import { router } from "./openapi.ts";
import { badRequest, notFound, Problem } from "./problem.ts";
import * as S from "./schemas.ts";

// Request bodies are plain schemas, not zod: a signature covers the raw bytes, so nothing may
// parse the body before it is verified.
const anyJson = { "application/json": { schema: { type: "object" as const, additionalProperties: true } } };

const falRoute = createRoute({
  method: "post",
  path: "/fal",
  operationId: "falWebhook",
  summary: "FAL queue webhook",
  description: "Verified by FAL's Ed25519 signature over the raw body (JWKS, 5-minute window). Duplicates answer 200 and change nothing.",
  tags: ["webhooks"],
  security: S.publicRoute,
  request: { body: { required: true, content: anyJson } },
  responses: { 200: S.json(S.WebhookAck, "Received"), ...S.problems(400, 401) },
});

const klingRoute = createRoute({
  method: "post",
  path: "/kling/{jobId}",
  operationId: "klingCallback",
  summary: "Kling task callback",
  description: "Carries a per-job token; the task is re-read from Kling before anything is trusted.",
  tags: ["webhooks"],
  security: S.publicRoute,
  request: {
    params: z.object({ jobId: z.string().min(1).max(200).openapi({ description: "Our job id" }) }),
    query: z.object({ token: z.string().optional().openapi({ description: "The job's callback token" }) }),
    body: { required: true, content: anyJson },
  },
  responses: { 200: S.json(S.WebhookAck, "Received"), ...S.problems(401, 404) },
});

export const webhooks = router()
  .openapi(falRoute, async (c) => {
    const raw = await c.req.arrayBuffer();
    const check = await verifyFalWebhook(c.env.FAL_JWKS_URL, c.req.raw.headers, raw);
    if (!check.ok) {
      console.warn(JSON.stringify({ msg: "rejected FAL webhook", reason: check.reason }));
      throw new Problem(401, "Unauthorized", `webhook not verified: ${check.reason}`);
    }
    let body: { request_id?: string; status?: string; payload?: unknown; error?: string };
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw badRequest([{ field: "body", message: "must be JSON" }]);
    }
    // The signed header names the request; the body must agree with it.
    if (!body.request_id || body.request_id !== c.req.header("x-fal-webhook-request-id")) {
      throw badRequest([{ field: "request_id", message: "missing or does not match the signed request id" }]);
    }
    const job = await jobByExternalId(db(c.env.DB), "fal", body.request_id);
    if (!job) return c.json({ ok: true as const, ignored: "unknown request" }, 200);
    const applied = await complete(c.env, job, falResult(body.status ?? "ERROR", body.payload, body.error));
    return c.json({ ok: true as const, applied }, 200);
  })
  .openapi(klingRoute, async (c) => {
    const { jobId } = c.req.valid("param");
    const token = c.req.valid("query").token ?? "";
    if (!safeEqual(token, await purposeToken(c.env, "kling-callback", jobId))) {
      throw new Problem(401, "Unauthorized", "callback token is not valid");
    }
    const job = await getJob(db(c.env.DB), jobId);
    if (!job || job.provider !== "kling" || !job.externalId) throw notFound(`job ${jobId}`);
    const body = (await c.req.json().catch(() => ({}))) as { task_status?: string };
    if (body.task_status !== "succeed" && body.task_status !== "failed") return c.json({ ok: true as const, ignored: "not final" }, 200);
    // Callbacks are unsigned: trust only what Kling itself says about the task.
    const result = klingResult(await getKlingTask(c.env, job.externalId));
    if (!result) return c.json({ ok: true as const, ignored: "task not final on re-check" }, 200);
    const applied = await complete(c.env, job, result);
    return c.json({ ok: true as const, applied }, 200);
  });

async function complete(env: Env, job: JobRow, result: JobResult): Promise<boolean> {
  const d = db(env.DB);
  if (!(await finishJob(d, job.id, result, priceOf(env, job.model)))) return false;
  await logEvent(d, {
    shootId: job.shootId,
    accountId: job.accountId,
    type: result.status === "succeeded" ? "job.completed" : "job.failed",
    data: { job: job.id, provider: job.provider, ...(result.status === "failed" ? { error: result.error } : {}) },
  });
  await notifyWorkflow(env, job.shootId, job.id, toSignal(result));
  return true;
}
