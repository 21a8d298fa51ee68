/**
 * The photos of a catalogue batch: sent as files, inside a zip, or named by URL in the rows. Every
 * photo passes the upload checks (type by its bytes, complete, size, pixels, metadata stripped:
 * storage/image-check.ts) before anything is stored. Each distinct photo becomes one reference asset
 * whose id is derived from its content, so a photo used by many rows, or sent again, is stored once
 * and the same request resolves to the same rows (and so the same batch).
 */
import { unzipSync } from "fflate";
import type { FieldError } from "../api/problem.ts";
import { assetsByIds, recordAsset } from "../db/assets.ts";
import type { Db } from "../db/client.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { durationMs } from "../lib/duration.ts";
import { fetchPublic, publicUrlProblem } from "../security/public-fetch.ts";
import { checkImage, type ImageMime } from "../storage/image-check.ts";
import { putBytes, uploadKey } from "../storage/r2.ts";

export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
export const MAX_PHOTOS = 300;
/** What a zip may unpack to in all (a Worker has 128 MB; photos barely compress, so this is generous). */
export const MAX_ZIP_UNPACKED_BYTES = 64 * 1024 * 1024;
const FETCH_CONCURRENCY = 6;

export interface Photo {
  /** The file name rows use, or the URL. */
  name: string;
  /** Where it came from, for messages: `photos[2]`, `photos[0] in looks.zip`, or the URL. */
  where: string;
  source: "file" | "zip" | "url";
  bytes: Uint8Array;
  mime: ImageMime;
  stripped: string[];
  /** Of the bytes as received (before metadata is stripped): the photo's identity. */
  sha256: string;
  assetId: string;
}

/** One reference of a row as resolved, for the quote and the preview. */
export interface ResolvedReference {
  ref: string;
  source: "file" | "zip" | "url" | "upload";
  assetId: string;
  sha256: string | null;
}

/** Why a file name cannot be used (it is matched exactly and must be a plain name), or null. */
export function fileNameProblem(name: string): string | null {
  if (!name) return "has no file name";
  if (name.length > 200) return "has a file name longer than 200 characters";
  if ([...name].some(isControl)) return "has control characters in its file name";
  if (/[/\\]/.test(name) || name === "." || name === "..") return `"${printable(name)}" is a path, not a file name`;
  return null;
}

const isControl = (ch: string) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f;
/** A name as it can be shown in a message: control characters as `?`, long names cut. */
const printable = (s: string) =>
  [...s]
    .map((ch) => (isControl(ch) ? "?" : ch))
    .join("")
    .slice(0, 120);
const JUNK = /(^|\/)(__MACOSX\/|\.DS_Store$|Thumbs\.db$|desktop\.ini$|\._)/i;

/** Content-derived asset id: the same photo in the same account is always the same asset. */
export async function photoAssetId(accountId: string, sha256: string): Promise<string> {
  return `as_${(await sha256Hex(`${accountId}\nphoto\n${sha256}`)).slice(0, 20)}`;
}

/**
 * The photos sent with a batch (multipart fields `photos`, each an image or a zip), checked.
 * Errors name the part (`photos[i]`) and the file.
 */
export async function collectPhotos(accountId: string, parts: (File | string)[]): Promise<{ photos: Map<string, Photo>; errors: FieldError[] }> {
  const photos = new Map<string, Photo>();
  const errors: FieldError[] = [];
  const add = async (name: string, field: string, raw: Uint8Array, zip?: string) => {
    const label = zip ? `"${printable(name)}" in ${zip}` : `"${printable(name)}"`;
    const nameProblem = fileNameProblem(name);
    if (nameProblem) return errors.push({ field, message: `${label} ${nameProblem}` });
    if (photos.has(name)) return errors.push({ field, message: `${label}: another photo has the same name (${photos.get(name)!.where})` });
    if (raw.byteLength === 0) return errors.push({ field, message: `${label} is empty` });
    if (raw.byteLength > MAX_PHOTO_BYTES) return errors.push({ field, message: `${label} is larger than ${MAX_PHOTO_BYTES / 1024 / 1024} MB` });
    const check = checkImage(raw);
    if (!check.ok) return errors.push({ field, message: `${label} ${check.reason}` });
    const sha256 = await sha256Hex(raw);
    photos.set(name, {
      name,
      where: zip ? `${field} in ${zip}` : field,
      source: zip ? "zip" : "file",
      bytes: check.bytes,
      mime: check.mime,
      stripped: check.stripped,
      sha256,
      assetId: await photoAssetId(accountId, sha256),
    });
  };
  for (const [i, part] of parts.entries()) {
    const field = `photos[${i}]`;
    if (typeof part === "string") {
      errors.push({ field, message: "must be a file, not text" });
      continue;
    }
    if (/\.zip$/i.test(part.name) || part.type === "application/zip") {
      const entries = unzip(new Uint8Array(await part.arrayBuffer()));
      if ("error" in entries) {
        errors.push({ field, message: `"${printable(part.name)}" ${entries.error}` });
        continue;
      }
      for (const e of entries.files) {
        if (e.unsafe) errors.push({ field, message: `"${printable(e.path)}" in ${printable(part.name)} ${e.unsafe}` });
        else await add(e.name, field, e.bytes, printable(part.name));
      }
      continue;
    }
    if (part.size > MAX_PHOTO_BYTES) {
      errors.push({ field, message: `"${printable(part.name)}" is larger than ${MAX_PHOTO_BYTES / 1024 / 1024} MB` });
      continue;
    }
    await add(part.name, field, new Uint8Array(await part.arrayBuffer()));
  }
  if (photos.size > MAX_PHOTOS) errors.push({ field: "photos", message: `at most ${MAX_PHOTOS} photos per batch` });
  return { photos, errors };
}

