/**
 * Applying a decision to a pending checkpoint: resolve the row atomically, then send the workflow its
 * event, undoing the row when the event cannot be delivered. Used by the keyed decision route and by
 * review links.
 */
import { reopenCheckpoint, resolveCheckpoint, type CheckpointRow } from "../db/checkpoints.ts";
import type { Db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import type { ShootRow } from "../db/shoots.ts";
import type { Decision } from "../domain/shoot.ts";
import { decisionEventType } from "../workflow/checkpoint.ts";
import { conflict, Problem } from "./problem.ts";

export async function applyDecision(env: Env, d: Db, shoot: ShootRow, pending: CheckpointRow, decision: Decision, by: string, extra: Record<string, unknown> = {}) {
  const status = ({ approve: "approved", revise: "revised", cancel: "cancelled" } as const)[decision.action];
  if (!(await resolveCheckpoint(d, pending.id, status, decision, by))) {
    throw conflict(`the ${pending.stage} checkpoint was already decided`);
  }
  try {
    const instance = await env.SHOOT.get(shoot.id);
    await instance.sendEvent({ type: decisionEventType(pending.stage, pending.attempt), payload: decision });
  } catch (err) {
    await reopenCheckpoint(d, pending.id);
    console.error(JSON.stringify({ msg: "decision not delivered", shoot: shoot.id, error: String(err) }));
    throw new Problem(503, "Unavailable", "the decision could not be delivered to the shoot; nothing changed, try again");
  }
  await logEvent(d, {
    shootId: shoot.id,
    accountId: shoot.accountId,
    type: "checkpoint.resolved",
    data: { stage: pending.stage, attempt: pending.attempt, action: decision.action, by, ...extra },
  });
}
