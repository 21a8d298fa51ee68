/** The Hono app: request ids, security headers, problem+json errors, the routers and the OpenAPI document. */
import { createRoute, z } from "@hono/zod-openapi";
import { requestId } from "hono/request-id";
import { channelsApi, packsApi } from "./api/packs.ts";
import { archive } from "./api/archive.ts";
import { assetsApi } from "./api/assets.ts";
import { recipesApi } from "./api/recipes.ts";
import { batchesApi } from "./api/batches.ts";
import { internal } from "./api/internal.ts";
import { documentConfig, DOCUMENT_PATH, registerSecuritySchemes, router } from "./api/openapi.ts";
import { presets } from "./api/presets.ts";
import { notFound, renderProblem } from "./api/problem.ts";
import { review, reviewLinks } from "./api/review.ts";
import * as S from "./api/schemas.ts";
import { shootsApi } from "./api/shoots.ts";
import { uploads } from "./api/uploads.ts";
import { webhookEndpointsApi } from "./api/webhook-endpoints.ts";
import { webhooks } from "./api/webhooks.ts";
import { corsAllowList, securityHeaders } from "./security/headers.ts";
import { bodyLimits } from "./security/limits.ts";

const healthRoute = createRoute({
  method: "get",
  path: "/api/health",
  operationId: "getHealth",
  summary: "Health",
  tags: ["meta"],
  security: S.publicRoute,
  responses: { 200: S.json(S.Health, "Healthy"), 503: S.json(S.Health, "The database is unavailable") },
});

const documentRoute = createRoute({
  method: "get",
  path: DOCUMENT_PATH,
  operationId: "getOpenApiDocument",
  summary: "This OpenAPI 3.1 document",
  tags: ["meta"],
  security: S.publicRoute,
  responses: { 200: S.json(z.looseObject({ openapi: z.string() }).openapi("OpenApiDocument"), "The document") },
});

export const app = router();
app.use(requestId());
app.use(securityHeaders);
app.use("/api/*", corsAllowList);
app.use(bodyLimits);
app
  .openapi(healthRoute, async (c) => {
    const db = await c.env.DB.prepare("select 1 as ok")
      .first<{ ok: number }>()
      .catch(() => null);
    const ok = db?.ok === 1;
    return ok ? c.json({ ok, checks: { database: "ok" as const } }, 200) : c.json({ ok, checks: { database: "unavailable" as const } }, 503);
  })
  .openapi(documentRoute, (c) => c.json(app.getOpenAPI31Document(documentConfig(new URL(c.req.url).origin)), 200))
  .route("/api/uploads", uploads)
  .route("/api/shoots", shootsApi)
  .route("/api/shoots", archive)
  .route("/api/shoots", packsApi)
  .route("/api/channels", channelsApi)
  .route("/api/shoots", reviewLinks)
  .route("/api/review", review)
  .route("/api/presets", presets)
  .route("/api/assets", assetsApi)
  .route("/api/batches", batchesApi)
  .route("/api/recipes", recipesApi)
  .route("/api/webhook-endpoints", webhookEndpointsApi)
  .route("/webhooks", webhooks)
  // Signed-URL blob access for the media service and providers: not part of the public API, so
  // a plain Hono router outside the document (tests/worker/contract.test.ts says why).
  .route("/internal", internal)
  .all("/api/*", () => {
    throw notFound("route");
  });
app.onError((err, c) => renderProblem(c, err));
registerSecuritySchemes(app);
