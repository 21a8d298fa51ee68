/** The Hono app: request ids, security headers, problem+json errors, and the routers. */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { assetsApi } from "./api/assets.ts";
import { batchesApi } from "./api/batches.ts";
import type { AppEnv } from "./api/auth.ts";
import { internal } from "./api/internal.ts";
import { openApiDocument } from "./api/openapi.ts";
import { notFound, renderProblem } from "./api/problem.ts";
import { shootsApi } from "./api/shoots.ts";
import { uploads } from "./api/uploads.ts";
import { webhookEndpointsApi } from "./api/webhook-endpoints.ts";
import { webhooks } from "./api/webhooks.ts";

export const app = new Hono<AppEnv>()
  .use(requestId())
  .use(secureHeaders({ crossOriginResourcePolicy: "same-origin" }))
  .get("/api/health", async (c) => {
    const db = await c.env.DB.prepare("select 1 as ok").first<{ ok: number }>().catch(() => null);
    return c.json({ ok: db?.ok === 1, checks: { database: db?.ok === 1 ? "ok" : "unavailable" } }, db ? 200 : 503);
  })
  .get("/api/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)))
  .route("/api/uploads", uploads)
  .route("/api/shoots", shootsApi)
  .route("/api/assets", assetsApi)
  .route("/api/batches", batchesApi)
  .route("/api/webhook-endpoints", webhookEndpointsApi)
  .route("/webhooks", webhooks)
  .route("/internal", internal)
  .all("/api/*", () => {
    throw notFound("route");
  })
  .onError((err, c) => renderProblem(c, err));
