/** The Hono app: request ids, security headers, problem+json errors, and the routers. */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { archive } from "./api/archive.ts";
import { assetsApi } from "./api/assets.ts";
import type { AppEnv } from "./api/auth.ts";
import { internal } from "./api/internal.ts";
import { openApiDocument } from "./api/openapi.ts";
import { presets } from "./api/presets.ts";
import { notFound, renderProblem } from "./api/problem.ts";
import { review, reviewLinks } from "./api/review.ts";
import { shootsApi } from "./api/shoots.ts";
import { uploads } from "./api/uploads.ts";
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
  .route("/api/shoots", archive)
  .route("/api/shoots", reviewLinks)
  .route("/api/review", review)
  .route("/api/presets", presets)
  .route("/api/assets", assetsApi)
  .route("/webhooks", webhooks)
  .route("/internal", internal)
  .all("/api/*", () => {
    throw notFound("route");
  })
  .onError((err, c) => renderProblem(c, err));
