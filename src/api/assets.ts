/**
 * Asset bytes from R2: Range (206/416, suffix ranges), ETag from the content hash with 304s, and
 * immutable private caching (an asset version never changes). Access is by the owning account's
 * API key or by a signed URL for exactly this asset.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { accountForKey } from "../db/accounts.ts";
import { getAssetById, type AssetRow } from "../db/assets.ts";
import { packSource } from "../db/packs.ts";
import { db } from "../db/client.ts";
import { extensionFor } from "../storage/r2.ts";
import { enforceRateLimit } from "../security/rate-limit.ts";
import { verifySignedPath } from "../storage/signing.ts";
import { router } from "./openapi.ts";
import { notFound, Problem } from "./problem.ts";
import * as S from "./schemas.ts";

const bytes = (description: string) => ({
  description,
  content: { "application/octet-stream": { schema: { type: "string" as const, contentMediaType: "application/octet-stream" } } },
});

const contentRoute = createRoute({
  method: "get",
  path: "/{id}/content",
  operationId: "getAssetContent",
  summary: "Asset bytes",
  description:
    "The stored bytes with their own content type (image/png, image/jpeg, image/webp, video/mp4). Range requests, ETag and If-None-Match. Authorised by the owning account's bearer key, or by the signed `exp` and `sig` of an asset URL from a response.",
  tags: ["assets"],
  // Either the bearer key or a signed URL (exp + sig), which needs no header.
  security: [...S.bearer, {}],
  request: {
    params: z.object({ id: z.string().min(1).max(64).openapi({ description: "Asset id" }) }),
    query: z.object({
      exp: z.string().optional().openapi({ description: "Signed URL expiry (Unix seconds)" }),
      sig: z.string().optional().openapi({ description: "Signed URL signature" }),
    }),
  },
  responses: {
    200: bytes("The whole asset"),
    206: bytes("The requested range"),
    304: { description: "Not modified (If-None-Match matched the ETag)" },
    416: { description: "Range not satisfiable; Content-Range gives the size" },
    ...S.problems(401, 404),
  },
});

export const assetsApi = router().openapi(contentRoute, async (c) => {
  const { id } = c.req.valid("param");
  const d = db(c.env.DB);
  const asset = await getAssetById(d, id);
  const path = new URL(c.req.url).pathname;
  const signed = await verifySignedPath(c.env, "GET", path, c.req.query("exp"), c.req.query("sig"));
  if (!signed) {
    const key = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!key) throw new Problem(401, "Unauthorized", "send Authorization: Bearer <api key> or use a signed URL");
    const who = await accountForKey(d, key);
    if (!who) throw new Problem(401, "Unauthorized", "the API key is not valid, has been revoked or has expired");
    await enforceRateLimit(c, who.keyId);
    // Another account's asset is indistinguishable from a missing one.
    if (!asset || asset.accountId !== who.accountId) throw notFound(`asset ${id}`);
  }
  if (!asset) throw notFound(`asset ${id}`);

  const etag = `"${asset.sha256}"`;
  const headers = new Headers({
    "content-type": asset.mime,
    etag,
    "accept-ranges": "bytes",
    "cache-control": "private, max-age=31536000, immutable",
    "content-disposition": `inline; filename="${downloadName(asset)}"`,
    "x-content-type-options": "nosniff",
  });
  if ((c.req.header("if-none-match") ?? "").split(/\s*,\s*/).includes(etag)) return new Response(null, { status: 304, headers });

  const size = asset.bytes;
  const range = parseRange(c.req.header("range"), size);
  if (range === "unsatisfiable") {
    headers.set("content-range", `bytes */${size}`);
    return new Response(null, { status: 416, headers });
  }
  const obj = await c.env.BUCKET.get(asset.r2Key, range ? { range: { offset: range.start, length: range.end - range.start + 1 } } : undefined);
  if (!obj) throw notFound(`content of asset ${id}`);
  if (range) {
    headers.set("content-range", `bytes ${range.start}-${range.end}/${size}`);
    headers.set("content-length", String(range.end - range.start + 1));
    return new Response(obj.body, { status: 206, headers });
  }
  headers.set("content-length", String(size));
  return new Response(obj.body, { status: 200, headers });
});

/** `frame-3-v2.png`; a pack file by its channel, `reels-reel-v1.mp4`. */
function downloadName(a: AssetRow): string {
  if (a.kind === "pack") return `${a.channel}-${packSource(a)}-v${a.version}.${extensionFor(a.mime)}`;
  return `${a.kind}${a.index ? `-${a.index}` : ""}-v${a.version}.${extensionFor(a.mime)}`;
}

/** One `bytes=` range (a-b, a-, -n). Multiple ranges are served as the whole file. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}