/**
 * A zip's files by base name. Sizes are checked from the directory before anything is inflated
 * (a zip bomb is refused unread); entries whose path climbs out (`..`, absolute, drive letters,
 * backslashes) are refused; folders and the junk desktop systems add (`__MACOSX/`, `.DS_Store`) skipped.
 */
function unzip(data: Uint8Array): { files: { path: string; name: string; bytes: Uint8Array; unsafe?: string }[] } | { error: string } {
  const unsafe: { path: string; name: string; bytes: Uint8Array; unsafe: string }[] = [];
  let total = 0;
  let tooBig: string | null = null;
  try {
    const out = unzipSync(data, {
      filter: (f) => {
        if (f.name.endsWith("/") || JUNK.test(f.name)) return false;
        const segments = f.name.split("/");
        if (f.name.startsWith("/") || f.name.includes("\\") || /^[A-Za-z]:/.test(f.name) || segments.some((s) => s === ".." || s === ".")) {
          unsafe.push({ path: f.name, name: f.name, bytes: new Uint8Array(), unsafe: "is a path that leaves the zip's folder" });
          return false;
        }
        total += f.originalSize;
        if (f.originalSize > MAX_PHOTO_BYTES) tooBig ??= `"${printable(f.name)}" is larger than ${MAX_PHOTO_BYTES / 1024 / 1024} MB`;
        return !tooBig && total <= MAX_ZIP_UNPACKED_BYTES;
      },
    });
    if (tooBig) return { error: `holds ${tooBig}` };
    if (total > MAX_ZIP_UNPACKED_BYTES) return { error: `unpacks to more than ${MAX_ZIP_UNPACKED_BYTES / 1024 / 1024} MB` };
    const files = Object.entries(out).map(([path, bytes]) => ({ path, name: path.split("/").pop()!, bytes }));
    return { files: [...unsafe, ...files] };
  } catch (err) {
    return { error: `is not a readable zip (${err instanceof Error ? err.message : String(err)})` };
  }
}

