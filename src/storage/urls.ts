/** Absolute, signed URLs for R2 objects and assets. */
import { signPath, type SignedMethod } from "./signing.ts";

/** Raw object access for the media service and providers (`/internal/blobs/<key>`). */
export async function blobUrl(env: Env, method: SignedMethod, key: string, ttlSeconds: number): Promise<string> {
  return `${env.PUBLIC_URL}${await signPath(env, method, `/internal/blobs/${key}`, ttlSeconds)}`;
}

/** An asset's content URL that works without a bearer header until it expires. */
export async function assetUrl(env: Env, origin: string, assetId: string, ttlSeconds = 6 * 3600): Promise<string> {
  return `${origin}${await signPath(env, "GET", `/api/assets/${assetId}/content`, ttlSeconds)}`;
}

/** Replaces every `r2:<key>` string in a provider request with a signed GET URL. */
export async function resolveBlobRefs<T>(env: Env, value: T, ttlSeconds = 24 * 3600): Promise<T> {
  if (typeof value === "string") {
    return (value.startsWith("r2:") ? await blobUrl(env, "GET", value.slice(3), ttlSeconds) : value) as T;
  }
  if (Array.isArray(value)) return (await Promise.all(value.map((v) => resolveBlobRefs(env, v, ttlSeconds)))) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveBlobRefs(env, v, ttlSeconds);
    return out as T;
  }
  return value;
}
