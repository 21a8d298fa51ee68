/**
 * `GET /api/shoots/:id/archive`: a zip of every approved asset and of the latest ready channel pack,
 * streamed from R2 (./zip.ts).
 */
import { $, createRoute, z } from "@hono/zod-openapi";
import { assetsByIds, type AssetRow } from "../db/assets.ts";
import { approvedArtifacts } from "../db/checkpoints.ts";
import { latestPack, packAssets, packFileName } from "../db/packs.ts";
import { db } from "../db/client.ts";
import { getShoot } from "../db/shoots.ts";
import { STAGES } from "../domain/contract.ts";
import { extensionFor } from "../storage/r2.ts";
import { requireApiKey } from "./auth.ts";
import { router } from "./openapi.ts";
import { conflict, notFound } from "./problem.ts";
import { zipResponse } from "./zip.ts";
import * as S from "./schemas.ts";

/** The file name an asset gets inside the archive, e.g. `frames/frame-3-v2.png`, `channels/reels/reel.mp4`. */
export function archiveName(a: Pick<AssetRow, "kind" | "index" | "version" | "mime" | "channel">): string {
  const ext = extensionFor(a.mime);
  if (a.kind === "pack") return `channels/${a.channel}/${packFileName(a)}`;
  const folder = ({ frame: "frames/", clip: "clips/" } as Record<string, string>)[a.kind] ?? "";
  const index = a.kind === "frame" || a.kind === "clip" ? `-${a.index}` : "";
  return `${folder}${a.kind}${index}-v${a.version}.${ext}`;
}

const archiveRoute = createRoute({
  method: "get",
  path: "/{id}/archive",
  operationId: "getShootArchive",
  summary: "A zip of every approved asset, streamed",
  description:
    "The last approved attempt of each stage, and the latest ready channel pack a folder per channel; entries are stored, not compressed (`frames/frame-3-v2.png`, `reel-v1.mp4`, `channels/reels/reel.mp4`).",
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
  const approved = await approvedArtifacts(d, shoot.id);
  const ids = STAGES.flatMap((s) => approved.get(s)?.assets ?? []);
  if (ids.length === 0) throw conflict("nothing in this shoot is approved yet");
  const rows = await assetsByIds(d, shoot.accountId, ids);
  // The latest ready channel pack goes in too, a folder per channel.
  const pack = await latestPack(d, shoot.id);
  const packFiles = pack?.status === "ready" ? await packAssets(d, shoot.id, pack.version) : [];
  const ordered = [...ids.map((id) => rows.find((r) => r.id === id)).filter((r): r is AssetRow => !!r), ...packFiles];

  return zipResponse(
    c.env.BUCKET,
    ordered.map((a) => ({ name: archiveName(a), asset: a })),
    `${shoot.id}.zip`,
    `archive of ${shoot.id}`,
  );
});
