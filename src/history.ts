/**
 * Compaction (the cron): a shoot that ended more than COMPACT_AFTER ago ("0 days": never) moves its
 * timeline events, its jobs' request and result payloads, its plan, its own assets' provenance and
 * its checkpoints' artifacts (findings, frame boxes) to one JSON object in R2, so the D1 bytes a
 * finished shoot keeps stop growing with how much it did (issue 21). What stays in D1 is
 * what lists, costs, budgets, reports and downloads read: the shoot, asset and checkpoint rows, each
 * checkpoint's asset ids and error, and each job row without its payloads. The API still serves all
 * of it (`readHistory`, `shootTimeline`, `restoreAssets`, `restoreCheckpoints`).
 *
 * Order makes it safe to crash anywhere: the archive is written first (a re-run writes the same),
 * then one D1 batch deletes the archived events (by id, so an event written meanwhile stays),
 * empties the payloads and marks the shoot compacted.
 */
import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";
import { db, schema, type Db } from "./db/client.ts";
import { eventsSince } from "./db/events.ts";
import type { ShootRow } from "./db/shoots.ts";
import { FINAL_SHOOT_STATUSES } from "./domain/contract.ts";
import { durationMs } from "./lib/duration.ts";
import { sqlList } from "./lib/sql.ts";
import { historyKey } from "./storage/history-keys.ts";

type EventRow = typeof schema.events.$inferSelect;

export interface History {
  shootId: string;
  compactedAt: string;
  events: EventRow[];
  jobs: { id: string; request: unknown; result: unknown }[];
  /** The shoot's plan (the angles and their prompts), shown on its page. */
  plan?: unknown;
  /** By asset id: the shoot's own assets' provenance (pack files keep theirs in D1). */
  provenance?: Record<string, unknown>;
  /** By checkpoint id: the artifacts as the checkpoint showed them. */
  artifacts?: Record<string, unknown>;
}

/** What a compacted checkpoint keeps in D1: the asset ids (downloads, packs) and an error shown. */
function slimArtifacts(artifacts: unknown): { assets: string[]; error?: string } {
  const a = (artifacts ?? {}) as { assets?: string[]; error?: string };
  return { assets: a.assets ?? [], ...(a.error ? { error: a.error } : {}) };
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
      `SELECT id, account_id AS accountId, plan FROM shoots
        WHERE compacted_at IS NULL AND status IN (${sqlList(FINAL_SHOOT_STATUSES)}) AND coalesce(completed_at, updated_at) < ?1
        ORDER BY coalesce(completed_at, updated_at) LIMIT ?2`,
    )
      .bind(new Date(now - after).toISOString(), limit)
      .all<{ id: string; accountId: string; plan: string | null }>()
  ).results;

  const d = db(env.DB);
  for (const s of due) {
    const compactedAt = new Date(now).toISOString();
    const [events, jobs, made, checkpoints] = await Promise.all([
      d.select().from(schema.events).where(eq(schema.events.shootId, s.id)).orderBy(asc(schema.events.id)).all(),
      d.select({ id: schema.jobs.id, request: schema.jobs.request, result: schema.jobs.result }).from(schema.jobs).where(eq(schema.jobs.shootId, s.id)).all(),
      d
        .select({ id: schema.assets.id, provenance: schema.assets.provenance })
        .from(schema.assets)
        .where(and(eq(schema.assets.shootId, s.id), isNull(schema.assets.channel), isNotNull(schema.assets.provenance)))
        .all(),
      d
        .select({ id: schema.checkpoints.id, artifacts: schema.checkpoints.artifacts })
        .from(schema.checkpoints)
        .where(eq(schema.checkpoints.shootId, s.id))
        .all(),
    ]);
    const history: History = {
      shootId: s.id,
      compactedAt,
      events,
      jobs: jobs.filter((j) => j.request !== null || j.result !== null),
      plan: s.plan === null ? null : JSON.parse(s.plan),
      provenance: Object.fromEntries(made.map((a) => [a.id, a.provenance])),
      artifacts: Object.fromEntries(checkpoints.map((c) => [c.id, c.artifacts])),
    };
    const body = JSON.stringify(history);
    await env.BUCKET.put(historyKey(s.accountId, s.id), body, { httpMetadata: { contentType: "application/json" } });
    const lastId = events.at(-1)?.id ?? 0;
    await env.DB.batch([
      env.DB.prepare("DELETE FROM events WHERE shoot_id = ?1 AND id <= ?2").bind(s.id, lastId),
      env.DB.prepare("UPDATE jobs SET request = NULL, result = NULL WHERE shoot_id = ?1").bind(s.id),
      env.DB.prepare("UPDATE assets SET provenance = NULL WHERE shoot_id = ?1 AND channel IS NULL").bind(s.id),
      ...checkpoints.map((c) => env.DB.prepare("UPDATE checkpoints SET artifacts = ?2 WHERE id = ?1").bind(c.id, JSON.stringify(slimArtifacts(c.artifacts)))),
      env.DB.prepare("UPDATE shoots SET plan = NULL, compacted_at = ?2 WHERE id = ?1").bind(s.id, compactedAt),
    ]);
    report.shoots.push({ id: s.id, events: events.length, jobs: history.jobs.length, bytes: body.length });
  }
  if (report.shoots.length) console.log(JSON.stringify({ msg: "compacted ended shoots", count: report.shoots.length }));
  return report;
}

/** A compacted shoot's archive; null for a shoot not compacted (or an archive gone missing). */
export async function readHistory(env: Env, shoot: Pick<ShootRow, "id" | "accountId" | "compactedAt">): Promise<History | null> {
  if (!shoot.compactedAt) return null;
  const obj = await env.BUCKET.get(historyKey(shoot.accountId, shoot.id));
  return obj ? ((await obj.json()) as History) : null;
}

/**
 * A shoot's timeline, oldest first, at most `limit` events: from its archive when it was
 * compacted, then whatever D1 holds after it (a pack made later logs there).
 */
export async function shootTimeline(d: Db, shootId: string, history: History | null, afterId = 0, limit = 1000): Promise<EventRow[]> {
  const archived = (history?.events ?? []).filter((e) => e.id > afterId);
  const live = await eventsSince(d, shootId, Math.max(afterId, archived.at(-1)?.id ?? 0), limit);
  return [...archived, ...live].slice(0, limit);
}

/** Asset rows with the provenance compaction moved to the archive put back. */
export function restoreAssets<T extends { id: string; provenance: unknown }>(rows: T[], history: History | null): T[] {
  const moved = history?.provenance ?? {};
  return rows.map((a) => (a.provenance === null && a.id in moved ? { ...a, provenance: moved[a.id] } : a));
}

/** Checkpoint rows with their artifacts as shown, from the archive when compacted. */
export function restoreCheckpoints<T extends { id: string; artifacts: unknown }>(rows: T[], history: History | null): T[] {
  const moved = history?.artifacts ?? {};
  return rows.map((c) => (c.id in moved ? { ...c, artifacts: moved[c.id] } : c));
}
