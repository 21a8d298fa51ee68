/**
 * A zip of stored assets, streamed from R2 as it is read (client-zip stores, not compresses: images
 * and video gain nothing from deflate). The archive and a pack's channel download both send one.
 */
import { downloadZip } from "client-zip";
import type { AssetRow } from "../db/assets.ts";
import { Problem } from "./problem.ts";

export async function zipResponse(bucket: R2Bucket, entries: { name: string; asset: AssetRow }[], fileName: string, context: string): Promise<Response> {
  // Check every object first, so a missing one is a clear error instead of a truncated 200.
  const heads = await Promise.all(entries.map((e) => bucket.head(e.asset.r2Key)));
  const missing = entries.filter((_, i) => !heads[i]);
  if (missing.length) {
    console.error(JSON.stringify({ msg: "zip: objects missing", context, assets: missing.map((e) => e.asset.id) }));
    throw new Problem(503, "Unavailable", "some files could not be read; try again");
  }
  async function* files() {
    for (const [i, e] of entries.entries()) {
      // Fetched one at a time as the zip is written: the Worker holds one object body open at once.
      const obj = await bucket.get(e.asset.r2Key);
      if (!obj) throw new Error(`object ${e.asset.r2Key} vanished while zipping`);
      yield { name: e.name, input: obj.body, lastModified: heads[i]!.uploaded, size: heads[i]!.size };
    }
  }
  const zip = downloadZip(files(), { metadata: entries.map((e, i) => ({ name: e.name, size: heads[i]!.size })) });
  const headers = new Headers(zip.headers);
  headers.set("content-disposition", `attachment; filename="${fileName}"`);
  headers.set("cache-control", "private, no-store");
  return new Response(zip.body, { status: 200, headers });
}
