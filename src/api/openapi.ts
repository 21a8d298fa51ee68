/**
 * Routers and the OpenAPI document. Every router is an `OpenAPIHono` made by `router()`, so its
 * `createRoute` declarations validate requests (failures become problem+json naming the field)
 * and land in `/api/openapi.json` when mounted with `app.route()`.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./auth.ts";
import { validationProblem } from "./problem.ts";

export const router = () => new OpenAPIHono<AppEnv>({ defaultHook: validationProblem });

export const DOCUMENT_PATH = "/api/openapi.json";

export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key of your account: `Authorization: Bearer atl_…`",
  });
}

export function documentConfig(origin: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "Atelier API",
      version: "1.0.0",
      description: "Durable AI fashion shoots: uploads, shoots, checkpoints, media. Errors are `application/problem+json` naming the offending field.",
    },
    servers: [{ url: origin }],
    tags: [
      { name: "uploads", description: "Reference photos" },
      { name: "shoots", description: "Shoots, checkpoints and live events" },
      { name: "assets", description: "Asset bytes" },
      { name: "review links", description: "Signed links that let someone without a key decide one checkpoint once" },
      { name: "batches", description: "Many shoots at once: intake with photos, quotes, status, retry, reports" },
      { name: "recipes", description: "Named, versioned settings that batches and shoots reuse" },
      { name: "webhook-endpoints", description: "Outbound webhooks to your systems: endpoints, secrets, delivery log" },
      { name: "webhooks", description: "Provider callbacks, verified by signature or per-job token" },
      { name: "meta", description: "Health and this document" },
    ],
  };
}
