/**
 * `GET /api/shoots/:id/archive`: a zip of every approved asset, streamed from R2 as it is read
 * (client-zip stores, not compresses: images and video gain nothing from deflate).
 */
import { $, createRoute, z } from "@hono/zod-openapi";
import { downloadZip } from "client-zip";
import { assetsByIds, type AssetRow } from "../db/assets.ts";
import { checkpointsForShoot } from "../db/checkpoints.ts";
import { db } from "../db/client.ts";
import { getShoot } from "../db/shoots.ts";
import { STAGES } from "../domain/contract.ts";
import { extensionFor } from "../storage/r2.ts";
import { requireApiKey } from "./auth.ts";
import { router } from "./openapi.ts";
import { conflict, notFound, Problem } from "./problem.ts";
import * as S from "./schemas.ts";

/** The file name an asset gets inside the archive, e.g. `frames/frame-3-v2.png`. */
export function archiveName(a: Pick<AssetRow, "kind" | "index" | "version" | "mime">): string {
  const ext = extensionFor(a.mime);
  const folder = ({ frame: "frames/", clip: "clips/" } as Record<string, string>)[a.kind] ?? "";
  const index = a.kind === "frame" || a.kind === "clip" ? `-${a.index}` : "";
  return `${folder}${a.kind}${index}-v${a.version}.${ext}`;
}

const archiveRoute = createRoute({
  method: "get",
  path: "/{id}/archive",
  operationId: "getShootArchive",
  summary: "A zip of every approved asset, streamed",
  description: "The last approved attempt of each stage; entries are stored, not compressed (`frames/frame-3-v2.png`, `reel-v1.mp4`).",
  tags: ["shoots"],
  security: S.bearer,
  request: { params: S.ShootIdParam },
  responses: {
    200: { description: "The zip", content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } } },
    ...S.problems(401, 404, 409, 503),
  },
});

export const archive = $(router().use(requireApiKey)).openapi(archiveRoute, async (c) => {
  const d = db(c.env.DB);
  const { id } = c.req.valid("param");
  const shoot = await getShoot(d, c.get("accountId"), id);
  if (!shoot) throw notFound(`shoot ${id}`);
  // The last approved attempt of each stage names the assets that were approved.
  const approved = new Map<string, string[]>();
  for (const cp of await checkpointsForShoot(d, shoot.id)) {
    if (cp.status !== "approved" && cp.status !== "auto_approved") continue;
    const ids = (cp.artifacts as { assets?: string[]; error?: string } | null)?.error ? [] : ((cp.artifacts as { assets?: string[] } | null)?.assets ?? []);
    approved.set(cp.stage, ids);
  }
  const ids = STAGES.flatMap((s) => approved.get(s) ?? []);
  if (ids.length === 0) throw conflict("nothing in this shoot is approved yet");
  const rows = await assetsByIds(d, shoot.accountId, ids);
  const ordered = ids.map((id) => rows.find((r) => r.id === id)).filter((r): r is AssetRow => !!r);

  // Check every object first, so a missing one is a clear error instead of a truncated 200.
  const heads = await Promise.all(ordered.map((a) => c.env.BUCKET.head(a.r2Key)));
  const missing = ordered.filter((_, i) => !heads[i]);
  if (missing.length) {
    console.error(JSON.stringify({ msg: "archive: objects missing", shoot: shoot.id, assets: missing.map((a) => a.id) }));
    throw new Problem(503, "Unavailable", "some approved assets could not be read; try again");
  }
  const bucket = c.env.BUCKET;
  async function* files() {
    for (const [i, a] of ordered.entries()) {
      // Fetched one at a time as the zip is written: the Worker holds one object body open at once.
      const obj = await bucket.get(a.r2Key);
      if (!obj) throw new Error(`object ${a.r2Key} vanished while zipping`);
      yield { name: archiveName(a), input: obj.body, lastModified: heads[i]!.uploaded, size: heads[i]!.size };
    }
  }
  const zip = downloadZip(files(), { metadata: ordered.map((a, i) => ({ name: archiveName(a), size: heads[i]!.size })) });
  const headers = new Headers(zip.headers);
  headers.set("content-disposition", `attachment; filename="${shoot.id}.zip"`);
  headers.set("cache-control", "private, no-store");
  return c.body(zip.body!, 200, Object.fromEntries(headers));
});
