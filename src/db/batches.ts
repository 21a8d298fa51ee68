/** Batches and their rows: intake writes them, the submission consumer places them, status reads them. */
import { and, desc, eq, inArray, like, lt, or, sql } from "drizzle-orm";
import { FINAL_SHOOT_STATUSES, type FinalShootStatus } from "../domain/contract.ts";
import type { ShootParams } from "../domain/shoot.ts";
import { roundUsd } from "../lib/prices.ts";
import type { Db } from "./client.ts";
import { batchRows, batches, jobs, shoots } from "./schema.ts";

export type BatchRowRecord = typeof batchRows.$inferSelect;
export type BatchRecord = typeof batches.$inferSelect;

export function getBatch(d: Db, accountId: string, id: string) {
  return d
    .select()
    .from(batches)
    .where(and(eq(batches.id, id), eq(batches.accountId, accountId)))
    .get();
}

/** Inserts the batch and every row in one transaction; an existing batch is left as it is. Returns whether it was new. */
export async function insertBatch(
  d: Db,
  b: { id: string; accountId: string; idempotencyKey: string; review: unknown; presets: unknown; recipe?: string | null; budgetUsd?: number | null },
  rows: { index: number; idempotencyKey: string; shootId: string; brief: string; sku?: string | null; quoteUsd?: number; params: ShootParams }[],
): Promise<boolean> {
  const existing = await d.select({ id: batches.id }).from(batches).where(eq(batches.id, b.id)).get();
  if (existing) return false;
  // One statement per row: D1 binds at most 100 parameters per statement.
  const [first] = await d.batch([
    d
      .insert(batches)
      .values({ ...b, total: rows.length })
      .onConflictDoNothing(),
    ...rows.map((r) =>
      d
        .insert(batchRows)
        .values({
          batchId: b.id,
          accountId: b.accountId,
          index: r.index,
          idempotencyKey: r.idempotencyKey,
          shootId: r.shootId,
          brief: r.brief,
          sku: r.sku ?? null,
          quoteUsd: r.quoteUsd ?? 0,
          params: r.params,
        })
        .onConflictDoNothing(),
    ),
  ]);
  return ((first as D1Result).meta?.changes ?? 0) > 0;
}

export function rowsOfBatch(d: Db, batchId: string) {
  return d.select().from(batchRows).where(eq(batchRows.batchId, batchId)).orderBy(batchRows.index).all();
}

/** In chunks: D1 binds at most 100 parameters per statement, and a delivery holds up to 100 rows. */
export async function rowsByIndex(d: Db, batchId: string, indices: number[]): Promise<BatchRowRecord[]> {
  const out: BatchRowRecord[] = [];
  for (let i = 0; i < indices.length; i += 90) {
    out.push(
      ...(await d
        .select()
        .from(batchRows)
        .where(and(eq(batchRows.batchId, batchId), inArray(batchRows.index, indices.slice(i, i + 90))))
        .all()),
    );
  }
  return out;
}

export async function markRows(d: Db, batchId: string, indices: number[], patch: Partial<Pick<BatchRowRecord, "state" | "error">>) {
  for (let i = 0; i < indices.length; i += 90) {
    await d
      .update(batchRows)
      .set({ ...patch, updatedAt: new Date().toISOString() })
      .where(and(eq(batchRows.batchId, batchId), inArray(batchRows.index, indices.slice(i, i + 90))));
  }
}

/** Records why a queued row was not placed; a wait for creation capacity is not a try (`countsAsTry: false`). */
export async function noteRowFailure(d: Db, batchId: string, index: number, error: string, opts: { countsAsTry?: boolean } = {}) {
  await d
    .update(batchRows)
    .set({ error, ...(opts.countsAsTry === false ? {} : { tries: sql`${batchRows.tries} + 1` }), updatedAt: new Date().toISOString() })
    .where(and(eq(batchRows.batchId, batchId), eq(batchRows.index, index), eq(batchRows.state, "queued")));
}

