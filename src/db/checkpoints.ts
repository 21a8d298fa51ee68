/** Checkpoint rows: one per stage and attempt; a pending row is what a decision must match. */
import { and, asc, eq } from "drizzle-orm";
import { checkArtifacts, type CheckpointArtifacts, type CheckpointContent } from "../domain/artifacts.ts";
import { checkpointId, type CheckpointStatus, type TimeoutPolicy } from "../domain/contract.ts";
import type { Decision } from "../domain/shoot.ts";
import type { Db } from "./client.ts";
import { checkpoints } from "./schema.ts";

export type CheckpointRow = typeof checkpoints.$inferSelect;

export async function openCheckpoint(
  d: Db,
  c: CheckpointContent & {
    shootId: string;
    attempt: number;
    timeoutPolicy: TimeoutPolicy;
    expiresAt: string | null;
    autoApprove: boolean;
  },
): Promise<void> {
  checkArtifacts(c);
  await d
    .insert(checkpoints)
    .values({
      id: checkpointId(c.shootId, c.stage, c.attempt),
      shootId: c.shootId,
      stage: c.stage,
      attempt: c.attempt,
      status: c.autoApprove ? "auto_approved" : "pending",
      artifacts: c.artifacts,
      timeoutPolicy: c.timeoutPolicy,
      expiresAt: c.autoApprove ? null : c.expiresAt,
      decidedBy: c.autoApprove ? "review-policy" : null,
      decidedAt: c.autoApprove ? new Date().toISOString() : null,
    })
    .onConflictDoNothing();
}

export function pendingCheckpoint(d: Db, shootId: string) {
  return d
    .select()
    .from(checkpoints)
    .where(and(eq(checkpoints.shootId, shootId), eq(checkpoints.status, "pending")))
    .get();
}

/** Moves a pending checkpoint to its decided state; false when it was not pending any more. */
export async function resolveCheckpoint(
  d: Db,
  id: string,
  status: Exclude<CheckpointStatus, "pending" | "auto_approved">,
  decision: Decision | null,
  decidedBy: string,
): Promise<boolean> {
  const res = await d
    .update(checkpoints)
    .set({
      status,
      decision,
      feedback: decision?.feedback ?? null,
      decidedBy,
      decidedAt: new Date().toISOString(),
    })
    .where(and(eq(checkpoints.id, id), eq(checkpoints.status, "pending")))
    .run();
  return (res.meta?.changes ?? 0) > 0;
}

/** Undo for a decision whose event could not be delivered, so nothing changed after all. */
export async function reopenCheckpoint(d: Db, id: string): Promise<void> {
  await d.update(checkpoints).set({ status: "pending", decision: null, feedback: null, decidedBy: null, decidedAt: null }).where(eq(checkpoints.id, id));
}

export function checkpointsForShoot(d: Db, shootId: string) {
  return d.select().from(checkpoints).where(eq(checkpoints.shootId, shootId)).orderBy(asc(checkpoints.createdAt), asc(checkpoints.attempt)).all();
}

/**
 * What was approved of each stage (by a person or by the review policy): the last approved attempt's
 * artifacts, or none for a stage whose approved attempt showed an error instead of outputs.
 */
export async function approvedArtifacts(d: Db, shootId: string): Promise<Map<string, CheckpointArtifacts>> {
  const approved = new Map<string, CheckpointArtifacts>();
  for (const cp of await checkpointsForShoot(d, shootId)) {
    if (cp.status !== "approved" && cp.status !== "auto_approved") continue;
    const artifacts = cp.artifacts as CheckpointArtifacts | null;
    if (artifacts && !("error" in artifacts && artifacts.error)) approved.set(cp.stage, artifacts);
    else approved.delete(cp.stage);
  }
  return approved;
}
