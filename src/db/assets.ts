/** Asset rows: every stored object with its size, type, hash, dimensions and provenance. */
import { and, asc, eq, inArray } from "drizzle-orm";
import { newId } from "../lib/crypto.ts";
import type { StoredObject } from "../storage/r2.ts";
import type { Db } from "./client.ts";
import { assets } from "./schema.ts";

export type AssetRow = typeof assets.$inferSelect;
export type AssetKind = AssetRow["kind"];

/** Inserts once per R2 key: a retried step gets the row the first attempt wrote. */
export async function recordAsset(
  d: Db,
  a: {
    accountId: string;
    shootId: string | null;
    kind: AssetKind;
    /** A chosen id (e.g. derived from the content, so the same photo is one asset); default a new one. */
    id?: string;
    stage?: string | null;
    index?: number;
    version?: number;
    channel?: string | null;
    stored: StoredObject;
    provenance?: unknown;
  },
): Promise<AssetRow> {
  const { stored } = a;
  await d
    .insert(assets)
    .values({
      id: a.id ?? newId("as"),
      accountId: a.accountId,
      shootId: a.shootId,
      kind: a.kind,
      stage: a.stage ?? null,
      index: a.index ?? 0,
      version: a.version ?? 1,
      r2Key: stored.key,
      bytes: stored.bytes,
      mime: stored.mime,
      sha256: stored.sha256,
      width: stored.width ?? null,
      height: stored.height ?? null,
      duration: stored.duration ?? null,
      channel: a.channel ?? null,
      provenance: a.provenance ?? null,
    })
    .onConflictDoNothing({ target: assets.r2Key });
  return (await d.select().from(assets).where(eq(assets.r2Key, stored.key)).get())!;
}

export function getAssetById(d: Db, id: string) {
  return d.select().from(assets).where(eq(assets.id, id)).get();
}

export function assetsByIds(d: Db, accountId: string, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([] as AssetRow[]);
  return d
    .select()
    .from(assets)
    .where(and(eq(assets.accountId, accountId), inArray(assets.id, ids)))
    .all();
}

export function assetsForShoot(d: Db, shootId: string) {
  return d
    .select()
    .from(assets)
    .where(eq(assets.shootId, shootId))
    .orderBy(asc(assets.createdAt), asc(assets.kind), asc(assets.index), asc(assets.version))
    .all();
}
