/**
 * The submission queue: each message names one batch row (`{ batchId, index }`); the consumer turns
 * rows into shoots with `createBatch` (at most 100 instances a call). Instance ids are derived from
 * the rows' idempotency keys, so a redelivered message, a resubmitted batch or a restarted consumer
 * finds the instance that exists (error 10405) and counts it as placed instead of making a second.
 * A creation refused for the Workflows creation rate is admission, not failure (./admission.ts): the
 * rows wait and are sent again as new messages, so the rate never uses up the queue's retries. A
 * row with no room to run is parked: no message is kept for it until room frees (a shoot of its
 * batch ends, or the sweep finds room for its account), so waiting costs no queue traffic.
 */
import { and, eq, inArray, isNotNull } from "drizzle-orm";
import { db, schema, type Db } from "../db/client.ts";
import { capacityDelaySeconds, capacityWait, CreationPacer, isCapacityWait, isRateRefusal, ROOM_WAIT, roomWait, runningWindow } from "./admission.ts";
import { accountsWithStaleRows, admitRow, markRows, noteRowFailure, rowsByIndex, staleQueuedRows, touchRows, type BatchRowRecord } from "../db/batches.ts";
import { logEvent } from "../db/events.ts";
import { idempotentShootId, runningShoots } from "../db/shoots.ts";
import { perAccountCapsTotal } from "../limits/pools.ts";
import { durationMs } from "../lib/duration.ts";
import { endShoot } from "../lifecycle.ts";

export interface SubmissionMessage {
  batchId: string;
  index: number;
  /** How many times in a row the row was refused for the creation rate (sets its next wait). */
  waits?: number;
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
  const noRoom = await waitForRoom(
    env,
    d,
    unique.filter((r) => !held.has(r.shootId)),
  );
  const pacer = new CreationPacer();
  const outcome = await placeRows(
    env,
    d,
    unique.filter((r) => !held.has(r.shootId) && !noRoom.has(r.shootId)),
    pacer,
  );
  const refused: Message<SubmissionMessage>[] = [];
  for (const { msg, row } of work) {
    const error = outcome.failed.get(row.shootId);
    if (outcome.refused.has(row.shootId)) refused.push(msg);
    // Parked rows (no room) are acked: room freeing sends them again, not a timer.
    else if (error === undefined || held.has(row.shootId) || noRoom.has(row.shootId)) msg.ack();
    // Exponential backoff; after max_retries the queue moves the message to the dead-letter queue.
    else msg.retry({ delaySeconds: Math.min(60, 2 ** Math.min(msg.attempts, 6)) });
  }
  await sendAgainLater(env, refused, (rows, waits) => capacityDelaySeconds(rows, waits));
  // Holding the delivery until its instances' share of the rate has passed keeps max_concurrency
  // consumers within the limit together.
  await pacer.ready();
}

/**
 * Rows refused for the creation rate go back on the queue as new
 * messages (so their attempts start again) after `delay`; the old messages are acked. A failed send
 * falls back to the queue's own retry, so no row is lost.
 */
async function sendAgainLater(env: Env, msgs: Message<SubmissionMessage>[], delay: (rows: number, waits: number) => number): Promise<void> {
  if (!msgs.length) return;
  // One message per row, even when a delivery held the row twice.
  const rows = [...new Map(msgs.map((m) => [`${m.body.batchId}:${m.body.index}`, m.body])).values()];
  const waits = Math.max(...rows.map((r) => r.waits ?? 0));
  const delaySeconds = delay(rows.length, waits);
  try {
    for (let i = 0; i < rows.length; i += 100) {
      await env.SUBMISSIONS.sendBatch(
        rows.slice(i, i + 100).map((r) => ({ body: { batchId: r.batchId, index: r.index, waits: (r.waits ?? 0) + 1 }, contentType: "json" as const })),
        { delaySeconds },
      );
    }
    for (const m of msgs) m.ack();
    console.log(JSON.stringify({ msg: "rows wait", count: rows.length, delaySeconds }));
  } catch (err) {
    console.warn(JSON.stringify({ msg: "could not send waiting rows again", error: String(err) }));
    for (const m of msgs) m.retry({ delaySeconds });
  }
}

/**
 * Room to run: an account's rows are placed, in row order, while fewer than `runningWindow` of its
 * shoots are running; the others are parked (not a try; the batch status says why) until a shoot of
 * their batch ends (src/lifecycle.ts) or the sweep finds room for them (`resendStaleRows`). Two
 * consumers may overshoot the window by one delivery between them: it is a pace, not a cap.
 */
