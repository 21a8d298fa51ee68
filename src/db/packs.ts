/** Channel pack rows (issue 20) and the pack's files, which are `pack` assets of the pack's version. */
import { and, asc, desc, eq } from "drizzle-orm";
import type { ChannelSpec } from "../domain/channels.ts";
import type { PackStatus } from "../domain/contract.ts";
import { extensionFor } from "../storage/r2.ts";
import type { AssetRow } from "./assets.ts";
import type { Db } from "./client.ts";
import { assets, packs } from "./schema.ts";

export type PackRow = Omit<typeof packs.$inferSelect, "channels"> & { channels: ChannelSpec[] };

/** A pack's id: also its DeliverWorkflow instance's and its media job's (`<shoot>-pack-<version>`). */
export const packId = (shootId: string, version: number) => `${shootId}-pack-${version}`;

/** Inserts the pack once; a second request for the same version gets false (someone else made it). */
export async function createPack(d: Db, p: { shootId: string; accountId: string; version: number; channels: ChannelSpec[] }): Promise<boolean> {
  const res = await d
    .insert(packs)
    .values({ id: packId(p.shootId, p.version), ...p, status: "running" })
    .onConflictDoNothing()
    .run();
  return (res.meta?.changes ?? 0) > 0;
}

export async function latestPack(d: Db, shootId: string): Promise<PackRow | undefined> {
  return (await d.select().from(packs).where(eq(packs.shootId, shootId)).orderBy(desc(packs.version)).limit(1).get()) as PackRow | undefined;
}

export async function getPack(d: Db, id: string): Promise<PackRow | undefined> {
  return (await d.select().from(packs).where(eq(packs.id, id)).get()) as PackRow | undefined;
}

export async function finishPack(d: Db, id: string, status: Exclude<PackStatus, "running">, error?: string): Promise<void> {
  await d
    .update(packs)
    .set({ status, error: error ?? null, updatedAt: new Date().toISOString() })
    .where(eq(packs.id, id))
    .run();
}

/** The files of one pack, by channel then source (the reel or hero first, then frames in order). */
export function packAssets(d: Db, shootId: string, version: number): Promise<AssetRow[]> {
  return d
    .select()
    .from(assets)
    .where(and(eq(assets.shootId, shootId), eq(assets.kind, "pack"), eq(assets.version, version)))
    .orderBy(asc(assets.channel), asc(assets.index))
    .all();
}

/** What a pack file was made from: index 0 is the reel (video) or the hero (still), n is frame n. */
export function packSource(a: Pick<AssetRow, "index" | "mime">): string {
  if (a.index > 0) return `frame-${a.index}`;
  return a.mime.startsWith("video/") ? "reel" : "hero";
}

/** A pack file's name in its channel's folder: `reel.mp4`, `hero.jpg`, `frame-3.jpg`. */
export const packFileName = (a: Pick<AssetRow, "index" | "mime">) => `${packSource(a)}.${extensionFor(a.mime)}`;
