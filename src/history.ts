/**
 * Compaction (the cron): a shoot that ended more than COMPACT_AFTER ago ("0 days": never) moves its
 * timeline events and its jobs' request and result payloads to one JSON object in R2, so the D1
 * bytes a finished shoot keeps stop growing with how much it did (issue 21). What stays in D1 is
 * what lists, costs, budgets and reports read: the shoot, asset and checkpoint rows, and each job
 * row without its payloads. The API still serves the whole timeline (`shootTimeline`).
 *
 * Order makes it safe to crash anywhere: the archive is written first (a re-run writes the same),
 * then one D1 batch deletes the archived events (by id, so an event written meanwhile stays),
 * empties the payloads and marks the shoot compacted.
 */
import { asc, eq } from "drizzle-orm";
import { db, schema, type Db } from "./db/client.ts";
import { eventsSince } from "./db/events.ts";
import type { ShootRow } from "./db/shoots.ts";
import { FINAL_SHOOT_STATUSES } from "./domain/contract.ts";
import { durationMs } from "./lib/duration.ts";
import { sqlList } from "./lib/sql.ts";
import { historyKey } from "./storage/history-keys.ts";

type EventRow = typeof schema.events.$inferSelect;

interface History {
  shootId: string;
  compactedAt: string;
  events: EventRow[];
  jobs: { id: string; request: unknown; result: unknown }[];
}

export interface CompactionReport {
  shoots: { id: string; events: number; jobs: number; bytes: number }[];
}

export async function compactHistory(env: Env, now = Date.now(), limit = 20): Promise<CompactionReport> {
  const report: CompactionReport = { shoots: [] };
  const after = durationMs(env.COMPACT_AFTER || "0 days", 0);
  if (after <= 0) return report;
  const due = (
    await env.DB.prepare(
      // Served by the partial index shoots_compact_due: shoots compacted before are not read again.
      `SELECT id, account_id AS accountId FROM shoots
        WHERE compacted_at IS NULL AND status IN (${sqlList(FINAL_SHOOT_STATUSES)}) AND coalesce(completed_at, updated_at) < ?1
        ORDER BY coalesce(completed_at, updated_at) LIMIT ?2`,
    )
      .bind(new Date(now - after).toISOString(), limit)
      .all<{ id: string; accountId: string }>()
  ).results;

  const d = db(env.DB);
  for (const s of due) {
    const compactedAt = new Date(now).toISOString();
    const [events, jobs] = await Promise.all([
      d.select().from(schema.events).where(eq(schema.events.shootId, s.id)).orderBy(asc(schema.events.id)).all(),
      d.select({ id: schema.jobs.id, request: schema.jobs.request, result: schema.jobs.result }).from(schema.jobs).where(eq(schema.jobs.shootId, s.id)).all(),
    ]);
    const history: History = { shootId: s.id, compactedAt, events, jobs: jobs.filter((j) => j.request !== null || j.result !== null) };
    const body = JSON.stringify(history);
    await env.BUCKET.put(historyKey(s.accountId, s.id), body, { httpMetadata: { contentType: "application/json" } });
    const lastId = events.at(-1)?.id ?? 0;
    await env.DB.batch([
      env.DB.prepare("DELETE FROM events WHERE shoot_id = ?1 AND id <= ?2").bind(s.id, lastId),
      env.DB.prepare("UPDATE jobs SET request = NULL, result = NULL WHERE shoot_id = ?1").bind(s.id),
      env.DB.prepare("UPDATE shoots SET compacted_at = ?2 WHERE id = ?1").bind(s.id, compactedAt),
    ]);
    report.shoots.push({ id: s.id, events: events.length, jobs: history.jobs.length, bytes: body.length });
  }
  if (report.shoots.length) console.log(JSON.stringify({ msg: "compacted ended shoots", count: report.shoots.length }));
  return report;
}

/**
 * A shoot's timeline, oldest first, at most `limit` events: from its archive when it was
 * compacted, then whatever D1 holds after it (a pack made later logs there).
 */
export async function shootTimeline(env: Env, d: Db, shoot: ShootRow, afterId = 0, limit = 1000): Promise<EventRow[]> {
  let archived: EventRow[] = [];
  if (shoot.compactedAt) {
    const obj = await env.BUCKET.get(historyKey(shoot.accountId, shoot.id));
    if (obj) archived = ((await obj.json()) as History).events.filter((e) => e.id > afterId);
  }
  const live = await eventsSince(d, shoot.id, Math.max(afterId, archived.at(-1)?.id ?? 0), limit);
  return [...archived, ...live].slice(0, limit);
}
