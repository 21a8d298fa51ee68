/**
 * Provider callbacks. Public routes, so each is verified before anything is trusted:
 * FAL by its Ed25519 signature, Kling (unsigned) by a per-job token, and its body only wakes the
 * workflow, which reads the task from Kling.
 * A job is finished once; duplicates and late deliveries answer 200 and change nothing.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { db, schema } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { adoptExternalId, getJob, jobByExternalId, OUTCOME_REPORTED, type JobResult, type JobRow } from "../db/jobs.ts";
import { completeJob, notifyWorkflow } from "../jobs/completion.ts";
import { priceOf } from "../lib/prices.ts";
import { safeEqual } from "../lib/crypto.ts";
import { verifyFalWebhook } from "../providers/fal-webhook.ts";
import { falResult } from "../providers/jobs.ts";
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
  request: {
    // Our job and its token ride on the webhook URL, so a request id whose submit answer was lost is recovered.
    query: z.object({
      job: z.string().optional().openapi({ description: "Our job id" }),
      token: z.string().optional().openapi({ description: "The job's webhook token" }),
    }),
    body: { required: true, content: anyJson },
  },
  responses: { 200: S.json(S.WebhookAck, "Received"), ...S.problems(400, 401) },
});

const klingRoute = createRoute({
  method: "post",
  path: "/kling/{jobId}",
  operationId: "klingCallback",
  summary: "Kling task callback",
  description: "Carries a per-job token. Nothing in the body is trusted: a final status wakes the shoot's workflow, which reads the task from Kling itself.",
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
    const receivedAt = Date.now();
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
    const d = db(c.env.DB);
    const result = falResult(body.status ?? "ERROR", body.payload, body.error);
    const job = await jobByExternalId(d, "fal", body.request_id);
    if (job) return c.json({ ok: true as const, applied: await completeJob(c.env, job, result, "webhook", { receivedAt }) }, 200);
    // Not a request id we recorded. The URL names our job (with a token): either the submit answer
    // was lost and this recovers the id, or it is a second request for a job that has one.
    const named = c.req.query("job");
    if (!named || !safeEqual(c.req.query("token") ?? "", await purposeToken(c.env, "fal-webhook", named))) {
      return c.json({ ok: true as const, ignored: "unknown request" }, 200);
    }
    const owner = await getJob(d, named);
    if (owner?.provider !== "fal") return c.json({ ok: true as const, ignored: "unknown job" }, 200);
    if (await adoptExternalId(d, owner.id, body.request_id)) {
      await logEvent(d, { shootId: owner.shootId, accountId: owner.accountId, type: "job.recovered", data: { job: owner.id, provider: "fal" } });
      return c.json(
        {
          ok: true as const,
          applied: await completeJob(c.env, { ...owner, status: "submitted", externalId: body.request_id }, result, "webhook", { receivedAt }),
        },
        200,
      );
    }
    return c.json({ ok: true as const, duplicate: await recordDuplicate(c.env, owner, body.request_id, result) }, 200);
  })
  .openapi(klingRoute, async (c) => {
    const receivedAt = Date.now();
    const { jobId } = c.req.valid("param");
    const token = c.req.valid("query").token ?? "";
    if (!safeEqual(token, await purposeToken(c.env, "kling-callback", jobId))) {
      throw new Problem(401, "Unauthorized", "callback token is not valid");
    }
    const body = (await c.req.json().catch(() => ({}))) as { task_status?: string };
    const job = await getJob(db(c.env.DB), jobId);
    if (job?.provider !== "kling" || !job.externalId) throw notFound(`job ${jobId}`);
    if (body.task_status !== "succeed" && body.task_status !== "failed") return c.json({ ok: true as const, ignored: "not final" }, 200);
    if (job.result) return c.json({ ok: true as const, applied: false }, 200);
    // Callbacks are unsigned, so nothing in one is trusted: it only wakes the waiting workflow, whose
    // next step reads the task from Kling and records what Kling says (provider-job.ts). That read
    // is a durable, retried step rather than a round trip that holds this request.
    await notifyWorkflow(c.env, job, OUTCOME_REPORTED, undefined, receivedAt);
    return c.json({ ok: true as const, notified: true }, 200);
  });

/**
 * A second provider request for one job (its submit was repeated after the first answer was lost):
 * its cost is recorded against the job's shoot and stage as a row of its own, and its output is
 * never stored, so no asset slot gets a second object.
 */
async function recordDuplicate(env: Env, owner: JobRow, requestId: string, result: JobResult): Promise<boolean> {
  const d = db(env.DB);
  const id = `${owner.id}-dup-${requestId.replace(/[^a-zA-Z0-9]/g, "").slice(0, 12)}`;
  const res = await d
    .insert(schema.jobs)
    .values({
      id,
      shootId: owner.shootId,
      accountId: owner.accountId,
      type: "provider",
      provider: owner.provider,
      model: owner.model,
      stage: owner.stage,
      attempt: owner.attempt,
      externalId: requestId,
      status: result.status,
      duplicateOf: owner.id,
      costUsd: result.costUsd ?? priceOf(env, owner.model),
      error: `duplicate request for ${owner.id}: output discarded`,
      completedAt: new Date().toISOString(),
    })
    .onConflictDoNothing()
    .run();
  const added = (res.meta?.changes ?? 0) > 0;
  if (added) await logEvent(d, { shootId: owner.shootId, accountId: owner.accountId, type: "job.duplicate", data: { job: owner.id, duplicate: id } });
  return added;
}
