/**
 * Request body size limits, by route, enforced on the stream (a lying or absent Content-Length does
 * not get past). Media-service PUTs to /internal/blobs carry their own limit there.
 */
import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../api/app-env.ts";
import { Problem } from "../api/problem.ts";
import { MAX_UPLOAD_BODY_BYTES } from "../api/uploads.ts";

export const MAX_JSON_BODY_BYTES = 256 * 1024;
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
/** A batch carries up to 500 shoot specs (a brief alone may be 2000 characters), as JSON or CSV. */
export const MAX_BATCH_BODY_BYTES = 2 * 1024 * 1024;
/**
 * A batch with its photos (multipart): the whole request is checked before anything is stored, so it
 * is held in memory (a Worker has 128 MB, and each photo is kept twice while its metadata is
 * stripped). A bigger season goes as several batches, or names its photos by URL or upload id.
 */
export const MAX_INTAKE_BODY_BYTES = 48 * 1024 * 1024;

const limit = (maxSize: number, what: string) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new Problem(413, "Content too large", `${what} may be at most ${formatBytes(maxSize)}`, [
        { field: "body", message: `is larger than ${formatBytes(maxSize)}` },
      ]);
    },
  });

const uploads = limit(MAX_UPLOAD_BODY_BYTES, "an upload request");
const json = limit(MAX_JSON_BODY_BYTES, "a request body");
const webhooks = limit(MAX_WEBHOOK_BODY_BYTES, "a webhook body");
const batches = limit(MAX_BATCH_BODY_BYTES, "a batch");
const intake = limit(MAX_INTAKE_BODY_BYTES, "a batch with its photos");

export const bodyLimits = createMiddleware<AppEnv>(async (c, next) => {
  const path = c.req.path;
  if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "OPTIONS") return next();
  if (path.startsWith("/internal/")) return next();
  if (path === "/api/uploads" || path.startsWith("/api/uploads/")) return uploads(c, next);
  if (path.startsWith("/webhooks/")) return webhooks(c, next);
  if (path === "/api/batches") return /multipart\/form-data/i.test(c.req.header("content-type") ?? "") ? intake(c, next) : batches(c, next);
  return json(c, next);
});

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MB` : `${Math.round(n / 1024)} KB`;
}
