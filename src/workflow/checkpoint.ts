/**
 * A human checkpoint: record it as pending, wait for its decision event, and apply the timeout
 * policy when none comes. Stages the review policy does not list approve themselves.
 */
import { db } from "../db/client.ts";
import { openCheckpoint, resolveCheckpoint } from "../db/checkpoints.ts";
import { logEvent } from "../db/events.ts";
import { updateShoot } from "../db/shoots.ts";
import type { CheckpointStage, Decision } from "../domain/shoot.ts";
import { durationMs } from "../lib/duration.ts";
import { DB_STEP, isTimeout, type Duration, type RunContext } from "./context.ts";
import { notifyCheckpointPending } from "../notify/emit.ts";

export type Outcome = Decision | { action: "expire" };

/** The event type a decision for this checkpoint is sent as: unique per stage and attempt. */
export const decisionEventType = (stage: string, attempt: number) => `decision-${stage}-${attempt}`;

export async function awaitDecision(ctx: RunContext, stage: CheckpointStage, attempt: number, artifacts: unknown): Promise<Outcome> {
  const { env, step, shootId, accountId, params } = ctx;
  // Spending past the cap, and a stage that has no result to approve (a provider refused its item),
  // are always a person's decision, whatever the review policy or timeout policy say.
  const human = stage === "budget" || Boolean((artifacts as { error?: string } | null)?.error);
  const budget = stage === "budget";
  const auto = !human && !(params.review as string[]).includes(stage);
  const timeoutPolicy = human ? "expire" : params.timeoutPolicy;
  const name = `${stage}#${attempt}`;

  await step.do(`open ${name}`, DB_STEP, async () => {
    const d = db(env.DB);
    const expiresAt = new Date(Date.now() + durationMs(params.checkpointTimeout)).toISOString();
    await openCheckpoint(d, { shootId, stage, attempt, artifacts, timeoutPolicy, expiresAt, autoApprove: auto });
    if (!auto) await updateShoot(d, shootId, { status: "awaiting_review", ...(budget ? {} : { stage }) });
    await logEvent(d, {
      shootId,
      accountId,
      type: auto ? "checkpoint.resolved" : "checkpoint.pending",
      data: { stage, attempt, ...(auto ? { action: "approve", by: "review-policy" } : { expiresAt }) },
    });
    if (!auto) await notifyCheckpointPending(env, { shootId, accountId }, { stage, attempt, expiresAt });
  });
  if (auto) return { action: "approve" };

  let outcome: Outcome;
  try {
    const event = await step.waitForEvent<Decision>(`decide ${name}`, {
      type: decisionEventType(stage, attempt),
      timeout: params.checkpointTimeout as Duration,
    });
    outcome = event.payload;
  } catch (err) {
    if (!isTimeout(err)) throw err;
    const approve = timeoutPolicy === "approve";
    await step.do(`timeout ${name}`, DB_STEP, async () => {
      const d = db(env.DB);
      await resolveCheckpoint(d, `${shootId}-${stage}-${attempt}`, approve ? "approved" : "expired", null, "timeout");
      await logEvent(d, { shootId, accountId, type: "checkpoint.resolved", data: { stage, attempt, action: approve ? "approve" : "expire", by: "timeout" } });
    });
    outcome = approve ? { action: "approve" } : { action: "expire" };
  }

  if (outcome.action === "approve" || outcome.action === "revise") {
    await step.do(`resume ${name}`, DB_STEP, async () => {
      await updateShoot(db(env.DB), shootId, { status: "running" });
    });
  }
  return outcome;
}
