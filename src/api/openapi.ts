/** The OpenAPI document, built from the same zod schemas the routes validate with. */
import { z } from "zod";
import { CreateShootSchema, DecisionSchema } from "../domain/shoot.ts";

const json = (schema: z.ZodType) => ({ "application/json": { schema: z.toJSONSchema(schema, { io: "input" }) } });
const problem = { description: "Problem details naming the offending field", content: { "application/problem+json": { schema: { type: "object" } } } };
const ok = (description: string) => ({ description, content: { "application/json": { schema: { type: "object" } } } });
const auth = [{ bearer: [] }];

export function openApiDocument(origin: string) {
  return {
    openapi: "3.1.0",
    info: { title: "Atelier API", version: "1.0.0", description: "Durable AI fashion shoots: uploads, shoots, checkpoints, media." },
    servers: [{ url: origin }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths: {
      "/api/health": { get: { summary: "Health", responses: { 200: ok("Healthy") } } },
      "/api/uploads": {
        post: {
          summary: "Upload reference images (multipart field `files`)",
          security: auth,
          requestBody: { content: { "multipart/form-data": { schema: { type: "object", properties: { files: { type: "array", items: { type: "string", format: "binary" } } } } } } },
          responses: { 201: ok("{ uploads: [{ id, url, mime, bytes, width, height }] }"), 400: problem, 401: problem },
        },
      },
      "/api/shoots": {
        post: { summary: "Create a shoot", security: auth, requestBody: { content: json(CreateShootSchema) }, responses: { 201: ok("{ id, status, stage }"), 200: ok("Replay of an idempotent create"), 400: problem, 401: problem } },
        get: {
          summary: "List shoots",
          security: auth,
          parameters: ["status", "stage", "cursor", "limit"].map((name) => ({ name, in: "query", schema: { type: "string" } })),
          responses: { 200: ok("{ shoots, nextCursor }"), 400: problem },
        },
      },
      "/api/shoots/{id}": { get: { summary: "Get a shoot with stages, checkpoints, assets, costs and timeline", security: auth, responses: { 200: ok("Shoot"), 404: problem } } },
      "/api/shoots/{id}/events": { get: { summary: "Live events (Server-Sent Events; resume with Last-Event-ID)", security: auth, responses: { 200: { description: "text/event-stream" } } } },
      "/api/shoots/{id}/checkpoints/{stage}/decision": {
        post: { summary: "Approve, revise or cancel the pending checkpoint", security: auth, requestBody: { content: json(DecisionSchema) }, responses: { 202: ok("Accepted"), 400: problem, 404: problem, 409: problem } },
      },
      "/api/shoots/{id}/cancel": { post: { summary: "Cancel a shoot", security: auth, responses: { 202: ok("Accepted"), 404: problem, 409: problem } } },
      "/api/assets/{id}/content": {
        get: { summary: "Asset bytes (Range, ETag); bearer key or signed URL", responses: { 200: { description: "bytes" }, 206: { description: "partial" }, 304: { description: "not modified" }, 404: problem, 416: problem } },
      },
      "/webhooks/fal": { post: { summary: "FAL webhook (Ed25519-signed)", responses: { 200: ok("ok"), 401: problem } } },
      "/webhooks/kling/{jobId}": { post: { summary: "Kling callback (per-job token, re-checked)", responses: { 200: ok("ok"), 401: problem } } },
    },
  };
}
