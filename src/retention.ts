/**
 * Retention (the cron): deletes the objects and rows of shoots that ended long enough ago —
 * cancelled, expired and failed after RETENTION_ENDED, completed after RETENTION_COMPLETED
 * ("0 days": never) — and uploads no remaining shoot references, after RETENTION_ENDED. Each
 * deletion is recorded in retention_log.
 *
 * Never one without the other: the log row is written first, then the R2 objects are deleted, then
 * every D1 row of the shoot goes in one batch that also closes the log row. A crash in between
 * leaves the rows as the to-do list; the next run finds the same shoot again and finishes it.
 */
import { db } from "./db/client.ts";
import { durationMs } from "./lib/duration.ts";
import { closeBatchesOf } from "./notify/emit.ts";
import { FINAL_SHOOT_STATUSES } from "./domain/contract.ts";
import { sqlList } from "./lib/sql.ts";

export interface RetentionReport {
  shoots: { id: string; reason: string; objects: number; bytes: number }[];
  uploads: { id: string; objects: number; bytes: number }[];
}

const cutoff = (now: number, duration: string) => {
  const ms = durationMs(duration || "0 days", 0);
  return ms > 0 ? new Date(now - ms).toISOString() : null;
};

export async function runRetention(env: Env, now = Date.now(), limit = 20): Promise<RetentionReport> {
  const report: RetentionReport = { shoots: [], uploads: [] };
  const ended = cutoff(now, env.RETENTION_ENDED);
  const completed = cutoff(now, env.RETENTION_COMPLETED);
  if (!ended && !completed) return report;

  const due = (
    await env.DB.prepare(
      `SELECT id, account_id AS accountId, status FROM shoots
        WHERE (status IN (${sqlList(FINAL_SHOOT_STATUSES.filter((s) => s !== "completed"))}) AND ?1 IS NOT NULL AND coalesce(completed_at, updated_at) < ?1)
           OR (status = 'completed' AND ?2 IS NOT NULL AND coalesce(completed_at, updated_at) < ?2)
        ORDER BY coalesce(completed_at, updated_at) LIMIT ?3`,
    )
      .bind(ended, completed, limit)
      .all<{ id: string; accountId: string; status: string }>()
  ).results;

  for (const s of due) {
    const reason = `${s.status}, past ${s.status === "completed" ? env.RETENTION_COMPLETED : env.RETENTION_ENDED}`;
    await env.DB.prepare("INSERT OR IGNORE INTO retention_log (subject, account_id, kind, reason) VALUES (?1, ?2, 'shoot', ?3)")
      .bind(s.id, s.accountId, reason)
      .run();
    // Every object of the shoot: its asset rows, and anything under its prefix without a row.
    const rows = (await env.DB.prepare("SELECT r2_key AS key, bytes FROM assets WHERE shoot_id = ?1").bind(s.id).all<{ key: string; bytes: number }>()).results;
    const keys = new Set(rows.map((r) => r.key));
    let bytes = rows.reduce((n, r) => n + r.bytes, 0);
    let cursor: string | undefined;
    do {
      const page = await env.BUCKET.list({ prefix: `accounts/${s.accountId}/shoots/${s.id}/`, cursor });
      for (const o of page.objects)
        if (!keys.has(o.key)) {
          keys.add(o.key);
          bytes += o.size;
        }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    const all = [...keys];
    for (let i = 0; i < all.length; i += 1000) await env.BUCKET.delete(all.slice(i, i + 1000));

    const del = (table: string) => env.DB.prepare(`DELETE FROM ${table} WHERE shoot_id = ?1`).bind(s.id);
    const results = await env.DB.batch([
      // Its batch row keeps the final status, so the batch's state still follows it without the shoot row.
      env.DB.prepare("UPDATE batch_rows SET outcome = coalesce(outcome, ?2) WHERE shoot_id = ?1").bind(s.id, s.status),
      del("assets"),
      del("checkpoints"),
      del("jobs"),
      del("events"),
      del("packs"),
      env.DB.prepare("DELETE FROM shoots WHERE id = ?1").bind(s.id),
    ]);
    const removedRows = results.slice(1).reduce((n, r) => n + (r.meta?.changes ?? 0), 0);
    await closeBatchesOf(env, db(env.DB), s.id);
    await env.DB.prepare("UPDATE retention_log SET objects = objects + ?2, bytes = bytes + ?3, rows = rows + ?4, finished_at = ?5 WHERE subject = ?1")
      .bind(s.id, all.length, bytes, removedRows, new Date(now).toISOString())
      .run();
    report.shoots.push({ id: s.id, reason, objects: all.length, bytes });
    console.log(JSON.stringify({ msg: "retention: deleted shoot", shoot: s.id, account: s.accountId, reason, objects: all.length, bytes, rows: removedRows }));
  }

  // Uploads (the most sensitive material) once no remaining shoot uses them.
  if (ended) {
    const uploads = (
      await env.DB.prepare(
        `SELECT a.id, a.account_id AS accountId, a.r2_key AS key, a.bytes FROM assets a
          WHERE a.kind = 'reference' AND a.shoot_id IS NULL AND a.created_at < ?1
            AND NOT EXISTS (SELECT 1 FROM shoots s, json_each(s.params, '$.references') r WHERE s.account_id = a.account_id AND r.value = a.id)
          LIMIT ?2`,
      )
        .bind(ended, limit * 8)
        .all<{ id: string; accountId: string; key: string; bytes: number }>()
    ).results;
    for (const u of uploads) {
      await env.DB.prepare("INSERT OR IGNORE INTO retention_log (subject, account_id, kind, reason) VALUES (?1, ?2, 'upload', ?3)")
        .bind(u.id, u.accountId, `unused upload, past ${env.RETENTION_ENDED}`)
        .run();
      await env.BUCKET.delete(u.key);
      await env.DB.batch([
        env.DB.prepare("DELETE FROM assets WHERE id = ?1").bind(u.id),
        env.DB.prepare("UPDATE retention_log SET objects = 1, bytes = ?2, rows = 1, finished_at = ?3 WHERE subject = ?1").bind(
          u.id,
          u.bytes,
          new Date(now).toISOString(),
        ),
      ]);
      report.uploads.push({ id: u.id, objects: 1, bytes: u.bytes });
    }
    if (uploads.length) console.log(JSON.stringify({ msg: "retention: deleted unused uploads", count: uploads.length }));
  }
  return report;
}
