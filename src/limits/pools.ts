/**
 * Which provider pool a request draws from, and its caps. Pools are per provider and model family
 * (FAL images, FAL video, Kling); caps come from PROVIDER_CAPS in wrangler.jsonc, e.g.
 * `{"fal:image":{"global":8,"perAccount":8},"kling:video":{"global":4,"perAccount":4}}`.
 * A family with only `perAccount` (each account brings its own provider quota) gets one pool
 * object per account, so one busy account's line is never every account's bottleneck.
 */
import type { ProviderRequest } from "../providers/jobs.ts";

export interface PoolCaps {
  global: number;
  perAccount: number;
}

export interface Pool {
  name: string;
  /** The pool's Durable Object: the family's name, or `name@account` for per-account pools. */
  key: string;
  /** How a waiting shoot names it: "queued at Kling, 12 ahead". */
  label: string;
  caps: PoolCaps;
}

const LABELS: Record<string, string> = { "fal:image": "FAL images", "fal:video": "FAL video", "kling:video": "Kling" };

export function poolName(req: ProviderRequest): string {
  if (req.provider === "kling") return "kling:video";
  return /video|kling/i.test(req.model) ? "fal:video" : "fal:image";
}

/** PROVIDER_CAPS as configured; none when it is not valid JSON. */
function configuredCaps(env: Env): Record<string, Partial<PoolCaps>> {
  try {
    return JSON.parse(env.PROVIDER_CAPS || "{}");
  } catch {
    return {};
  }
}

/** The pool for this request from this account, or null when its family has no cap configured. */
export function poolFor(env: Env, req: ProviderRequest, accountId: string): Pool | null {
  return poolNamed(env, poolName(req), accountId);
}

function poolNamed(env: Env, name: string, accountId: string): Pool | null {
  const c = configuredCaps(env)[name];
  const global = Math.floor(Number(c?.global) || 0);
  const perAccount = Math.floor(Number(c?.perAccount) || 0);
  const label = LABELS[name] ?? name;
  if (global > 0) return { name, key: name, label, caps: { global, perAccount: Math.max(1, Math.min(global, perAccount || global)) } };
  if (perAccount > 0) return { name, key: `${name}@${accountId}`, label, caps: { global: perAccount, perAccount } };
  return null;
}

/** Every pool an account's shoots draw from: each configured family's global pool, or the account's own. */
export function poolsOfAccount(env: Env, accountId: string): Pool[] {
  return Object.keys(configuredCaps(env)).flatMap((name) => poolNamed(env, name, accountId) ?? []);
}

/**
 * Gives back every slot a shoot holds or waits for, in every pool of its account: for a shoot ended
 * from outside (cancelled, terminated, failed by recovery), whose own releases will never run.
 */
export async function releaseShootSlots(env: Env, shootId: string, accountId: string): Promise<void> {
  await Promise.all(poolsOfAccount(env, accountId).map((p) => env.PROVIDER_POOL.get(env.PROVIDER_POOL.idFromName(p.key)).releaseShoot(shootId)));
}

/** Every configured pool's per-account cap, added up (how many provider jobs one account may have in flight). */
export function perAccountCapsTotal(env: Env): number {
  return Object.values(configuredCaps(env)).reduce((n, c) => n + Math.floor(Number(c.perAccount) || Number(c.global) || 0), 0);
}

/** A waiter's place ("12 ahead") is counted up to this, so a long line costs no more to join than a short one. */
export const AHEAD_COUNT_LIMIT = 100;

/** The event a waiting workflow is woken with when a slot may be free for its job. */
export const slotEventType = (leaseId: string) => `slot-${leaseId}`;
