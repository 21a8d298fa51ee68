/**
 * Decisions at a checkpoint, in one place: what each checkpoint accepts, the event a decision is
 * sent to the workflow as, and how it is applied (the row resolved atomically, the event delivered,
 * the row reopened when delivery fails). The keyed decision route, review links and cancel all come
 * through here; how a stage acts on a revision is the workflow's (src/workflow/shoot.ts).
 */
import { pendingCheckpoint, reopenCheckpoint, resolveCheckpoint, type CheckpointRow } from "../db/checkpoints.ts";
import type { Db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import type { ShootRow } from "../db/shoots.ts";
import { DECIDED_STATUS, MAKING_STAGES, type CheckpointStage, type Stage } from "../domain/contract.ts";
import type { CheckpointArtifacts } from "../domain/artifacts.ts";
import type { Decision } from "../domain/shoot.ts";
import { endShoot } from "../lifecycle.ts";
import { badRequest, conflict, Problem, type FieldError } from "../api/problem.ts";

/** The event type a decision for this checkpoint is sent as: unique per stage and attempt. */
export const decisionEventType = (stage: CheckpointStage, attempt: number) => `decision-${stage}-${attempt}`;

/** The stages at which each decision field may be given; a field sent elsewhere is refused, never ignored. */
const TARGETS = {
  frames: ["frames"],
  split: ["frames"],
  clips: ["clips", "reel"],
  presets: ["plan", "hero"],
  aspectRatio: ["hero", "frames"],
  stitch: ["clips", "reel"],
  marks: MAKING_STAGES,
} as const satisfies Partial<Record<keyof Decision, readonly Stage[]>>;
const TARGET_FIELDS = Object.keys(TARGETS) as (keyof typeof TARGETS)[];

/** Refuses (400/409) a decision the pending checkpoint cannot take; nothing is changed. */
export function checkDecision(pending: CheckpointRow, d: Decision): void {
  const stage = pending.stage as CheckpointStage;
  const artifacts = pending.artifacts as CheckpointArtifacts | null;
  if (stage === "budget") {
    checkBudgetDecision(d, artifacts);
    return;
  }
  if (d.budgetUsd !== undefined) throw badRequest([{ field: "budgetUsd", message: "is accepted only at the budget checkpoint" }]);
  const given = TARGET_FIELDS.filter((f) => d[f] !== undefined);
  const errors: FieldError[] = given
    .filter((f) => !(TARGETS[f] as readonly string[]).includes(stage))
    .map((f) => ({ field: f, message: `is accepted only at the ${TARGETS[f].join(" or ")} checkpoint` }));
  if (d.action === "revise" && !d.feedback && !given.length) {
    errors.push({ field: "feedback", message: `a revision needs feedback or a target (${TARGET_FIELDS.join(", ")})` });
  }
  if (d.action === "cancel" && given.length) errors.push({ field: "action", message: "targets go with revise (or stitch settings with approve)" });
  if (d.action === "approve" && given.some((f) => f !== "stitch")) {
    errors.push({ field: "action", message: "approve takes no targets other than stitch settings; use revise" });
  }
  // A mark is on something this checkpoint shows; a clip's moment lies within the clip.
  const shown = new Set(artifacts?.assets ?? []);
  (d.marks ?? []).forEach((m, i) => {
    if (!shown.has(m.asset)) errors.push({ field: `marks[${i}].asset`, message: `is not one of the ${stage} checkpoint's outputs (${[...shown].join(", ")})` });
    if (m.region && (m.region.x + m.region.w > 1.0001 || m.region.y + m.region.h > 1.0001)) {
      errors.push({ field: `marks[${i}].region`, message: "must lie within the picture (x + w and y + h at most 1)" });
    }
    if (m.timeRange && m.timeRange.to < m.timeRange.from) errors.push({ field: `marks[${i}].timeRange`, message: "must end at or after its start" });
  });
  if (errors.length) throw badRequest(errors);
  const error = artifacts && "error" in artifacts ? artifacts.error : undefined;
  if (d.action === "approve" && error) throw conflict(`the ${stage} stage has no result to approve (${error}); revise or cancel`);
}

/** At the budget checkpoint the reviewer raises the cap enough for the next step, or cancels. */
function checkBudgetDecision(d: Decision, artifacts: CheckpointArtifacts | null) {
  const needed = (artifacts && "budget" in artifacts ? artifacts.budget?.neededUsd : undefined) ?? 0;
  const extra = ([...TARGET_FIELDS, "feedback"] as const).filter((f) => d[f] !== undefined);
  if (extra.length) throw badRequest(extra.map((field) => ({ field, message: "is not accepted at the budget checkpoint" })));
  if (d.action === "revise") throw badRequest([{ field: "action", message: "the budget checkpoint takes approve with a new budgetUsd, or cancel" }]);
  if (d.action === "approve" && (d.budgetUsd === undefined || d.budgetUsd < needed)) {
    throw badRequest([{ field: "budgetUsd", message: `must be at least ${needed} (spent so far plus the next step) to go on` }]);
  }
}

/**
 * Resolves the pending checkpoint (409 if someone decided it first), then sends the workflow its
 * event; when the event cannot be delivered the checkpoint is reopened and the caller gets a 503,
 * so nothing changed.
 */
export async function applyDecision(
  env: Env,
  d: Db,
  shoot: ShootRow,
  pending: CheckpointRow,
  decision: Decision,
  by: string,
  extra: Record<string, unknown> = {},
) {
  const stage = pending.stage as CheckpointStage;
  if (!(await resolveCheckpoint(d, pending.id, DECIDED_STATUS[decision.action], decision, by))) {
    throw conflict(`the ${stage} checkpoint was already decided`);
  }
  try {
    const instance = await env.SHOOT.get(shoot.id);
    await instance.sendEvent({ type: decisionEventType(stage, pending.attempt), payload: decision });
  } catch (err) {
    await reopenCheckpoint(d, pending.id);
    console.error(JSON.stringify({ msg: "decision not delivered", shoot: shoot.id, error: String(err) }));
    throw new Problem(503, "Unavailable", "the decision could not be delivered to the shoot; nothing changed, try again");
  }
  await logEvent(d, {
    shootId: shoot.id,
    accountId: shoot.accountId,
    type: "checkpoint.resolved",
    data: { stage, attempt: pending.attempt, action: decision.action, by, ...extra },
  });
}

/**
 * Cancels a live shoot, keeping what it made. At a checkpoint it is that checkpoint's cancel
 * decision (the workflow ends itself); while a stage is working the instance is terminated and the
 * row ended here.
 */
export async function cancelShoot(env: Env, d: Db, shoot: ShootRow, by: string): Promise<void> {
  const pending = await pendingCheckpoint(d, shoot.id);
  if (pending) {
    try {
      return await applyDecision(env, d, shoot, pending, { action: "cancel" }, by);
    } catch (err) {
      // Decided by someone else in the meantime: the stage is working again, so terminate it.
      if (!(err instanceof Problem && err.status === 409)) throw err;
    }
  }
  // A shoot whose instance is not made yet (its batch row waits to be placed) has none to stop.
  const instance = await env.SHOOT.get(shoot.id).catch(() => null);
  await instance?.terminate().catch(() => undefined);
  await endShoot(env, { shootId: shoot.id, accountId: shoot.accountId }, "cancelled", { stage: shoot.stage, data: { by } });
}
