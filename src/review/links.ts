/**
 * Review link tokens: an HMAC-signed claim naming one shoot, checkpoint stage and attempt, with an
 * expiry. Single use falls out of the scope: once that attempt is decided (by anyone) the checkpoint
 * is no longer pending, so the token can decide nothing more.
 */
import { base64url, fromBase64url, hmacSha256, randomToken, safeEqual } from "../lib/crypto.ts";

export interface ReviewClaim {
  /** shoot id */
  sh: string;
  /** account id: the shoot is looked up within it, as a key would be */
  ac: string;
  st: string;
  at: number;
  /** expiry, Unix seconds */
  exp: number;
  /** makes every link distinct, so links for one checkpoint can be told apart in logs */
  n: string;
}

export const DEFAULT_LINK_TTL = "72 hours";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function signature(secret: string, payload: string) {
  return base64url(await hmacSha256(secret, `review-link\n${payload}`));
}

export async function signReviewLink(env: Pick<Env, "SIGNING_SECRET">, claim: Omit<ReviewClaim, "n">): Promise<string> {
  const payload = base64url(enc.encode(JSON.stringify({ ...claim, n: randomToken(9) })));
  return `${payload}.${await signature(env.SIGNING_SECRET, payload)}`;
}

export type LinkCheck = { ok: true; claim: ReviewClaim } | { ok: false; reason: "invalid" | "expired"; claim?: ReviewClaim };

export async function verifyReviewLink(env: Pick<Env, "SIGNING_SECRET">, token: string): Promise<LinkCheck> {
  const m = /^([A-Za-z0-9_-]{10,1000})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { ok: false, reason: "invalid" };
  if (!safeEqual(await signature(env.SIGNING_SECRET, m[1]), m[2])) return { ok: false, reason: "invalid" };
  let claim: ReviewClaim;
  try {
    claim = JSON.parse(dec.decode(fromBase64url(m[1])));
  } catch {
    return { ok: false, reason: "invalid" };
  }
  if (typeof claim.sh !== "string" || typeof claim.st !== "string" || typeof claim.at !== "number" || typeof claim.exp !== "number") {
    return { ok: false, reason: "invalid" };
  }
  if (claim.exp * 1000 <= Date.now()) return { ok: false, reason: "expired", claim };
  return { ok: true, claim };
}
