/** Cost of a provider job from the configured price table (USD), when the provider does not report one. */
export function priceOf(env: Pick<Env, "PRICES">, model: string | null | undefined): number | null {
  if (!model) return null;
  try {
    const table = JSON.parse(env.PRICES || "{}") as Record<string, number>;
    return typeof table[model] === "number" ? table[model] : null;
  } catch {
    return null;
  }
}
