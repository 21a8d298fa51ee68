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

/**
 * List-price estimate of the provider jobs a shoot has still to run: the stages after its current
 * one, and the current one's jobs not yet submitted. Revisions are not foreseen; it is a floor.
 */
export function estimateRemainingUsd(
  env: Pick<Env, "PRICES" | "IMAGE_MODEL" | "CLIP_PROVIDER" | "CLIP_MODEL" | "CLIP_FAL_MODEL">,
  shoot: { status: string; stage: string; params: unknown },
  jobs: { type: string; stage: string }[],
): number {
  if (isFinalStatus(shoot.status)) return 0;
  const params = shoot.params as { stitch?: { loop?: boolean } };
  const image = priceOf(env, env.IMAGE_MODEL) ?? 0;
  const clip = priceOf(env, env.CLIP_PROVIDER === "fal" ? env.CLIP_FAL_MODEL : env.CLIP_MODEL) ?? 0;
  const plan: [string, number, number][] = [
    ["plan", 0, 0],
    ["hero", 1, image],
    ["contact-sheet", 1, image],
    ["frames", 0, 0],
    ["clips", params.stitch?.loop ? 6 : 5, clip],
    ["reel", 0, 0],
  ];
  const at = plan.findIndex(([s]) => s === shoot.stage);
  let total = 0;
  for (const [stage, count, price] of plan.slice(Math.max(0, at))) {
    const started = jobs.filter((j) => j.type === "provider" && j.stage === stage).length;
    total += Math.max(0, count - (stage === shoot.stage ? started : 0)) * price;
  }
  return Math.round(total * 10000) / 10000;
}