const isUrl = (ref: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(ref);
const isAssetId = (ref: string) => /^as_[0-9a-f]{20}$/.test(ref);

/**
 * Turns each row's references (photo names, URLs, upload ids) into asset ids. URLs are checked
 * before any connection and fetched once each; errors name `<prefix>[i].references[j]`.
 * Returns the rows with ids in place, what each reference resolved to, and the photos to store.
 */
export async function resolveReferences(
  env: Pick<Env, "REFERENCE_FETCH_ALLOW_LOOPBACK" | "REFERENCE_FETCH_TIMEOUT">,
  d: Db,
  accountId: string,
  rows: unknown[],
  photos: Map<string, Photo>,
  prefix: string,
): Promise<{ rows: unknown[]; references: ResolvedReference[][]; used: Photo[]; unused: string[]; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  const refsOf = (r: unknown): unknown[] => (Array.isArray((r as { references?: unknown })?.references) ? (r as { references: unknown[] }).references : []);
  const allowLoopback = env.REFERENCE_FETCH_ALLOW_LOOPBACK === "true";

  // URLs: refused ones are never requested; the rest are fetched once each, a few at a time.
  const urls = new Map<string, Photo | { problem: string }>();
  for (const r of rows)
    for (const ref of refsOf(r))
      if (typeof ref === "string" && isUrl(ref) && !photos.has(ref)) urls.set(ref, { problem: publicUrlProblem(ref, allowLoopback) ?? "" });
  const toFetch = [...urls].filter(([, v]) => "problem" in v && !v.problem).map(([u]) => u);
  const timeoutMs = durationMs(env.REFERENCE_FETCH_TIMEOUT || "10 seconds");
  for (let i = 0; i < toFetch.length; i += FETCH_CONCURRENCY) {
    await Promise.all(
      toFetch.slice(i, i + FETCH_CONCURRENCY).map(async (url) => {
        const got = await fetchPublic(url, { allowLoopback, timeoutMs, maxBytes: MAX_PHOTO_BYTES });
        if (!got.ok) return urls.set(url, { problem: got.reason });
        const check = checkImage(got.bytes);
        if (!check.ok) return urls.set(url, { problem: check.reason });
        const sha256 = await sha256Hex(got.bytes);
        urls.set(url, {
          name: url,
          where: url,
          source: "url",
          bytes: check.bytes,
          mime: check.mime,
          stripped: check.stripped,
          sha256,
          assetId: await photoAssetId(accountId, sha256),
        });
      }),
    );
  }

  const uploadIds = [...new Set(rows.flatMap(refsOf).filter((ref): ref is string => typeof ref === "string" && isAssetId(ref) && !photos.has(ref)))];
  const uploads = new Map<string, string>();
  for (let i = 0; i < uploadIds.length; i += 90) {
    for (const a of await assetsByIds(d, accountId, uploadIds.slice(i, i + 90))) if (a.kind === "reference") uploads.set(a.id, a.sha256);
  }

  const used = new Map<string, Photo>();
  const references: ResolvedReference[][] = [];
  const out = rows.map((r, i) => {
    const resolved: ResolvedReference[] = [];
    references.push(resolved);
    if (!Array.isArray((r as { references?: unknown })?.references)) return r;
    const ids = refsOf(r).map((ref, j) => {
      if (typeof ref !== "string") return ref; // the row schema names it
      const field = `${prefix}[${i}].references[${j}]`;
      const photo = photos.get(ref) ?? urls.get(ref);
      if (photo && "problem" in photo) {
        errors.push({ field, message: `${printable(ref)} ${photo.problem}` });
        return ref;
      }
      if (photo) {
        used.set(photo.assetId, photo);
        resolved.push({ ref, source: photo.source, assetId: photo.assetId, sha256: photo.sha256 });
        return photo.assetId;
      }
      if (uploads.has(ref)) {
        resolved.push({ ref, source: "upload", assetId: ref, sha256: uploads.get(ref) ?? null });
        return ref;
      }
      if (isAssetId(ref)) errors.push({ field, message: `${ref} is not an upload of this account` });
      else errors.push({ field, message: missingPhoto(ref, photos) });
      return ref;
    });
    return { ...(r as object), references: ids };
  });
  const usedNames = new Set([...used.values()].map((p) => p.name));
  return { rows: out, references, used: [...used.values()], unused: [...photos.keys()].filter((n) => !usedNames.has(n)), errors };
}

function missingPhoto(ref: string, photos: Map<string, Photo>): string {
  const problem = fileNameProblem(ref);
  if (problem) return `the reference ${problem}`;
  if (photos.size === 0) return `names the photo "${printable(ref)}", but no photos were sent (attach them as \`photos\`, or use upload ids or https URLs)`;
  const near = [...photos.keys()].find((n) => n.toLowerCase() === ref.toLowerCase());
  return `no photo named "${printable(ref)}" was sent${near ? ` (did you mean "${near}"?)` : ""}`;
}

/** Stores each photo once (an asset that exists already, by its content id, is left as it is). */
export async function storePhotos(bucket: R2Bucket, d: Db, accountId: string, photos: Photo[]): Promise<void> {
  const existing = new Set<string>();
  for (let i = 0; i < photos.length; i += 90) {
    for (const a of await assetsByIds(
      d,
      accountId,
      photos.slice(i, i + 90).map((p) => p.assetId),
    ))
      existing.add(a.id);
  }
  for (const p of photos.filter((p) => !existing.has(p.assetId))) {
    const stored = await putBytes(bucket, uploadKey(accountId, p.assetId, p.mime), p.bytes);
    await recordAsset(d, {
      id: p.assetId,
      accountId,
      shootId: null,
      kind: "reference",
      stored,
      provenance: { filename: p.name.slice(0, 500), source: p.source, sourceSha256: p.sha256, strippedMetadata: p.stripped },
    });
  }
}
