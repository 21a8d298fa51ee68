/**
 * A human checkpoint: record it as pending, wait for its decision event, and apply the timeout
 * policy when none comes. Stages the review policy does not list approve themselves.
 */
import { db } from "../db/client.ts";
import { openCheckpoint, resolveCheckpoint } from "../db/checkpoints.ts";
import { logEvent } from "../db/events.ts";
import { updateShoot } from "../db/shoots.ts";
import type { ArtifactsOf } from "../domain/artifacts.ts";
import { needsPerson } from "../domain/findings.ts";
import { checkpointId, type CheckpointStage } from "../domain/contract.ts";
import type { Decision } from "../domain/shoot.ts";
import { durationMs } from "../lib/duration.ts";
import { DB_STEP, isTimeout, type Duration, type RunContext } from "./context.ts";
import { notifyCheckpointPending } from "../notify/emit.ts";
import { decisionEventType } from "../review/decisions.ts";

export type Outcome = Decision | { action: "expire" };

export async function awaitDecision<S extends CheckpointStage>(ctx: RunContext, stage: S, attempt: number, artifacts: ArtifactsOf<S>): Promise<Outcome> {
  const { env, step, shootId, accountId, params } = ctx;
  // Spending past the cap, and a stage that has no result to approve (a provider refused its item),
  // are always a person's decision, whatever the review policy or timeout policy say.
  const human = stage === "budget" || ("error" in artifacts && Boolean(artifacts.error));
  const budget = stage === "budget";
  // Under the `flagged` policy a reviewed stage waits only when the quality checks want a person.
  const quality = "quality" in artifacts ? artifacts.quality : undefined;
  const flags = (quality?.findings ?? []).filter((f) => f.verdict === "flag");
  const reviewed = (params.review as string[]).includes(stage) && (params.reviewPolicy !== "flagged" || needsPerson(quality));
  const auto = !human && !reviewed;
  const timeoutPolicy = human ? "expire" : params.timeoutPolicy;
  const name = `${stage}#${attempt}`;

  await step.do(`open ${name}`, DB_STEP, async () => {
    const d = db(env.DB);
    const expiresAt = new Date(Date.now() + durationMs(params.checkpointTimeout)).toISOString();
    await openCheckpoint(d, { shootId, stage, attempt, artifacts, timeoutPolicy, expiresAt, autoApprove: auto } as Parameters<typeof openCheckpoint>[1]);
    if (!auto) await updateShoot(d, shootId, { status: "awaiting_review", ...(budget ? {} : { stage }) });
    await logEvent(d, {
      shootId,
      accountId,
      type: auto ? "checkpoint.resolved" : "checkpoint.pending",
      data: { stage, attempt, ...(auto ? { action: "approve", by: "review-policy" } : { expiresAt, flagged: flags.length }) },
    });
    // The webhook carries what flagged (a system deciding who looks needs the reasons, not a count).
    if (!auto) await notifyCheckpointPending(env, { shootId, accountId }, { stage, attempt, expiresAt, findings: flags.slice(0, 20) });
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
      await resolveCheckpoint(d, checkpointId(shootId, stage, attempt), approve ? "approved" : "expired", null, "timeout");
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
