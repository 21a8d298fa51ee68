/** The Hono app: request ids, security headers, problem+json errors, and the routers. */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { assetsApi } from "./api/assets.ts";
import type { AppEnv } from "./api/auth.ts";
import { internal } from "./api/internal.ts";
import { openApiDocument } from "./api/openapi.ts";
import { notFound, renderProblem } from "./api/problem.ts";
import { shootsApi } from "./api/shoots.ts";
import { uploads } from "./api/uploads.ts";
import { webhooks } from "./api/webhooks.ts";
import { corsAllowList, securityHeaders } from "./security/headers.ts";
import { bodyLimits } from "./security/limits.ts";

export const app = new Hono<AppEnv>()
  .use(requestId())
  .use(securityHeaders)
  .use("/api/*", corsAllowList)
  .use(bodyLimits)
  .get("/api/health", async (c) => {
    const db = await c.env.DB.prepare("select 1 as ok").first<{ ok: number }>().catch(() => null);
    return c.json({ ok: db?.ok === 1, checks: { database: db?.ok === 1 ? "ok" : "unavailable" } }, db ? 200 : 503);
  })
  .get("/api/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)))
  .route("/api/uploads", uploads)
  .route("/api/shoots", shootsApi)
  .route("/api/assets", assetsApi)
  .route("/webhooks", webhooks)
  .route("/internal", internal)
  .all("/api/*", () => {
    throw notFound("route");
  })
  .onError((err, c) => renderProblem(c, err));
