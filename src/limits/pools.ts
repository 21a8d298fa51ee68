/**
 * Which provider pool a request draws from, and its caps. Pools are per provider and model family
 * (FAL images, FAL video, Kling); caps come from PROVIDER_CAPS in wrangler.jsonc, e.g.
 * `{"fal:image":{"global":8,"perAccount":8},"kling:video":{"global":4,"perAccount":4}}`.
 */
import type { ProviderRequest } from "../providers/jobs.ts";

export interface PoolCaps {
  global: number;
  perAccount: number;
}

export interface Pool {
  name: string;
  /** How a waiting shoot names it: "queued at Kling, 12 ahead". */
  label: string;
  caps: PoolCaps;
}

const LABELS: Record<string, string> = { "fal:image": "FAL images", "fal:video": "FAL video", "kling:video": "Kling" };

export function poolName(req: ProviderRequest): string {
  if (req.provider === "kling") return "kling:video";
  return /video|kling/i.test(req.model) ? "fal:video" : "fal:image";
}

/** The pool for this request, or null when its family has no cap configured. */
export function poolFor(env: Env, req: ProviderRequest): Pool | null {
  const name = poolName(req);
  let all: Record<string, Partial<PoolCaps>>;
  try {
    all = JSON.parse(env.PROVIDER_CAPS || "{}");
  } catch {
    return null;
  }
  const c = all[name];
  if (!c || !(Number(c.global) > 0)) return null;
  const global = Math.floor(Number(c.global));
  return { name, label: LABELS[name] ?? name, caps: { global, perAccount: Math.max(1, Math.min(global, Math.floor(Number(c.perAccount) || global))) } };
}

/** The event a waiting workflow is woken with when a slot may be free for its job. */
export const slotEventType = (leaseId: string) => `slot-${leaseId}`;