/**
 * Takes a batch's first parked row (queued, its error starting with `parkedPrefix`) for placing: its
 * error is cleared, so two shoots ending together take two rows, not one twice. Returns the row, or
 * nothing when the batch has none parked.
 */
export async function unparkNextRow(d: Db, batchId: string, parkedPrefix: string): Promise<{ batchId: string; index: number } | undefined> {
  for (let tries = 0; tries < 3; tries++) {
    const next = await d
      .select({ index: batchRows.index, error: batchRows.error })
      .from(batchRows)
      .where(and(eq(batchRows.batchId, batchId), eq(batchRows.state, "queued"), like(batchRows.error, `${parkedPrefix}%`)))
      .orderBy(batchRows.index)
      .limit(1)
      .get();
    if (!next) return undefined;
    const taken = await d
      .update(batchRows)
      .set({ error: null, updatedAt: new Date().toISOString() })
      .where(and(eq(batchRows.batchId, batchId), eq(batchRows.index, next.index), eq(batchRows.state, "queued"), eq(batchRows.error, next.error ?? "")))
      .run();
    if ((taken.meta?.changes ?? 0) > 0) return { batchId, index: next.index };
  }
  return undefined;
}

/** Accounts with rows still queued whose last change is older than `before` (the sweep's work list). */
export function accountsWithStaleRows(d: Db, before: string) {
  return d
    .selectDistinct({ accountId: batchRows.accountId })
    .from(batchRows)
    .where(and(eq(batchRows.state, "queued"), lt(batchRows.updatedAt, before)))
    .all();
}

/**
 * An account's first `limit` rows still queued whose last change is older than `before`, in row
 * order: rows parked for room to run, or whose message was lost.
 */
export function staleQueuedRows(d: Db, accountId: string, before: string, limit: number) {
  return d
    .select({ batchId: batchRows.batchId, index: batchRows.index })
    .from(batchRows)
    .where(and(eq(batchRows.accountId, accountId), eq(batchRows.state, "queued"), lt(batchRows.updatedAt, before)))
    .orderBy(batchRows.batchId, batchRows.index)
    .limit(limit)
    .all();
}

/**
 * Marks rows as just sent (the sweep's resends): their change time is now, and a parked row's wait
 * (its error starting with `parkedPrefix`) is cleared, so an ending shoot does not send it again.
 */
export async function touchRows(d: Db, keys: { batchId: string; index: number }[], parkedPrefix: string) {
  const now = new Date().toISOString();
  const unparked = sql`CASE WHEN ${batchRows.error} LIKE ${`${parkedPrefix}%`} THEN NULL ELSE ${batchRows.error} END`;
  for (let i = 0; i < keys.length; i += 50) {
    const chunk = keys.slice(i, i + 50);
    await d.batch(
      chunk.map((k) =>
        d
          .update(batchRows)
          .set({ updatedAt: now, error: unparked })
          .where(and(eq(batchRows.batchId, k.batchId), eq(batchRows.index, k.index))),
      ) as [never, ...never[]],
    );
  }
}

/** Each row with its shoot's state (null until placed). */
export function rowsWithShoots(d: Db, batchId: string) {
  return d
    .select({
      index: batchRows.index,
      idempotencyKey: batchRows.idempotencyKey,
      shootId: batchRows.shootId,
      attempt: batchRows.attempt,
      state: batchRows.state,
      tries: batchRows.tries,
      rowError: batchRows.error,
      outcome: batchRows.outcome,
      history: batchRows.history,
      brief: batchRows.brief,
      sku: batchRows.sku,
      quoteUsd: batchRows.quoteUsd,
      status: shoots.status,
      stage: shoots.stage,
      shootError: shoots.error,
      updatedAt: shoots.updatedAt,
      flagged: shoots.flagged,
      autoFixed: shoots.autoFixed,
      accountId: shoots.accountId,
      compactedAt: shoots.compactedAt,
    })
    .from(batchRows)
    .leftJoin(shoots, eq(shoots.id, batchRows.shootId))
    .where(eq(batchRows.batchId, batchId))
    .orderBy(batchRows.index)
    .all();
}

