/**
 * Outbound webhook endpoints of the caller's account: register (the signing secret is shown once),
 * list, read, delete, rotate the secret, and the delivery log with each attempt.
 */
import { webhookUrlProblem } from "../notify/url-check.ts";
import { createRoute } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { db, schema } from "../db/client.ts";
import { attemptsOf, deliveriesOf, endpointsOf, getEndpoint, type EndpointRow } from "../db/webhooks.ts";
import { newId } from "../lib/crypto.ts";
import { durationMs } from "../lib/duration.ts";
import { WEBHOOK_EVENTS } from "../notify/events.ts";
import { newSecret, sealSecret, type StoredSecret } from "../notify/secrets.ts";
import { requireApiKey } from "./auth.ts";
import * as B from "./batch-schemas.ts";
import { router } from "./openapi.ts";
import * as S from "./schemas.ts";
import { badRequest, notFound } from "./problem.ts";

const tags = ["webhook-endpoints"];

const create = createRoute({
  method: "post",
  path: "/",
  operationId: "createWebhookEndpoint",
  summary: "Register an outbound webhook endpoint (its signing secret is shown once)",
  description:
    "Events: `checkpoint.pending`, `shoot.completed`, `shoot.failed`, `batch.completed`, as `{ type, timestamp, data }`, signed in the Standard Webhooks format (`webhook-id`, `webhook-timestamp`, `webhook-signature`).",
  tags,
  security: S.bearer,
  request: { body: { required: true, content: { "application/json": { schema: B.CreateWebhookEndpoint } } } },
  responses: { 201: S.json(B.WebhookEndpointCreated, "Registered"), ...S.problems(400, 401, 415) },
});
const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listWebhookEndpoints",
  summary: "List webhook endpoints",
  tags,
  security: S.bearer,
  responses: { 200: S.json(B.WebhookEndpointList, "The account's endpoints"), ...S.problems(401) },
});
const read = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getWebhookEndpoint",
  summary: "A webhook endpoint",
  tags,
  security: S.bearer,
  request: { params: B.WebhookEndpointIdParam },
  responses: { 200: S.json(B.WebhookEndpoint, "The endpoint"), ...S.problems(401, 404) },
});
const remove = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "deleteWebhookEndpoint",
  summary: "Delete (disable) a webhook endpoint; its delivery log stays readable",
  tags,
  security: S.bearer,
  request: { params: B.WebhookEndpointIdParam },
  responses: { 204: { description: "Deleted" }, ...S.problems(401, 404) },
});
const rotate = createRoute({
  method: "post",
  path: "/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  summary: "Rotate the signing secret; the old one keeps signing alongside it for the overlap",
  tags,
  security: S.bearer,
  request: { params: B.WebhookEndpointIdParam, body: { required: false, content: { "application/json": { schema: B.RotateWebhookSecret } } } },
  responses: { 200: S.json(B.WebhookSecretRotated, "The new secret, shown once"), ...S.problems(400, 401, 404, 415) },
});
const deliveries = createRoute({
  method: "get",
  path: "/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "The endpoint's delivery log, newest first, with every attempt",
  tags,
  security: S.bearer,
  request: { params: B.WebhookEndpointIdParam, query: B.DeliveriesQuery },
  responses: { 200: S.json(B.WebhookDeliveryList, "Deliveries"), ...S.problems(400, 401, 404) },
});

export const webhookEndpointsApi = router();
webhookEndpointsApi.use(requireApiKey);

webhookEndpointsApi.openapi(create, async (c) => {
  const body = c.req.valid("json");
  // https to a public host only, unless local development allows its own receivers.
  const problem = webhookUrlProblem(body.url, c.env.WEBHOOK_ALLOW_LOCAL === "true");
  if (problem) throw badRequest([{ field: "url", message: problem }]);
  const url = new URL(body.url);
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
  const secrets: StoredSecret[] = [
    { id: newId("sec"), enc: await sealSecret(c.env, secret), createdAt: new Date(now).toISOString(), expiresAt: null },
    ...kept,
  ];
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
  const attempts = await attemptsOf(
    d,
    rows.map((r) => r.id),
  );
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
        attemptLog: attempts
          .filter((a) => a.deliveryId === r.id)
          .map((a) => ({ attempt: a.attempt, status: a.status, error: a.error, durationMs: a.durationMs, at: a.createdAt })),
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
    description: e.description ?? null,
    events: e.events as string[],
    status: e.disabledAt ? ("disabled" as const) : ("active" as const),
    disabledReason: e.disabledReason ?? null,
    signingSecrets: secrets
      .filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > Date.now())
      .map((s) => ({ id: s.id, createdAt: s.createdAt, expiresAt: s.expiresAt })),
    createdAt: e.createdAt,
  };
}
