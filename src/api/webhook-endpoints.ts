/**
 * Outbound webhook endpoints of the caller's account: register (the signing secret is shown once),
 * list, read, delete, rotate the secret, and the delivery log with each attempt.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { db, schema } from "../db/client.ts";
import { attemptsOf, deliveriesOf, endpointsOf, getEndpoint, type EndpointRow } from "../db/webhooks.ts";
import { newId } from "../lib/crypto.ts";
import { durationMs } from "../lib/duration.ts";
import { WEBHOOK_EVENTS } from "../notify/events.ts";
import { newSecret, sealSecret, type StoredSecret } from "../notify/secrets.ts";
import { DurationSchema } from "../domain/shoot.ts";
import { requireApiKey } from "./auth.ts";
import { openApiRouter, problemResponse } from "./openapi-hono.ts";
import { badRequest, notFound } from "./problem.ts";

const security = [{ bearer: [] }];
const ok = (description: string) => ({ description, content: { "application/json": { schema: z.object({}).passthrough() } } });
const IdParam = z.object({ id: z.string().min(1).max(64) });

export const CreateEndpointSchema = z
  .object({
    url: z.string().url().max(2000),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length).optional(),
    description: z.string().max(200).optional(),
  })
  .strict();

const RotateSchema = z
  .object({
    /** How long the current secret keeps signing next to the new one (default 24 hours; "0 seconds" ends it now). */
    overlap: DurationSchema.or(z.literal("0 seconds")).optional(),
  })
  .strict();

const create = createRoute({
  method: "post",
  path: "/",
  summary: "Register an outbound webhook endpoint (the secret is shown once)",
  security,
  request: { body: { content: { "application/json": { schema: CreateEndpointSchema } }, required: true } },
  responses: { 201: ok("{ id, url, events, secret, createdAt }"), 400: problemResponse("Invalid field") },
});
const list = createRoute({ method: "get", path: "/", summary: "List webhook endpoints", security, responses: { 200: ok("{ endpoints }") } });
const read = createRoute({ method: "get", path: "/{id}", summary: "A webhook endpoint", security, request: { params: IdParam }, responses: { 200: ok("Endpoint"), 404: problemResponse("Not found") } });
const remove = createRoute({ method: "delete", path: "/{id}", summary: "Delete a webhook endpoint", security, request: { params: IdParam }, responses: { 204: { description: "Deleted" }, 404: problemResponse("Not found") } });
const rotate = createRoute({
  method: "post",
  path: "/{id}/rotate-secret",
  summary: "Rotate the signing secret; the old one keeps signing alongside for the overlap",
  security,
  request: { params: IdParam, body: { content: { "application/json": { schema: RotateSchema } }, required: false } },
  responses: { 200: ok("{ secret, previousExpiresAt }"), 404: problemResponse("Not found") },
});
const deliveries = createRoute({
  method: "get",
  path: "/{id}/deliveries",
  summary: "The endpoint's delivery log, newest first, with every attempt",
  security,
  request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
  responses: { 200: ok("{ deliveries: [{ id, eventId, type, status, attempts, lastStatus, lastError, attemptLog }] }"), 404: problemResponse("Not found") },
});

export const webhookEndpointsApi = openApiRouter();
webhookEndpointsApi.use(requireApiKey);

webhookEndpointsApi.openapi(create, async (c) => {
  const body = c.req.valid("json");
  const url = new URL(body.url);
  // Plain http only where explicitly allowed (local development and tests).
  if (url.protocol !== "https:" && !(url.protocol === "http:" && c.env.WEBHOOK_ALLOW_HTTP === "true")) {
    throw badRequest([{ field: "url", message: "must be an https URL" }]);
  }
  if (url.username || url.password) throw badRequest([{ field: "url", message: "must not carry credentials" }]);
  const secret = newSecret();
  const now = new Date().toISOString();
  const row = {
    id: newId("we"),
    accountId: c.get("accountId"),
    url: url.toString(),
    description: body.description ?? null,
    events: body.events ?? [...WEBHOOK_EVENTS],
    secrets: [{ id: newId("sec"), enc: await sealSecret(c.env, secret), createdAt: now, expiresAt: null }] satisfies StoredSecret[],
    createdAt: now,
  };
  await db(c.env.DB).insert(schema.webhookEndpoints).values(row);
  return c.json({ ...view(row as EndpointRow), secret }, 201);
});