export async function batchCost(d: Db, batchId: string): Promise<number> {
  const row = await d
    .select({ usd: sql<number>`coalesce(sum(${jobs.costUsd}), 0)` })
    .from(jobs)
    .innerJoin(batchRows, eq(batchRows.shootId, jobs.shootId))
    .where(eq(batchRows.batchId, batchId))
    .get();
  return roundUsd(row?.usd ?? 0);
}

/** Marks the batch completed once every row is final (a shoot in a final state, or dead). Returns whether this call did. */
export async function completeBatchIfDone(d: Db, batchId: string): Promise<boolean> {
  const res = await d.run(sql`
    UPDATE batches SET status = 'completed', completed_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
    WHERE id = ${batchId} AND status = 'open' AND NOT EXISTS (
      SELECT 1 FROM batch_rows r LEFT JOIN shoots s ON s.id = r.shoot_id
      WHERE r.batch_id = ${batchId} AND r.state NOT IN ('dead', 'held')
        AND (r.state != 'created' OR coalesce(r.outcome, s.status) IS NULL OR coalesce(r.outcome, s.status) NOT IN (${sql.join(
          FINAL_SHOOT_STATUSES.map((s) => sql`${s}`),
          sql`, `,
        )}))
    )`);
  return (res.meta?.changes ?? 0) > 0;
}

/** Sets the outcome of the row(s) whose current shoot this is (a retried row has a new shoot id, so an old shoot cannot touch it). */
export async function recordOutcome(d: Db, shootId: string, status: FinalShootStatus) {
  await d
    .update(batchRows)
    .set({ outcome: status, updatedAt: new Date().toISOString() })
    .where(and(eq(batchRows.shootId, shootId), sql`${batchRows.outcome} IS NULL`));
}

/** A row's state for the batch status: queued or dead, else its shoot's (its recorded outcome first: the shoot row may be gone). */
export function rowState(r: { state: string; outcome: string | null; status: string | null }): string {
  return r.state === "created" ? (r.outcome ?? r.status ?? "running") : r.state;
}

export function batchIdsOfShoot(d: Db, shootId: string) {
  return d.select({ batchId: batchRows.batchId }).from(batchRows).where(eq(batchRows.shootId, shootId)).all();
}

export async function reopenBatch(d: Db, batchId: string) {
  await d.update(batches).set({ status: "open", completedAt: null }).where(eq(batches.id, batchId));
}

export function listBatches(d: Db, accountId: string, f: { cursor?: { createdAt: string; id: string }; limit: number }) {
  const where = [eq(batches.accountId, accountId)];
  if (f.cursor) {
    where.push(or(lt(batches.createdAt, f.cursor.createdAt), and(eq(batches.createdAt, f.cursor.createdAt), lt(batches.id, f.cursor.id)))!);
  }
  return d
    .select()
    .from(batches)
    .where(and(...where))
    .orderBy(desc(batches.createdAt), desc(batches.id))
    .limit(f.limit + 1)
    .all();
}

/** Row counts per state for several batches: `created` rows count by their shoot's status. */
export function stateCounts(d: Db, batchIds: string[]) {
  if (!batchIds.length) return Promise.resolve([]);
  return d
    .select({
      batchId: batchRows.batchId,
      state: sql<string>`case when ${batchRows.state} = 'created' then coalesce(${batchRows.outcome}, ${shoots.status}, 'running') else ${batchRows.state} end`,
      n: sql<number>`count(*)`,
    })
    .from(batchRows)
    .leftJoin(shoots, eq(shoots.id, batchRows.shootId))
    .where(inArray(batchRows.batchId, batchIds))
    .groupBy(batchRows.batchId, sql`2`)
    .all();
}

