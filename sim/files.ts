/**
 * Generated media, served at GET /files/<name> the way a provider CDN would: Content-Type,
 * Content-Length, ETag and single-range requests. Files live on disk so clips don't sit in memory.
 */
import crypto from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

const TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".mp4": "video/mp4",
  ".json": "application/json",
};

export function contentTypeFor(name: string): string {
  return TYPES[path.extname(name).toLowerCase()] ?? "application/octet-stream";
}

export class FileStore {
  constructor(readonly dir: string) {}

  /** Starts each run with an empty folder: the jobs that referenced old files are gone too. */
  async init(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
    await fs.mkdir(this.dir, { recursive: true });
  }

  pathFor(name: string): string {
    if (!NAME.test(name)) throw new Error(`invalid file name: ${name}`);
    return path.join(this.dir, name);
  }

  async put(name: string, data: Uint8Array): Promise<{ name: string; bytes: number }> {
    await fs.writeFile(this.pathFor(name), data);
    return { name, bytes: data.byteLength };
  }

  async size(name: string): Promise<number> {
    return (await fs.stat(this.pathFor(name))).size;
  }

  /** Builds the HTTP response for GET/HEAD /files/<name>. */
  async respond(name: string, method: string, rangeHeader: string | undefined): Promise<Response> {
    if (!NAME.test(name)) return new Response("not found", { status: 404 });
    let stat: Awaited<ReturnType<typeof fs.stat>>;
    try {
      stat = await fs.stat(this.pathFor(name));
    } catch {
      return new Response("not found", { status: 404 });
    }
    const total = stat.size;
    const etag = `"${crypto.createHash("sha1").update(`${name}:${total}:${stat.mtimeMs}`).digest("hex").slice(0, 20)}"`;
    const headers = new Headers({
      "content-type": contentTypeFor(name),
      "accept-ranges": "bytes",
      etag,
      "cache-control": "public, max-age=86400",
    });
    let start = 0;
    let end = total - 1;
    let status = 200;
    if (rangeHeader) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
      if (m && (m[1] !== "" || m[2] !== "")) {
        if (m[1] === "") {
          start = Math.max(0, total - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== "") end = Math.min(Number(m[2]), total - 1);
        }
        if (start >= total || start > end) {
          headers.set("content-range", `bytes */${total}`);
          return new Response(null, { status: 416, headers });
        }
        status = 206;
        headers.set("content-range", `bytes ${start}-${end}/${total}`);
      }
    }
    const length = total === 0 ? 0 : end - start + 1;
    headers.set("content-length", String(length));
    if (method === "HEAD" || length === 0) return new Response(null, { status, headers });
    const stream = Readable.toWeb(createReadStream(this.pathFor(name), { start, end })) as ReadableStream<Uint8Array>;
    return new Response(stream, { status, headers });
  }
}
