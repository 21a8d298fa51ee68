/** The append-only event log behind the shoot timeline and the SSE stream. */
import { and, asc, eq, gt } from "drizzle-orm";
import { checkEventData, type EventType, type ShootEventInput } from "../domain/events.ts";
import type { Db } from "./client.ts";
import { events } from "./schema.ts";

/** The row for an event, its payload checked against the event's schema (src/domain/events.ts). */
export function eventRow<T extends EventType>(e: ShootEventInput<T>) {
  return { shootId: e.shootId, accountId: e.accountId, type: e.type, data: checkEventData(e.type, e.data ?? null) ?? null };
}

export async function logEvent<T extends EventType>(d: Db, e: ShootEventInput<T>): Promise<void> {
  await d.insert(events).values(eventRow(e));
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