/** For each shoot of the batch whose latest provider-job event is `job.queued`: where it stands in the pool. */
export async function waitingShoots(d: Db, batchId: string): Promise<Map<string, string>> {
  const rows = await d.all<{ shoot_id: string; type: string; data: string | null }>(sql`
    SELECT e.shoot_id, e.type, e.data FROM events e
    JOIN (SELECT ev.shoot_id, max(ev.id) AS id FROM events ev
          JOIN batch_rows r ON r.shoot_id = ev.shoot_id AND r.batch_id = ${batchId}
          WHERE ev.type IN ('job.queued', 'job.submitted') GROUP BY ev.shoot_id) m ON m.id = e.id`);
  const out = new Map<string, string>();
  for (const r of rows) {
    if (r.type !== "job.queued" || !r.data) continue;
    const data = JSON.parse(r.data) as { waiting?: string };
    if (data.waiting) out.set(r.shoot_id, data.waiting);
  }
  return out;
}

/**
 * What the batch's placed rows commit: a shoot that ended, what it cost; one still running, the larger
 * of its quote and its cost so far; an admitted row not placed yet, its quote. One SQL expression, so
 * admission can test it and write in one statement.
 */
/** What row `r`'s shoot has cost so far: read from that shoot's jobs only (jobs_shoot), never the whole table. */
const spentSql = sql.raw("SELECT sum(j.cost_usd) FROM jobs j WHERE j.shoot_id = r.shoot_id");
const committedSql = (batchId: string) => sql`(
  SELECT coalesce(sum(CASE
    WHEN r.state = 'dead' THEN 0
    WHEN r.outcome IS NOT NULL THEN coalesce((${spentSql}), 0)
    ELSE max(r.quote_usd, coalesce((${spentSql}), 0)) END), 0)
  FROM batch_rows r
  WHERE r.batch_id = ${batchId} AND r.admitted = 1)`;

export async function committedUsd(d: Db, batchId: string): Promise<number> {
  const row = await d.get<{ usd: number }>(sql`SELECT ${committedSql(batchId)} AS usd`);
  return roundUsd(row?.usd ?? 0);
}

/**
 * Lets a row of a batch with a budget be placed when its quote fits beside what is committed, in one
 * statement (D1 runs them one at a time, so two consumers cannot both take the last dollars). A row
 * that does not fit is marked `held`. Rows of a batch without a budget, or admitted before, pass.
 */
export async function admitRow(d: Db, batchId: string, index: number): Promise<"admitted" | "held"> {
  const now = new Date().toISOString();
  await d.run(sql`
    UPDATE batch_rows SET admitted = 1, updated_at = ${now}
    WHERE batch_id = ${batchId} AND idx = ${index} AND admitted = 0 AND (
      (SELECT budget_usd FROM batches WHERE id = ${batchId}) IS NULL
      OR ${committedSql(batchId)} + quote_usd <= (SELECT budget_usd FROM batches WHERE id = ${batchId}) + 1e-9)`);
  const row = await d
    .select({ admitted: batchRows.admitted, quote: batchRows.quoteUsd })
    .from(batchRows)
    .where(and(eq(batchRows.batchId, batchId), eq(batchRows.index, index)))
    .get();
  if (row?.admitted) return "admitted";
  const [b, committed] = await Promise.all([d.select({ cap: batches.budgetUsd }).from(batches).where(eq(batches.id, batchId)).get(), committedUsd(d, batchId)]);
  await d
    .update(batchRows)
    .set({
      state: "held",
      error: `not placed: the batch budget is $${b?.cap ?? 0}, $${committed} is committed and this shoot is quoted $${row?.quote ?? 0}`,
      updatedAt: now,
    })
    .where(and(eq(batchRows.batchId, batchId), eq(batchRows.index, index), eq(batchRows.state, "queued")));
  return "held";
}

export async function setBatchBudget(d: Db, batchId: string, budgetUsd: number) {
  await d.update(batches).set({ budgetUsd }).where(eq(batches.id, batchId));
}