webhookEndpointsApi.openapi(list, async (c) => c.json({ endpoints: (await endpointsOf(db(c.env.DB), c.get("accountId"))).map(view) }, 200));

webhookEndpointsApi.openapi(read, async (c) => {
  const e = await getEndpoint(db(c.env.DB), c.get("accountId"), c.req.valid("param").id);
  if (!e) throw notFound(`webhook endpoint ${c.req.valid("param").id}`);
  return c.json(view(e), 200);
});

webhookEndpointsApi.openapi(remove, async (c) => {
  const d = db(c.env.DB);
  const e = await getEndpoint(d, c.get("accountId"), c.req.valid("param").id);
  if (!e) throw notFound(`webhook endpoint ${c.req.valid("param").id}`);
  // Disabled rather than dropped, so its delivery log stays readable and pending deliveries stop.
  await d.update(schema.webhookEndpoints).set({ disabledAt: new Date().toISOString(), disabledReason: "deleted" }).where(eq(schema.webhookEndpoints.id, e.id));
  return c.body(null, 204);
});

webhookEndpointsApi.openapi(rotate, async (c) => {
  const d = db(c.env.DB);
  const e = await getEndpoint(d, c.get("accountId"), c.req.valid("param").id);
  if (!e) throw notFound(`webhook endpoint ${c.req.valid("param").id}`);
  const body = (c.req.header("content-type") ?? "").includes("json") ? c.req.valid("json") : {};
  const overlapMs = body.overlap ? durationMs(body.overlap, 0) : 86_400_000;
  const now = Date.now();
  const previousExpiresAt = new Date(now + overlapMs).toISOString();
  const secret = newSecret();
  const kept = (e.secrets as StoredSecret[])
    .filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now)
    .map((s) => ({ ...s, expiresAt: s.expiresAt && Date.parse(s.expiresAt) < Date.parse(previousExpiresAt) ? s.expiresAt : previousExpiresAt }));
  const secrets: StoredSecret[] = [{ id: newId("sec"), enc: await sealSecret(c.env, secret), createdAt: new Date(now).toISOString(), expiresAt: null }, ...kept];
  await d
    .update(schema.webhookEndpoints)
    .set({ secrets })
    .where(and(eq(schema.webhookEndpoints.id, e.id), eq(schema.webhookEndpoints.accountId, e.accountId)));
  return c.json({ id: e.id, secret, previousExpiresAt }, 200);
});

webhookEndpointsApi.openapi(deliveries, async (c) => {
  const d = db(c.env.DB);
  const e = await getEndpoint(d, c.get("accountId"), c.req.valid("param").id);
  if (!e) throw notFound(`webhook endpoint ${c.req.valid("param").id}`);
  const rows = await deliveriesOf(d, e.id, c.req.valid("query").limit);
  const attempts = await attemptsOf(d, rows.map((r) => r.id));
  return c.json(
    {
      deliveries: rows.map((r) => ({
        id: r.id,
        eventId: r.eventId,
        type: r.type,
        status: r.status,
        attempts: r.attempts,
        lastStatus: r.lastStatus,
        lastError: r.lastError,
        nextAttemptAt: r.status === "pending" ? r.nextAttemptAt : null,
        deliveredAt: r.deliveredAt,
        createdAt: r.createdAt,
        payload: JSON.parse(r.payload) as unknown,
        attemptLog: attempts.filter((a) => a.deliveryId === r.id).map((a) => ({ attempt: a.attempt, status: a.status, error: a.error, durationMs: a.durationMs, at: a.createdAt })),
      })),
    },
    200,
  );
});

/** Never the secrets: only how many sign right now. */
function view(e: EndpointRow) {
  const secrets = e.secrets as StoredSecret[];
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    status: e.disabledAt ? "disabled" : "active",
    disabledReason: e.disabledReason,
    signingSecrets: secrets.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > Date.now()).map((s) => ({ id: s.id, createdAt: s.createdAt, expiresAt: s.expiresAt })),
    createdAt: e.createdAt,
  };
}
