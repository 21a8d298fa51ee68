/**
 * FAL webhook verification: Ed25519 over `request_id \n user_id \n timestamp \n sha256(raw body)`,
 * checked against FAL's JWKS, with a five-minute timestamp window. The JWKS is cached per isolate
 * and refetched once when no cached key verifies (FAL may have rotated keys).
 */
import { fromBase64url, fromHex, sha256Hex } from "../lib/crypto.ts";

const WINDOW_SECONDS = 300;
const JWKS_TTL_MS = 12 * 60 * 60 * 1000;
let cache: { url: string; at: number; keys: CryptoKey[] } | null = null;

async function loadKeys(url: string, fresh: boolean): Promise<CryptoKey[]> {
  if (!fresh && cache && cache.url === url && Date.now() - cache.at < JWKS_TTL_MS) return cache.keys;
  const res = await fetch(url, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`JWKS fetch failed: ${res.status}`);
  const jwks = (await res.json()) as { keys?: { kty?: string; crv?: string; x?: string }[] };
  const keys: CryptoKey[] = [];
  for (const k of jwks.keys ?? []) {
    if (k.kty !== "OKP" || k.crv !== "Ed25519" || !k.x) continue;
    keys.push(await crypto.subtle.importKey("raw", fromBase64url(k.x), { name: "Ed25519" }, false, ["verify"]));
  }
  cache = { url, at: Date.now(), keys };
  return keys;
}

export type WebhookCheck = { ok: true } | { ok: false; reason: string };

export async function verifyFalWebhook(jwksUrl: string, headers: Headers, rawBody: ArrayBuffer): Promise<WebhookCheck> {
  const requestId = headers.get("x-fal-webhook-request-id");
  const userId = headers.get("x-fal-webhook-user-id");
  const timestamp = headers.get("x-fal-webhook-timestamp");
  const signatureHex = headers.get("x-fal-webhook-signature");
  if (!requestId || !userId || !timestamp || !signatureHex) return { ok: false, reason: "missing signature headers" };
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > WINDOW_SECONDS) {
    return { ok: false, reason: "timestamp outside the allowed window" };
  }
  const signature = fromHex(signatureHex);
  if (signature?.length !== 64) return { ok: false, reason: "malformed signature" };
  const message = new TextEncoder().encode(`${requestId}\n${userId}\n${timestamp}\n${await sha256Hex(rawBody)}`);
  for (const fresh of [false, true]) {
    let keys: CryptoKey[];
    try {
      keys = await loadKeys(jwksUrl, fresh);
    } catch (err) {
      // Unverifiable is untrusted. A genuine webhook refused here is not lost: the job is polled.
      return { ok: false, reason: `FAL's signing keys could not be loaded (${err instanceof Error ? err.message : String(err)})` };
    }
    for (const key of keys) {
      if (await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message)) return { ok: true };
    }
  }
  return { ok: false, reason: "signature does not verify" };
}
