/**
 * Stage 0: brief + references -> plan. Claude plans when ANTHROPIC_API_KEY is set; otherwise (or when
 * Claude keeps failing) the deterministic keyword planner does, and the plan says which one ran.
 */
import { recordAsset } from "../db/assets.ts";
import { db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { updateShoot } from "../db/shoots.ts";
import { planShoot, type Plan } from "../domain/plan.ts";
import type { ShootParams } from "../domain/shoot.ts";
import { PlannerFallback, planWithClaude } from "../providers/anthropic.ts";
import { plannerReferences } from "../storage/downscale.ts";
import { putBytes, shootKey } from "../storage/r2.ts";
import { blobUrl } from "../storage/urls.ts";
import type { RunContext } from "./context.ts";

export async function makePlan(
  ctx: RunContext,
  a: { brief: string; references: string[]; presets: ShootParams["presets"]; feedback: string | null; attempt: number },
): Promise<{ plan: Plan; assetId: string }> {
  const { env, shootId, accountId } = ctx;
  const d = db(env.DB);
  let plan: Plan;
  let plannerError: string | null = null;
  if (env.ANTHROPIC_API_KEY) {
    try {
      const keys = await plannerReferences(env, accountId, shootId, a.references);
      const urls = await Promise.all(keys.map((k) => blobUrl(env, "GET", k, 3600)));
      plan = await planWithClaude(env, a.brief, urls, a.presets, a.feedback);
    } catch (err) {
      // A refusal, a timeout or an answer that fails the schema: the rules plan, saying why.
      plannerError = err instanceof Error ? err.message : String(err);
      const reason = err instanceof PlannerFallback ? err.reason : "error";
      plan = {
        ...planShoot({ brief: a.brief, presets: a.presets }),
        plannerReason:
          `rules: Claude ${reason === "error" ? "failed" : reason === "invalid" ? "answered an invalid plan" : reason === "refusal" ? "refused" : "timed out"} (${plannerError})`.slice(
            0,
            500,
          ),
      };
    }
  } else {
    plan = { ...planShoot({ brief: a.brief, presets: a.presets }), plannerReason: "rules: no ANTHROPIC_API_KEY configured" };
  }
  const bytes = new TextEncoder().encode(JSON.stringify(plan, null, 2));
  const stored = await putBytes(env.BUCKET, shootKey(accountId, shootId, "plan", 0, a.attempt, "application/json"), bytes, "application/json");
  const row = await recordAsset(d, {
    accountId,
    shootId,
    kind: "plan",
    stage: "plan",
    version: a.attempt,
    stored,
    provenance: { planner: plan.planner, model: plan.planner === "claude" ? env.ANTHROPIC_MODEL : null, feedback: a.feedback, plannerError },
  });
  await updateShoot(d, shootId, { plan });
  await logEvent(d, {
    shootId,
    accountId,
    type: "asset.stored",
    data: { asset: row.id, kind: "plan", version: a.attempt, planner: plan.planner, plannerError },
  });
  return { plan, assetId: row.id };
}
