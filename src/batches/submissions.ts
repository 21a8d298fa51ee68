/**
 * The submission queue: each message names one batch row (`{ batchId, index }`); the consumer turns
 * rows into shoots with `createBatch` (at most 100 instances a call). Instance ids are derived from
 * the rows' idempotency keys, so a redelivered message, a resubmitted batch or a restarted consumer
 * finds the instance that exists (error 10405) and counts it as placed instead of making a second.
 */
import { and, eq, inArray, isNotNull } from "drizzle-orm";
import { db, schema, type Db } from "../db/client.ts";
import { admitRow, markRows, noteRowFailure, rowsByIndex, staleQueuedRows, touchRows, type BatchRowRecord } from "../db/batches.ts";
import { logEvent } from "../db/events.ts";
import { idempotentShootId } from "../db/shoots.ts";
import { durationMs } from "../lib/duration.ts";
import { endShoot } from "../lifecycle.ts";

export interface SubmissionMessage {
  batchId: string;
  index: number;
}

export const CREATE_BATCH_MAX = 100;
/** Workflows answers an id that exists with this code; for us that row is already placed. */
const ALREADY_EXISTS = 10405;

/** The shoot id of a row: attempt 1 is the id a single POST /api/shoots with the same key gets. */
export function rowShootId(accountId: string, key: string, attempt: number): Promise<string> {
  return idempotentShootId(accountId, attempt === 1 ? key : `${key}#${attempt}`);
}

