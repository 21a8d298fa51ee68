/**
 * The per-shoot budget cap (`budgetUsd` at create). Before a stage submits paid jobs, the workflow
 * checks that what the shoot has spent plus those jobs' price stays within the cap; if not, it
 * pauses at a `budget` checkpoint (always a human's decision) where the reviewer raises the cap or
 * cancels. Retries inside a running stage check too, and stop rather than pass the cap.
 */
import { eq } from "drizzle-orm";
import { db, schema, type Db } from "../db/client.ts";
import { getShootById } from "../db/shoots.ts";
import { priceOf, roundUsd } from "../lib/prices.ts";
import { awaitDecision, type Outcome } from "./checkpoint.ts";
import { DB_STEP, type RunContext } from "./context.ts";

/** Money spent or committed: finished jobs' costs plus the price of jobs still running. */
export async function spentUsd(env: Pick<Env, "PRICES">, d: Db, shootId: string): Promise<number> {
  const rows = await d.select().from(schema.jobs).where(eq(schema.jobs.shootId, shootId)).all();
  let total = 0;
  for (const j of rows) {
    if (j.costUsd != null) total += j.costUsd;
    // Committed but not yet costed: count the price of the job's model.
    else if (j.type === "provider" && (j.status === "submitted" || j.status === "submitting")) total += priceOf(env, j.model) ?? 0;
  }
  return roundUsd(total);
}

export interface BudgetCheck {
  spentUsd: number;
  nextUsd: number;
  capUsd: number;
}

/**
 * Returns null when `models` (one entry per job about to be submitted) fit under the cap, or after
 * the reviewer raised it enough; otherwise the decision that ended the wait (cancel or expire).
 */
export async function ensureBudget(ctx: RunContext, name: string, models: string[]): Promise<Outcome | null> {
  if (ctx.params.budgetUsd == null) return null;
  let cap = ctx.params.budgetUsd;
  const nextUsd = roundUsd(models.reduce((s, m) => s + (priceOf(ctx.env, m) ?? 0), 0));
  for (let check = 1; ; check++) {
    const spent = await ctx.step.do(`budget ${name}#${check}`, DB_STEP, () => spentUsd(ctx.env, db(ctx.env.DB), ctx.shootId));
    if (spent + nextUsd <= cap + 1e-9) return null;
    ctx.budgetCheckpoints = (ctx.budgetCheckpoints ?? 0) + 1;
    const attempt = ctx.budgetCheckpoints;
    const artifacts = { assets: [], budget: { spentUsd: spent, nextUsd, capUsd: cap, neededUsd: roundUsd(spent + nextUsd), before: name } };
    const outcome = await awaitDecision(ctx, "budget", attempt, artifacts);
    if (outcome.action === "cancel" || outcome.action === "expire") return outcome;
    const raised = (outcome as { budgetUsd?: number }).budgetUsd;
    if (raised !== undefined) {
      cap = raised;
      ctx.params = { ...ctx.params, budgetUsd: raised };
      await ctx.step.do(`raise budget#${attempt}`, DB_STEP, async () => {
        const d = db(ctx.env.DB);
        const row = await getShootById(d, ctx.shootId);
        if (row)
          await d
            .update(schema.shoots)
            .set({ params: { ...(row.params as object), budgetUsd: raised } })
            .where(eq(schema.shoots.id, ctx.shootId));
      });
    }
  }
}

/**
 * Whether jobs on `models` fit under the cap without asking anyone: an automatic retry (autoFix)
 * that would pass the cap is skipped, and a person decides instead.
 */
export async function fitsBudget(ctx: RunContext, name: string, models: string[]): Promise<boolean> {
  const cap = ctx.params.budgetUsd;
  if (cap == null) return true;
  const nextUsd = models.reduce((s, m) => s + (priceOf(ctx.env, m) ?? 0), 0);
  const spent = await ctx.step.do(`budget ${name}`, DB_STEP, () => spentUsd(ctx.env, db(ctx.env.DB), ctx.shootId));
  return spent + nextUsd <= cap + 1e-9;
}
