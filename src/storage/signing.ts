/**
 * Signed, expiring URLs. One signature grants one method on one path: the media service GETs its
 * inputs and PUTs its outputs with them, providers fetch reference images with them, and browsers
 * open media without a bearer header. The secret never leaves the Worker.
 */
import { base64url, hmacSha256, safeEqual } from "../lib/crypto.ts";

export type SignedMethod = "GET" | "PUT";

function secretOf(env: Pick<Env, "SIGNING_SECRET">): string {
  if (!env.SIGNING_SECRET) throw new Error("SIGNING_SECRET is not configured");
  return env.SIGNING_SECRET;
}

export async function signPath(env: Pick<Env, "SIGNING_SECRET">, method: SignedMethod, path: string, ttlSeconds: number): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  const sig = base64url(await hmacSha256(secretOf(env), `${method}\n${path}\n${exp}`));
  return `${path}?exp=${exp}&sig=${sig}`;
}

export async function verifySignedPath(
  env: Pick<Env, "SIGNING_SECRET">,
  method: SignedMethod,
  path: string,
  exp: string | undefined,
  sig: string | undefined,
): Promise<boolean> {
  if (!exp || !sig || !/^\d+$/.test(exp) || Number(exp) < Date.now() / 1000) return false;
  const expected = base64url(await hmacSha256(secretOf(env), `${method}\n${path}\n${exp}`));
  return safeEqual(expected, sig);
}

/** A token bound to one purpose and subject, e.g. a Kling callback for one job. */
export async function purposeToken(env: Pick<Env, "SIGNING_SECRET">, purpose: string, subject: string): Promise<string> {
  return base64url(await hmacSha256(secretOf(env), `${purpose}\n${subject}`));
}