export async function enqueueRows(env: Env, keys: SubmissionMessage[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 100) {
    await env.SUBMISSIONS.sendBatch(keys.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
  }
}

export async function handleSubmissionBatch(batch: MessageBatch<SubmissionMessage>, env: Env): Promise<void> {
  const d = db(env.DB);
  const work: { msg: Message<SubmissionMessage>; row: BatchRowRecord }[] = [];
  const groups = new Map<string, Message<SubmissionMessage>[]>();
  for (const msg of batch.messages) {
    const list = groups.get(msg.body.batchId) ?? [];
    list.push(msg);
    groups.set(msg.body.batchId, list);
  }
  for (const [batchId, msgs] of groups) {
    const rows = await rowsByIndex(d, batchId, [...new Set(msgs.map((m) => m.body.index))]);
    for (const msg of msgs) {
      const row = rows.find((r) => r.index === msg.body.index);
      // Unknown, already placed or given up: nothing to do, and nothing to retry.
      if (row?.state !== "queued") msg.ack();
      else work.push({ msg, row });
    }
  }
  // A row can appear twice in one delivery (a redelivery next to a sweep's re-send): place it once.
  const unique = [...new Map(work.map((w) => [w.row.shootId, w.row])).values()];
  const held = await holdOverBudget(d, unique);
  const outcome = await placeRows(
    env,
    d,
    unique.filter((r) => !held.has(r.shootId)),
  );
  for (const { msg, row } of work) {
    const error = outcome.failed.get(row.shootId);
    if (error === undefined || held.has(row.shootId)) {
      msg.ack();
      continue;
    }
    // Exponential backoff; after max_retries the queue moves the message to the dead-letter queue.
    msg.retry({ delaySeconds: Math.min(60, 2 ** Math.min(msg.attempts, 6)) });
  }
}

/**
 * The batch budget: rows of a batch with one are admitted in order while their quotes fit beside
 * what is committed; the others are held (not placed, and the batch status says why).
 */
async function holdOverBudget(d: Db, rows: BatchRowRecord[]): Promise<Set<string>> {
  const held = new Set<string>();
  const ids = [...new Set(rows.map((r) => r.batchId))];
  const capped = new Set(
    (
      await d
        .select({ id: schema.batches.id })
        .from(schema.batches)
        .where(and(inArray(schema.batches.id, ids), isNotNull(schema.batches.budgetUsd)))
        .all()
    ).map((b) => b.id),
  );
  for (const r of [...rows].sort((a, b) => a.index - b.index)) {
    if (capped.has(r.batchId) && !r.admitted && (await admitRow(d, r.batchId, r.index)) === "held") held.add(r.shootId);
  }
  return held;
}

/** Shoot rows first (the workflow's first step reads its row), then the instances, 100 per call. */
async function placeRows(env: Env, d: Db, rows: BatchRowRecord[]): Promise<{ failed: Map<string, string> }> {
  const failed = new Map<string, string>();
  for (let i = 0; i < rows.length; i += CREATE_BATCH_MAX) {
    const chunk = rows.slice(i, i + CREATE_BATCH_MAX);
    await d.batch(
      chunk.map((r) =>
        d
          .insert(schema.shoots)
          .values({
            id: r.shootId,
            accountId: r.accountId,
            brief: r.brief,
            params: r.params,
            status: "running",
            stage: "plan",
            idempotencyKey: r.attempt === 1 ? r.idempotencyKey : `${r.idempotencyKey}#${r.attempt}`,
            batchId: r.batchId,
          })
          .onConflictDoNothing(),
      ) as [never, ...never[]],
    );
    const placed: BatchRowRecord[] = [];
    let created = new Set<string>();
    try {
      const res = await env.SHOOT.createBatch({ instances: chunk.map((r) => ({ id: r.shootId, params: { shootId: r.shootId, accountId: r.accountId } })) });
      created = new Set(res.created.map((inst) => inst.id));
      const errors = new Map(res.errors.map((e) => [chunk[e.index]?.shootId ?? e.id ?? "", e]));
      for (const r of chunk) {
        const e = errors.get(r.shootId);
        if (!e || e.code === ALREADY_EXISTS || /already.?exists/i.test(e.message)) placed.push(r);
        else failed.set(r.shootId, `${e.code}: ${e.message}`);
      }
    } catch (err) {
      // The whole call failed (a limit, an outage): every row of the chunk is retried.
      for (const r of chunk) failed.set(r.shootId, String(err instanceof Error ? err.message : err));
    }
    for (const [batchId, list] of group(placed))
      await markRows(
        d,
        batchId,
        list.map((r) => r.index),
        { state: "created", error: null },
      );
    for (const r of placed.filter((r) => created.has(r.shootId))) {
      await logEvent(d, { shootId: r.shootId, accountId: r.accountId, type: "shoot.created", data: { brief: r.brief, batch: r.batchId, row: r.index } });
    }
    for (const r of chunk) {
      const error = failed.get(r.shootId);
      if (error !== undefined) await noteRowFailure(d, r.batchId, r.index, error);
    }
  }
  if (failed.size) console.warn(JSON.stringify({ msg: "submission rows not placed", count: failed.size, first: [...failed.values()][0] }));
  return { failed };
}

/**
 * The dead-letter queue: rows the queue gave up on. Unless their instance exists after all, they
 * are marked dead with the reason and their shoot as failed; the batch status offers a retry.
 */
export async function handleDeadSubmissions(batch: MessageBatch<SubmissionMessage>, env: Env): Promise<void> {
  const d = db(env.DB);
  for (const msg of batch.messages) {
    const [row] = await rowsByIndex(d, msg.body.batchId, [msg.body.index]);
    if (row && row.state === "queued") {
      const exists = await env.SHOOT.get(row.shootId).then(
        () => true,
        () => false,
      );
      if (exists) {
        await markRows(d, row.batchId, [row.index], { state: "created", error: null });
      } else {
        const reason = `not placed after ${msg.attempts} tries: ${row.error ?? "unknown error"}`;
        await markRows(d, row.batchId, [row.index], { state: "dead", error: reason });
        // Its shoot never got an instance: it ends as failed like any other (event, webhook, batch),
        // announced even when intake had not written its shoot row yet (replay: the row is dead for sure).
        await endShoot(env, { shootId: row.shootId, accountId: row.accountId }, "failed", {
          error: reason,
          data: { by: "dead-letter", batch: row.batchId, row: row.index },
          replay: true,
        });
      }
    }
    msg.ack();
  }
}

/**
 * Local queue messages die with the runtime, and a send can fail after the rows were written: rows
 * still queued after SUBMISSION_RESEND_AFTER are sent again (placing is idempotent, so this is safe).
 */
export async function resendStaleRows(env: Env): Promise<number> {
  const d = db(env.DB);
  const after = durationMs(env.SUBMISSION_RESEND_AFTER || "2 minutes");
  const stale = await staleQueuedRows(d, new Date(Date.now() - after).toISOString());
  if (!stale.length) return 0;
  await touchRows(d, stale);
  await enqueueRows(env, stale);
  console.log(JSON.stringify({ msg: "re-sent queued batch rows", count: stale.length }));
  return stale.length;
}

/** Retry from the batch status: dead and held rows are queued again; failed shoots get a new attempt (a new shoot id). */
export async function retryRows(env: Env, d: Db, batchId: string, onlyShootIds?: string[]): Promise<{ retried: { index: number; shootId: string }[] }> {
  const rows = await d
    .select({ row: schema.batchRows, shootStatus: schema.shoots.status })
    .from(schema.batchRows)
    .leftJoin(schema.shoots, eq(schema.shoots.id, schema.batchRows.shootId))
    .where(eq(schema.batchRows.batchId, batchId))
    .all();
  const retried: { index: number; shootId: string }[] = [];
  for (const { row, shootStatus } of rows) {
    const status = row.outcome ?? shootStatus;
    if (onlyShootIds && !onlyShootIds.includes(row.shootId)) continue;
    const now = new Date().toISOString();
    if (row.state === "held") {
      // Not placed for the budget: queued again, admitted (or held again) against the budget as it is now.
      const res = await d
        .update(schema.batchRows)
        .set({ state: "queued", tries: 0, error: null, updatedAt: now })
        .where(and(eq(schema.batchRows.batchId, batchId), eq(schema.batchRows.index, row.index), eq(schema.batchRows.state, "held")))
        .run();
      if ((res.meta?.changes ?? 0) > 0) retried.push({ index: row.index, shootId: row.shootId });
    } else if (row.state === "dead") {
      await d.batch([
        d
          .update(schema.batchRows)
          .set({ state: "queued", tries: 0, error: null, outcome: null, updatedAt: now })
          .where(and(eq(schema.batchRows.batchId, batchId), eq(schema.batchRows.index, row.index), eq(schema.batchRows.state, "dead"))),
        d
          .update(schema.shoots)
          .set({ status: "running", error: null, updatedAt: now })
          .where(and(eq(schema.shoots.id, row.shootId), eq(schema.shoots.status, "failed"))),
      ]);
      retried.push({ index: row.index, shootId: row.shootId });
    } else if (row.state === "created" && status === "failed") {
      const attempt = row.attempt + 1;
      const shootId = await rowShootId(row.accountId, row.idempotencyKey, attempt);
      const history = [...((row.history as string[] | null) ?? []), row.shootId];
      const res = await d
        .update(schema.batchRows)
        .set({ state: "queued", attempt, shootId, history, tries: 0, error: null, outcome: null, updatedAt: now })
        .where(and(eq(schema.batchRows.batchId, batchId), eq(schema.batchRows.index, row.index), eq(schema.batchRows.attempt, row.attempt)))
        .run();
      if ((res.meta?.changes ?? 0) > 0) retried.push({ index: row.index, shootId });
    }
  }
  if (retried.length) {
    await d.update(schema.batches).set({ status: "open", completedAt: null }).where(eq(schema.batches.id, batchId));
    await enqueueRows(
      env,
      retried.map((r) => ({ batchId, index: r.index })),
    );
  }
  return { retried };
}

function group(rows: BatchRowRecord[]): Map<string, BatchRowRecord[]> {
  const m = new Map<string, BatchRowRecord[]>();
  for (const r of rows) m.set(r.batchId, [...(m.get(r.batchId) ?? []), r]);
  return m;
}
