/** Provider and media jobs: one row per attempt, keyed by a deterministic id. */
import { and, eq, getTableName, inArray, isNull, lt } from "drizzle-orm";
import type { JobResult } from "../domain/jobs.ts";
import type { Db } from "./client.ts";
import type { JobType } from "../domain/contract.ts";
import type { ShootEventInput } from "../domain/events.ts";
import { eventRow } from "./events.ts";
import { events, jobs } from "./schema.ts";

export type JobRow = typeof jobs.$inferSelect;
export { OUTCOME_REPORTED, toSignal, type JobEventPayload, type JobResult, type JobSignal } from "../domain/jobs.ts";

export async function ensureJob(d: Db, row: typeof jobs.$inferInsert): Promise<JobRow> {
  await d.insert(jobs).values(row).onConflictDoNothing({ target: jobs.id });
  return (await getJob(d, row.id))!;
}

export function getJob(d: Db, id: string) {
  return d.select().from(jobs).where(eq(jobs.id, id)).get();
}

export function jobByExternalId(d: Db, provider: string, externalId: string) {
  return d
    .select()
    .from(jobs)
    .where(and(eq(jobs.provider, provider), eq(jobs.externalId, externalId)))
    .get();
}

/**
 * Records the intent to submit before the provider is called: a step that dies after the call
 * finds the job `submitting` and waits for the webhook (whose URL names the job) instead of
 * paying for a second request.
 */
export async function markSubmitting(d: Db, id: string): Promise<boolean> {
  const res = await d
    .update(jobs)
    .set({ status: "submitting", submittedAt: new Date().toISOString() })
    .where(and(eq(jobs.id, id), eq(jobs.status, "pending")))
    .run();
  return (res.meta?.changes ?? 0) > 0;
}

/** A refused submission: the attempt's row keeps the provider's answer; nothing was billed. */
export async function markRefused(d: Db, id: string, error: string): Promise<void> {
  await d
    .update(jobs)
    .set({ status: "failed", error, result: { status: "failed", error }, costUsd: 0, completedAt: new Date().toISOString() })
    .where(eq(jobs.id, id));
}

/** Adopts a request id learnt late (from a webhook) for a job whose submit answer was lost. */
export async function adoptExternalId(d: Db, id: string, externalId: string): Promise<boolean> {
  const res = await d
    .update(jobs)
    .set({ status: "submitted", externalId })
    .where(and(eq(jobs.id, id), eq(jobs.status, "submitting"), isNull(jobs.externalId)))
    .run();
  return (res.meta?.changes ?? 0) > 0;
}

export async function markSubmitted(d: Db, id: string, externalId: string | null): Promise<void> {
  await d.update(jobs).set({ status: "submitted", externalId, submittedAt: new Date().toISOString() }).where(eq(jobs.id, id));
}

/**
 * Records the outcome once: only a job that is not yet finished changes, so a duplicate or late
 * webhook, a poll racing a webhook, or a redelivered media result is a no-op. The timeline entry
 * `event` is written in the same transaction, and only when this call finished the job, so a
 * finished job always has exactly one. Returns whether this call was the one that finished it.
 */
export async function finishJob(
  d: Db,
  id: string,
  result: JobResult,
  costUsd: number | null,
  event: ShootEventInput<"job.completed" | "job.failed">,
): Promise<boolean> {
  const update = d
    .update(jobs)
    .set({
      status: result.status,
      result,
      error: result.status === "failed" ? result.error : null,
      costUsd: result.costUsd ?? costUsd ?? null,
      completedAt: new Date().toISOString(),
    })
    .where(and(eq(jobs.id, id), inArray(jobs.status, ["submitted", "submitting"])));
  // One D1 batch (a transaction); changes() is the row count of its previous statement, the update.
  const u = update.toSQL();
  const d1 = d.$client;
  const row = eventRow(event);
  const [res] = await d1.batch([
    d1.prepare(u.sql).bind(...u.params),
    d1
      .prepare(`insert into ${getTableName(events)} (shoot_id, account_id, type, data) select ?, ?, ?, ? where changes() > 0`)
      .bind(row.shootId, row.accountId, row.type, JSON.stringify(row.data)),
  ]);
  return (res.meta?.changes ?? 0) > 0;
}

/** The last reason a dispatch of a job failed (the job stays as it was: a later delivery may still run it). */
export async function noteDispatchError(d: Db, id: string, error: string): Promise<void> {
  await d
    .update(jobs)
    .set({ error })
    .where(and(eq(jobs.id, id), isNull(jobs.result)));
}

export async function countDispatch(d: Db, id: string, dispatches: number): Promise<void> {
  await d.update(jobs).set({ dispatches }).where(eq(jobs.id, id));
}

/** Jobs of a type still waiting for their outcome since before `submittedBefore` (the watchdog's work list). */
export function stalledJobs(d: Db, type: JobType, submittedBefore: Date, limit = 100) {
  return d
    .select()
    .from(jobs)
    .where(and(eq(jobs.type, type), eq(jobs.status, "submitted"), lt(jobs.submittedAt, submittedBefore.toISOString())))
    .limit(limit)
    .all();
}

export function jobsForShoot(d: Db, shootId: string) {
  return d.select().from(jobs).where(eq(jobs.shootId, shootId)).all();
}
