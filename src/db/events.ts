/** The append-only event log behind the shoot timeline and the SSE stream. */
import { and, asc, eq, gt } from "drizzle-orm";
import type { Db } from "./client.ts";
import { events } from "./schema.ts";

export type EventType =
  | "shoot.created"
  | "stage.started"
  | "job.queued"
  | "job.resumed"
  | "job.submitted"
  | "job.completed"
  | "job.failed"
  | "job.recovered"
  | "job.duplicate"
  | "asset.stored"
  | "checkpoint.pending"
  | "checkpoint.resolved"
  | "shoot.completed"
  | "shoot.failed"
  | "shoot.cancelled"
  | "shoot.expired"
  | "shoot.woken";

export async function logEvent(
  d: Db,
  e: { shootId: string; accountId: string; type: EventType; data?: unknown },
): Promise<void> {
  await d.insert(events).values({ ...e, data: e.data ?? null });
}

export function eventsSince(d: Db, shootId: string, afterId = 0, limit = 200) {
  return d
    .select()
    .from(events)
    .where(and(eq(events.shootId, shootId), gt(events.id, afterId)))
    .orderBy(asc(events.id))
    .limit(limit)
    .all();
}