async function waitForRoom(env: Env, d: Db, rows: BatchRowRecord[]): Promise<Set<string>> {
  const window = runningWindow(env.BATCH_RUNNING_MAX, perAccountCapsTotal(env));
  const waiting = new Set<string>();
  if (window <= 0) return waiting;
  for (const accountId of new Set(rows.map((r) => r.accountId))) {
    const running = await runningShoots(d, accountId);
    const mine = rows.filter((r) => r.accountId === accountId).sort((a, b) => a.batchId.localeCompare(b.batchId) || a.index - b.index);
    const placed = Math.max(0, window - running);
    for (const r of mine.slice(placed)) {
      waiting.add(r.shootId);
      // Counting the rows this delivery places, which run by the time anyone reads it.
      await noteRowFailure(d, r.batchId, r.index, roomWait(running + placed, window), { countsAsTry: false });
    }
  }
  return waiting;
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

/**
 * Shoot rows first (the workflow's first step reads its row), then the instances, 100 per call.
 * `failed` rows count a try; `refused` rows (the creation rate) only wait.
 */
async function placeRows(
  env: Env,
  d: Db,
  rows: BatchRowRecord[],
  pacer: CreationPacer,
): Promise<{ failed: Map<string, string>; refused: Map<string, string> }> {
  const failed = new Map<string, string>();
  const refused = new Map<string, string>();
  for (let i = 0; i < rows.length; i += CREATE_BATCH_MAX) {
    const chunk = rows.slice(i, i + CREATE_BATCH_MAX);
    if (refused.size) {
      // The limit refused this delivery already: the rest waits too, without another call.
      for (const r of chunk) refused.set(r.shootId, [...refused.values()][0]);
      await noteWaits(d, chunk, refused);
      continue;
    }
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
    await pacer.ready();
    const startedAt = Date.now();
    try {
      const res = await env.SHOOT.createBatch({ instances: chunk.map((r) => ({ id: r.shootId, params: { shootId: r.shootId, accountId: r.accountId } })) });
      created = new Set(res.created.map((inst) => inst.id));
      const errors = new Map(res.errors.map((e) => [chunk[e.index]?.shootId ?? e.id ?? "", e]));
      for (const r of chunk) {
        const e = errors.get(r.shootId);
        if (!e || e.code === ALREADY_EXISTS || /already.?exists/i.test(e.message)) placed.push(r);
        else (isRateRefusal(e) ? refused : failed).set(r.shootId, `${e.code}: ${e.message}`);
      }
    } catch (err) {
      // The whole call failed: refused for the rate, every row waits; otherwise (an outage) every row is retried.
      const message = String(err instanceof Error ? err.message : err);
      for (const r of chunk) (isRateRefusal(err) ? refused : failed).set(r.shootId, message);
    }
    pacer.book(startedAt, chunk.filter((r) => !refused.has(r.shootId)).length);
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
    await noteWaits(d, chunk, refused);
  }
  if (failed.size) console.warn(JSON.stringify({ msg: "submission rows not placed", count: failed.size, first: [...failed.values()][0] }));
  return { failed, refused };
}

/** Records on each refused row of `rows` that it waits for creation capacity (not a try). */
async function noteWaits(d: Db, rows: BatchRowRecord[], refused: Map<string, string>): Promise<void> {
  for (const r of rows) {
    const reason = refused.get(r.shootId);
    if (reason !== undefined) await noteRowFailure(d, r.batchId, r.index, capacityWait(reason), { countsAsTry: false });
  }
}

/**
 * The dead-letter queue: rows the queue gave up on. Unless their instance exists after all, or their
 * last error was only a refusal for the creation rate (sent to the queue again), they are marked dead
 * with the reason and their shoot as failed; the batch status offers a retry.
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
      } else if (isCapacityWait(row.error)) {
        // Its last refusal was only the creation rate: that is not a reason to give up on it.
        const waits = (msg.body.waits ?? 0) + 1;
        const delaySeconds = capacityDelaySeconds(1, waits);
        try {
          await env.SUBMISSIONS.send({ batchId: row.batchId, index: row.index, waits }, { contentType: "json", delaySeconds });
        } catch {
          // Still queued in D1: if the dead-letter queue's own retries run out too, the sweep sends it.
          msg.retry({ delaySeconds });
          continue;
        }
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
 * The sweep (every minute): rows still queued after SUBMISSION_RESEND_AFTER are sent again, as far
 * as their account has room to run. That covers a lost message (local queue messages die with the
 * runtime; a send can fail after the rows were written) and parked rows whose room freed without a
 * shoot of their batch ending (a shoot waiting at a checkpoint, another batch's shoot). Rows of an
 * account with no room stay parked and cost a read, not a message. Placing is idempotent.
 */
export async function resendStaleRows(env: Env): Promise<number> {
  const d = db(env.DB);
  const before = new Date(Date.now() - durationMs(env.SUBMISSION_RESEND_AFTER || "2 minutes")).toISOString();
  const window = runningWindow(env.BATCH_RUNNING_MAX, perAccountCapsTotal(env));
  let sent = 0;
  for (const { accountId } of await accountsWithStaleRows(d, before)) {
    const room = window > 0 ? window - (await runningShoots(d, accountId)) : SWEEP_ROWS_MAX;
    if (room <= 0) continue;
    const rows = await staleQueuedRows(d, accountId, before, Math.min(room, SWEEP_ROWS_MAX));
    await touchRows(d, rows, ROOM_WAIT);
    await enqueueRows(env, rows);
    sent += rows.length;
  }
  if (sent) console.log(JSON.stringify({ msg: "re-sent queued batch rows", count: sent }));
  return sent;
}
/** At most this many rows an account a sweep. */
const SWEEP_ROWS_MAX = 500;

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
