/**
 * Raw object access for the media service and providers, by signed URL only: each URL names one
 * key, one method and an expiry, so the container and FAL/Kling never hold R2 credentials.
 */
import { Hono } from "hono";
import { d1Bytes, meterSnapshot } from "../meter.ts";
import { verifySignedPath } from "../storage/signing.ts";
import type { AppEnv } from "./auth.ts";
import { notFound, Problem } from "./problem.ts";

const MAX_PUT_BYTES = 1024 * 1024 * 1024;

export const internal = new Hono<AppEnv>()
  // Resource counters for bench:scale (src/meter.ts): only when METER is "true", never in production.
  .get("/meter", async (c) => {
    if (c.env.METER !== "true") throw notFound("route");
    const counts = meterSnapshot(c.req.query("reset") === "1");
    return c.json(c.req.query("bytes") === "1" ? { ...counts, d1Bytes: await d1Bytes(c.env.DB) } : counts);
  })
  .use("/blobs/*", async (c, next) => {
    const method = c.req.method === "PUT" ? "PUT" : "GET";
    const path = new URL(c.req.url).pathname;
    if (!(await verifySignedPath(c.env, method, path, c.req.query("exp"), c.req.query("sig")))) {
      throw new Problem(403, "Forbidden", "the signed URL is missing, invalid or expired");
    }
    await next();
  })
  .get("/blobs/*", async (c) => {
    const key = blobKey(c.req.url);
    const obj = await c.env.BUCKET.get(key);
    if (!obj) throw notFound("object");
    return new Response(obj.body, {
      headers: {
        "content-type": obj.httpMetadata?.contentType ?? "application/octet-stream",
        "content-length": String(obj.size),
        etag: obj.httpEtag,
      },
    });
  })
  .put("/blobs/*", async (c) => {
    const key = blobKey(c.req.url);
    const length = Number(c.req.header("content-length"));
    if (!Number.isFinite(length) || length <= 0) throw new Problem(411, "Length required", "send Content-Length");
    if (length > MAX_PUT_BYTES) throw new Problem(413, "Too large", "object is too large");
    const body = c.req.raw.body!.pipeThrough(new FixedLengthStream(length));
    await c.env.BUCKET.put(key, body, { httpMetadata: { contentType: c.req.header("content-type") ?? "application/octet-stream" } });
    return c.body(null, 201);
  });

function blobKey(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice("/internal/blobs/".length));
}
