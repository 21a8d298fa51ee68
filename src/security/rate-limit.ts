/**
 * Per-key rate limit on the API, with Cloudflare's Rate Limiting binding (API_RATE_LIMIT in
 * wrangler.jsonc). Under `wrangler dev` and the vitest pool the same binding is emulated by
 * miniflare (a fixed window kept in a local Durable Object), so the limit holds in every mode. The
 * binding answers only yes or no, so Retry-After is the window's length: retrying then is safe.
 */
import type { Context } from "hono";
import type { AppEnv } from "../api/app-env.ts";
import { Problem } from "../api/problem.ts";

/** Must match `simple.period` of API_RATE_LIMIT in wrangler.jsonc (10 or 60 seconds only). */
export const RATE_LIMIT_PERIOD_SECONDS = 10;

export class RateLimited extends Problem {
  constructor(readonly retryAfter: number) {
    super(429, "Too many requests", `this API key sent too many requests; retry after ${retryAfter} seconds`);
  }
}

export async function enforceRateLimit(c: Context<AppEnv>, keyId: string): Promise<void> {
  const binding = c.env.API_RATE_LIMIT as RateLimit | undefined;
  if (!binding) return;
  const { success } = await binding.limit({ key: `key:${keyId}` });
  if (!success) throw new RateLimited(RATE_LIMIT_PERIOD_SECONDS);
}
