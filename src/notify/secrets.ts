/**
 * Endpoint signing secrets: `whsec_` + base64 of 32 random bytes (the Standard Webhooks format),
 * shown to the account once and stored encrypted with AES-GCM under a key derived from SIGNING_SECRET.
 */
import { fromBase64url, base64url } from "../lib/crypto.ts";

export interface StoredSecret {
  id: string;
  /** base64url(iv || ciphertext) */
  enc: string;
  createdAt: string;
  /** Set when a newer secret replaced it: until then both sign (rotation overlap). */
  expiresAt: string | null;
}

const enc = new TextEncoder();

export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

async function key(env: Env): Promise<CryptoKey> {
  const raw = await crypto.subtle.digest("SHA-256", enc.encode(`webhook-secrets\n${env.SIGNING_SECRET}`));
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function sealSecret(env: Env, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key(env), enc.encode(secret)));
  const out = new Uint8Array(iv.length + ct.length);
  out.set(iv);
  out.set(ct, iv.length);
  return base64url(out);
}

export async function openSecret(env: Env, sealed: string): Promise<string> {
  const bytes = fromBase64url(sealed);
  const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, await key(env), bytes.slice(12));
  return new TextDecoder().decode(pt);
}

/** The secrets that sign now: the newest, plus older ones still inside their overlap. */
export function activeSecrets(secrets: StoredSecret[], now = Date.now()): StoredSecret[] {
  return secrets.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now);
}
