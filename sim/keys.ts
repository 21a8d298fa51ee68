/**
 * Credentials the sim checks (FAL key, Kling JWT, Anthropic key) and the Ed25519 key it signs
 * FAL webhooks with. The signing key is persisted so a restarted sim still verifies against the
 * JWKS the Worker may have cached.
 */
import crypto, { type KeyObject } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

export interface PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  use: "sig";
  alg: "EdDSA";
}

export interface SigningKey {
  privateKey: KeyObject;
  publicJwk: PublicJwk;
}

const KEY_FILE = "fal-webhook-ed25519.json";

/** Loads the persisted keypair from stateDir, or creates and persists one (mode 0600). */
export async function loadOrCreateSigningKey(stateDir: string): Promise<SigningKey> {
  const file = path.join(stateDir, KEY_FILE);
  try {
    const saved = JSON.parse(await fs.readFile(file, "utf8")) as { privateJwk: crypto.JsonWebKey };
    return fromPrivateJwk(saved.privateJwk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const { privateKey } = crypto.generateKeyPairSync("ed25519");
  const privateJwk = privateKey.export({ format: "jwk" });
  await fs.mkdir(stateDir, { recursive: true });
  // Write then rename, so a crash never leaves a half-written key behind.
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify({ privateJwk, createdAt: new Date().toISOString() }), { mode: 0o600 });
  await fs.rename(tmp, file);
  return fromPrivateJwk(privateJwk);
}

function fromPrivateJwk(jwk: crypto.JsonWebKey): SigningKey {
  const privateKey = crypto.createPrivateKey({ key: jwk, format: "jwk" });
  const x = crypto.createPublicKey(privateKey).export({ format: "jwk" }).x as string;
  const kid = crypto.createHash("sha256").update(x).digest("hex").slice(0, 16);
  return { privateKey, publicJwk: { kty: "OKP", crv: "Ed25519", x, kid, use: "sig", alg: "EdDSA" } };
}

export function jwks(key: SigningKey): { keys: PublicJwk[] } {
  return { keys: [key.publicJwk] };
}

export function sha256Hex(data: string | Uint8Array): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** FAL's signed message: request_id \n user_id \n timestamp \n sha256_hex(raw body). */
export function falSignatureMessage(requestId: string, userId: string, timestamp: string, body: string): string {
  return `${requestId}\n${userId}\n${timestamp}\n${sha256Hex(Buffer.from(body, "utf8"))}`;
}

/** The four X-Fal-Webhook-* headers for one delivery attempt. */
export function falWebhookHeaders(
  key: SigningKey,
  p: { requestId: string; userId: string; body: string; timestamp?: number; corrupt?: boolean },
): Record<string, string> {
  const timestamp = String(p.timestamp ?? Math.floor(Date.now() / 1000));
  const message = falSignatureMessage(p.requestId, p.userId, timestamp, p.body);
  const signature = crypto.sign(null, Buffer.from(message, "utf8"), key.privateKey);
  // A forged signature: flip bits so it is well-formed hex but cannot verify.
  if (p.corrupt) for (let i = 0; i < signature.length; i += 7) signature[i] ^= 0xa5;
  return {
    "X-Fal-Webhook-Request-Id": p.requestId,
    "X-Fal-Webhook-User-Id": p.userId,
    "X-Fal-Webhook-Timestamp": timestamp,
    "X-Fal-Webhook-Signature": signature.toString("hex"),
  };
}

/** Constant-time string comparison (length leak is acceptable for a simulator). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

export type AuthResult = { ok: true } | { ok: false; reason: string };

/** FAL: `Authorization: Key <key>`; any non-empty key unless the sim is pinned to one. */
export function checkFalAuth(header: string | undefined, expected?: string): AuthResult {
  if (!header) return { ok: false, reason: "Missing authorization header" };
  const m = /^Key\s+(.+)$/i.exec(header.trim());
  if (!m) return { ok: false, reason: "Invalid authorization header; expected 'Key <FAL_KEY>'" };
  if (expected !== undefined && !safeEqual(m[1], expected)) {
    return { ok: false, reason: "No user found for Key ID and Secret" };
  }
  return { ok: true };
}

/** Anthropic: `x-api-key` (or a Bearer token, as the SDK sends with authToken). */
export function checkAnthropicAuth(apiKey: string | undefined, authorization: string | undefined, expected?: string): AuthResult {
  const key = apiKey ?? /^Bearer\s+(.+)$/i.exec(authorization ?? "")?.[1];
  if (!key) return { ok: false, reason: "x-api-key header is required" };
  if (expected !== undefined && !safeEqual(key, expected)) return { ok: false, reason: "invalid x-api-key" };
  return { ok: true };
}

function b64urlJson(part: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Kling: HS256 JWT with iss = access key, signed with the secret key, valid between nbf and exp. */
export function verifyKlingJwt(
  authorization: string | undefined,
  creds: { accessKey: string; secretKey: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): AuthResult {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? "")?.[1];
  if (!token) return { ok: false, reason: "Authorization is empty or not a Bearer token" };
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "Authorization is not a JWT" };
  const [h, p, s] = parts;
  const header = b64urlJson(h);
  const payload = b64urlJson(p);
  if (!header || !payload) return { ok: false, reason: "Authorization is not a JWT" };
  if (header.alg !== "HS256") return { ok: false, reason: "JWT alg must be HS256" };
  const expected = crypto.createHmac("sha256", creds.secretKey).update(`${h}.${p}`).digest("base64url");
  if (!safeEqual(s, expected)) return { ok: false, reason: "JWT signature is invalid" };
  if (typeof payload.iss !== "string" || !safeEqual(payload.iss, creds.accessKey)) {
    return { ok: false, reason: "JWT issuer is not a known access key" };
  }
  if (typeof payload.exp !== "number" || payload.exp <= nowSeconds) return { ok: false, reason: "Authorization has expired" };
  if (typeof payload.nbf === "number" && payload.nbf > nowSeconds + 5) {
    return { ok: false, reason: "Authorization is not yet valid" };
  }
  return { ok: true };
}

/** Mints a Kling JWT the way the production client does (used by tests and tools). */
export function mintKlingJwt(accessKey: string, secretKey: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const h = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
  const p = Buffer.from(JSON.stringify({ iss: accessKey, exp: nowSeconds + 1800, nbf: nowSeconds - 5 })).toString("base64url");
  const s = crypto.createHmac("sha256", secretKey).update(`${h}.${p}`).digest("base64url");
  return `${h}.${p}.${s}`;
}
