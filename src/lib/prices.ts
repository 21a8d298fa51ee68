/** Cost of a provider job from the configured price table (USD), when the provider does not report one. */
import { isFinalStatus } from "../domain/contract.ts";
export function priceOf(env: Pick<Env, "PRICES">, model: string | null | undefined): number | null {
  if (!model) return null;
  try {
    const table = JSON.parse(env.PRICES || "{}") as Record<string, number>;
    return typeof table[model] === "number" ? table[model] : null;
  } catch {
    return null;
  }
}

type PriceEnv = Pick<Env, "PRICES" | "IMAGE_MODEL" | "CLIP_PROVIDER" | "CLIP_MODEL" | "CLIP_FAL_MODEL">;

/** The paid provider jobs of one pass through the stages, at list price: `[stage, jobs, USD each]`. */
export function stageCosts(env: PriceEnv, params: unknown): [string, number, number][] {
  const { stitch } = params as { stitch?: { loop?: boolean } };
  const image = priceOf(env, env.IMAGE_MODEL) ?? 0;
  const clip = priceOf(env, env.CLIP_PROVIDER === "fal" ? env.CLIP_FAL_MODEL : env.CLIP_MODEL) ?? 0;
  return [
    ["plan", 0, 0],
    ["hero", 1, image],
    ["contact-sheet", 1, image],
    ["frames", 0, 0],
    ["clips", stitch?.loop ? 6 : 5, clip],
    ["reel", 0, 0],
  ];
}

/**
 * List-price estimate of the provider jobs a shoot has still to run: the stages after its current
 * one, and the current one's jobs not yet submitted. Revisions are not foreseen; it is a floor.
 */
export function estimateRemainingUsd(
  env: PriceEnv,
  shoot: { status: string; stage: string; params: unknown },
  jobs: { type: string; stage: string }[],
): number {
  if (isFinalStatus(shoot.status)) return 0;
  const plan = stageCosts(env, shoot.params);
  const at = plan.findIndex(([s]) => s === shoot.stage);
  let total = 0;
  for (const [stage, count, price] of plan.slice(Math.max(0, at))) {
    const started = jobs.filter((j) => j.type === "provider" && j.stage === stage).length;
    total += Math.max(0, count - (stage === shoot.stage ? started : 0)) * price;
  }
  return roundUsd(total);
}

/**
 * What a new shoot is expected to cost: each paid stage once, and a person-reviewed one
 * `1 + QUOTE_REVISION_RATE` times (the share of reviews that ask for another attempt), capped by
 * the shoot's own budget, which it cannot pass without a person raising it.
 */
export function quoteShootUsd(env: PriceEnv & Pick<Env, "QUOTE_REVISION_RATE">, params: { review: readonly string[]; budgetUsd?: number | null }): number {
  const rate = Math.max(0, Number(env.QUOTE_REVISION_RATE) || 0);
  const total = stageCosts(env, params).reduce((sum, [stage, count, price]) => sum + count * price * (params.review.includes(stage) ? 1 + rate : 1), 0);
  return roundUsd(params.budgetUsd != null ? Math.min(total, params.budgetUsd) : total);
}

/** USD to a hundredth of a cent, as costs are stored and shown. */
export const roundUsd = (n: number) => Math.round(n * 10000) / 10000;
