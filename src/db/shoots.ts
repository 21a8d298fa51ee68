/** Shoot rows: the D1 mirror of each workflow instance, for listing, filtering and access checks. */
import { and, count, desc, eq, gt, inArray, lt, or, type SQL } from "drizzle-orm";
import { type FinalShootStatus, LIVE_SHOOT_STATUSES, type ShootStatus, type Stage } from "../domain/contract.ts";
import type { ShootParams } from "../domain/shoot.ts";
import { sha256Hex } from "../lib/crypto.ts";
import type { Db } from "./client.ts";
import { shoots } from "./schema.ts";

export type ShootRow = typeof shoots.$inferSelect;

/** With an idempotency key the shoot id is derived from it, so a retried request cannot start a second shoot. */
export async function idempotentShootId(accountId: string, key: string): Promise<string> {
  return `sh_${(await sha256Hex(`${accountId}\n${key}`)).slice(0, 24)}`;
}

export function getShoot(d: Db, accountId: string, id: string) {
  return d
    .select()
    .from(shoots)
    .where(and(eq(shoots.id, id), eq(shoots.accountId, accountId)))
    .get();
}

export function getShootById(d: Db, id: string) {
  return d.select().from(shoots).where(eq(shoots.id, id)).get();
}

export function shootByIdempotencyKey(d: Db, accountId: string, key: string) {
  return d
    .select()
    .from(shoots)
    .where(and(eq(shoots.accountId, accountId), eq(shoots.idempotencyKey, key)))
    .get();
}

export async function insertShoot(
  d: Db,
  s: { id: string; accountId: string; brief: string; params: ShootParams; idempotencyKey?: string | null; batchId?: string | null },
): Promise<void> {
  await d.insert(shoots).values({
    id: s.id,
    accountId: s.accountId,
    brief: s.brief,
    params: s.params,
    status: "running",
    stage: "plan",
    idempotencyKey: s.idempotencyKey ?? null,
    batchId: s.batchId ?? null,
  });
}

export async function updateShoot(
  d: Db,
  id: string,
  patch: Partial<{ status: ShootStatus; stage: Stage; plan: unknown; error: string | null; completedAt: string }>,
): Promise<void> {
  await d
    .update(shoots)
    .set({ ...patch, updatedAt: new Date().toISOString() })
    .where(eq(shoots.id, id));
}

/** Moves a shoot to a final state unless it already is in one (a cancel never un-finishes a shoot). */
export async function finishShoot(d: Db, id: string, status: FinalShootStatus, error?: string) {
  const now = new Date().toISOString();
  const res = await d
    .update(shoots)
    .set({ status, error: error ?? null, completedAt: now, updatedAt: now })
    .where(and(eq(shoots.id, id), inArray(shoots.status, LIVE_SHOOT_STATUSES)))
    .run();
  return (res.meta?.changes ?? 0) > 0;
}

export interface ListFilter {
  status?: ShootStatus;
  stage?: Stage;
  flagged?: boolean;
  cursor?: { createdAt: string; id: string };
  limit: number;
}

/** How many of an account's shoots are running (working, not at a checkpoint): the batch's room to run. */
export async function runningShoots(d: Db, accountId: string): Promise<number> {
  const row = await d
    .select({ n: count() })
    .from(shoots)
    .where(and(eq(shoots.accountId, accountId), eq(shoots.status, "running")))
    .get();
  return row?.n ?? 0;
}

export function listShoots(d: Db, accountId: string, f: ListFilter) {
  const where: SQL[] = [eq(shoots.accountId, accountId)];
  if (f.status) where.push(eq(shoots.status, f.status));
  if (f.stage) where.push(eq(shoots.stage, f.stage));
  if (f.flagged !== undefined) where.push(f.flagged ? gt(shoots.flagged, 0) : eq(shoots.flagged, 0));
  if (f.cursor) {
    where.push(or(lt(shoots.createdAt, f.cursor.createdAt), and(eq(shoots.createdAt, f.cursor.createdAt), lt(shoots.id, f.cursor.id)))!);
  }
  return d
    .select()
    .from(shoots)
    .where(and(...where))
    .orderBy(desc(shoots.createdAt), desc(shoots.id))
    .limit(f.limit + 1)
    .all();
}

/** Only for undoing a create whose workflow could not be started. */
export async function deleteShoot(d: Db, id: string): Promise<void> {
  await d.delete(shoots).where(eq(shoots.id, id));
}
