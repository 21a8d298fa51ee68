/** Provider and media jobs: one row per attempt, keyed by a deterministic id. */
import { and, eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { jobs } from "./schema.ts";

export type JobRow = typeof jobs.$inferSelect;
/** The outcome stored on the job row; `output` is the provider's or media service's full answer. */
export type JobResult =
  | { status: "succeeded"; outputUrl?: string; output?: unknown }
  | { status: "failed"; error: string };

/** What a waiting workflow is told (event payload, step result): small, no provider payloads. */
export type JobSignal = { status: "succeeded"; outputUrl?: string } | { status: "failed"; error: string };

export function toSignal(r: JobResult): JobSignal {
  return r.status === "succeeded" ? { status: "succeeded", ...(r.outputUrl ? { outputUrl: r.outputUrl } : {}) } : r;
}

export async function ensureJob(d: Db, row: typeof jobs.$inferInsert): Promise<JobRow> {
  await d.insert(jobs).values(row).onConflictDoNothing({ target: jobs.id });
  return (await getJob(d, row.id))!;
}

export function getJob(d: Db, id: string) {
  return d.select().from(jobs).where(eq(jobs.id, id)).get();
}

export function jobByExternalId(d: Db, provider: string, externalId: string) {
  return d.select().from(jobs).where(and(eq(jobs.provider, provider), eq(jobs.externalId, externalId))).get();
}

export async function markSubmitted(d: Db, id: string, externalId: string | null): Promise<void> {
  await d
    .update(jobs)
    .set({ status: "submitted", externalId, submittedAt: new Date().toISOString() })
    .where(eq(jobs.id, id));
}

/**
 * Records the outcome once: only a job that is not yet finished changes, so a duplicate or late
 * webhook, a poll racing a webhook, or a redelivered media result is a no-op. Returns whether
 * this call was the one that finished the job.
 */
export async function finishJob(d: Db, id: string, result: JobResult, costUsd?: number | null): Promise<boolean> {
  const res = await d
    .update(jobs)
    .set({
      status: result.status,
      result,
      error: result.status === "failed" ? result.error : null,
      costUsd: costUsd ?? null,
      completedAt: new Date().toISOString(),
    })
    .where(and(eq(jobs.id, id), eq(jobs.status, "submitted")))
    .run();
  return (res.meta?.changes ?? 0) > 0;
}

export async function countDispatch(d: Db, id: string, dispatches: number): Promise<void> {
  await d.update(jobs).set({ dispatches }).where(eq(jobs.id, id));
}

export function jobsForShoot(d: Db, shootId: string) {
  return d.select().from(jobs).where(eq(jobs.shootId, shootId)).all();
}
