/**
 * R2 key layout and hashed writes. Keys are deterministic per shoot, kind, index and version, so a
 * retried step rewrites the same object instead of adding a second one.
 */
import { sha256Hex } from "../lib/crypto.ts";
import { sniffImage, sniffMp4, type MediaInfo } from "./probe.ts";

const EXT: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "video/mp4": "mp4",
  "application/json": "json",
};

export function extensionFor(mime: string): string {
  return EXT[mime] ?? "bin";
}

export function uploadKey(accountId: string, assetId: string, mime: string): string {
  return `accounts/${accountId}/uploads/${assetId}.${extensionFor(mime)}`;
}

export function shootKey(accountId: string, shootId: string, kind: string, index: number, version: number, mime: string): string {
  const slot = index > 0 ? `${kind}-${index}` : kind;
  return `accounts/${accountId}/shoots/${shootId}/${slot}/v${version}.${extensionFor(mime)}`;
}

/** A pack file: `…/pack/v2/reels/reel.mp4`, `…/pack/v2/shopify/frame-3.jpg` (one folder per pack version and channel). */
export function packKey(accountId: string, shootId: string, version: number, channel: string, source: string, mime: string): string {
  return `accounts/${accountId}/shoots/${shootId}/pack/v${version}/${channel}/${source}.${extensionFor(mime)}`;
}

export interface StoredObject extends MediaInfo {
  key: string;
  bytes: number;
  sha256: string;
}

export function inspect(bytes: Uint8Array, declared?: string): MediaInfo | null {
  if (declared === "application/json") return { mime: "application/json" };
  return sniffImage(bytes) ?? sniffMp4(bytes);
}

/** Writes bytes under `key` with their type and sha256 recorded on the object too. */
export async function putBytes(bucket: R2Bucket, key: string, bytes: Uint8Array, declared?: string): Promise<StoredObject> {
  const info = inspect(bytes, declared);
  if (!info) throw new Error(`unrecognised media type for ${key}`);
  const sha256 = await sha256Hex(bytes);
  await bucket.put(key, bytes, {
    httpMetadata: { contentType: info.mime },
    customMetadata: { sha256 },
    sha256,
  });
  return { key, bytes: bytes.byteLength, sha256, ...info };
}
