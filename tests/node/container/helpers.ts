/**
 * Test plumbing: a tiny blob server standing in for the Worker's signed URLs (GET inputs, PUT
 * outputs, with every request counted), an in-process media service, and raw-video helpers.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { startMediaService, type MediaService } from "../../../container/server.ts";

export interface Put {
  path: string;
  contentType: string | undefined;
  body: Buffer;
}

export interface BlobServer {
  url: string;
  /** Serve `body` at GET /in/<key>. */
  set(key: string, body: Buffer): void;
  inUrl(key: string, query?: string): string;
  outUrl(key: string, query?: string): string;
  gets: Map<string, number>;
  puts: Put[];
  putsTo(key: string): Put[];
  /** Make PUTs answer with this status (e.g. 500) until reset with undefined. */
  failPuts(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startBlobServer(): Promise<BlobServer> {
  const blobs = new Map<string, Buffer>();
  const gets = new Map<string, number>();
  const puts: Put[] = [];
  let putStatus: number | undefined;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (req.method === "GET" && url.pathname.startsWith("/in/")) {
      const key = url.pathname.slice(4);
      gets.set(key, (gets.get(key) ?? 0) + 1);
      const body = blobs.get(key);
      if (!body) {
        res.writeHead(404).end("not found");
        return;
      }
      res.writeHead(200, { "content-length": body.length }).end(body);
      return;
    }
    if (req.method === "PUT" && url.pathname.startsWith("/out/")) {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (putStatus) {
          res.writeHead(putStatus).end();
          return;
        }
        puts.push({ path: url.pathname.slice(5), contentType: req.headers["content-type"], body: Buffer.concat(chunks) });
        res.writeHead(200).end();
      });
      return;
    }
    res.writeHead(405).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    set: (key, body) => blobs.set(key, body),
    inUrl: (key, query = "sig=a") => `${base}/in/${key}?${query}`,
    outUrl: (key, query = "sig=a") => `${base}/out/${key}?${query}`,
    gets,
    puts,
    putsTo: (key) => puts.filter((p) => p.path === key),
    failPuts: (status) => {
      putStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const created: string[] = [];
// Registered while the importing test file is collected, so each file removes its own dirs.
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `atelier-test-${prefix}-`));
  created.push(dir);
  return dir;
}

export async function startService(stateDir = tempDir("state")): Promise<MediaService & { stateDir: string }> {
  const svc = await startMediaService({ port: 0, host: "127.0.0.1", stateDir });
  return { ...svc, stateDir };
}

// biome-ignore lint/suspicious/noExplicitAny: each test reads the answer of the job kind it posted
export async function postJob(svc: { url: string }, id: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${svc.url}/jobs/${encodeURIComponent(id)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Runs a system tool (ffmpeg/ffprobe from PATH or the env override), optionally feeding stdin. */
export function run(tool: "ffmpeg" | "ffprobe", args: string[], input?: Buffer): Promise<Buffer> {
  const bin = (tool === "ffmpeg" ? process.env.FFMPEG_PATH : process.env.FFPROBE_PATH) || tool;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.stdin.on("error", () => {});
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${tool} ${code}: ${err.slice(-800)}`))));
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

// --- Barcode clips: every frame shows its own number as big black/white blocks ------------------

export const BARCODE = { cols: 4, rows: 3 } as const;
const BITS = BARCODE.cols * BARCODE.rows; // 12 bits: 10 of value, a parity bit and a constant 1

function bitsOf(value: number): number[] {
  const bits = Array.from({ length: 10 }, (_, i) => (value >> i) & 1);
  bits.push(
    bits.reduce((a, b) => a ^ b, 0),
    1,
  );
  return bits;
}

/** One yuv420p frame showing `value` (0..1023). */
export function barcodeFrame(value: number, width: number, height: number): Buffer {
  const frame = Buffer.alloc((width * height * 3) / 2, 128);
  const bits = bitsOf(value);
  const bw = width / BARCODE.cols;
  const bh = height / BARCODE.rows;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = bits[Math.floor(y / bh) * BARCODE.cols + Math.floor(x / bw)]!;
      frame[y * width + x] = bit ? 235 : 16;
    }
  }
  return frame;
}

/** Reads the value back from a grey (Y) frame; undefined when the code does not check out. */
export function readBarcode(gray: Buffer, width: number, height: number): number | undefined {
  const bw = width / BARCODE.cols;
  const bh = height / BARCODE.rows;
  const bits: number[] = [];
  for (let b = 0; b < BITS; b++) {
    const cx = (b % BARCODE.cols) * bw;
    const cy = Math.floor(b / BARCODE.cols) * bh;
    let sum = 0;
    let n = 0;
    // Sample the middle half of the block, away from compression and scaling at its borders.
    for (let y = Math.floor(cy + bh / 4); y < cy + (3 * bh) / 4; y++) {
      for (let x = Math.floor(cx + bw / 4); x < cx + (3 * bw) / 4; x++) {
        sum += gray[y * width + x]!;
        n++;
      }
    }
    bits.push(sum / n > 128 ? 1 : 0);
  }
  const value = bits.slice(0, 10).reduce((v, bit, i) => v | (bit << i), 0);
  const parity = bits.slice(0, 10).reduce((a, b) => a ^ b, 0);
  return bits[10] === parity && bits[11] === 1 ? value : undefined;
}

/** Encodes frames showing `values` as an H.264 MP4 (yuv420p) at `fps`. */
export async function makeBarcodeClip(file: string, values: number[], opts: { width: number; height: number; fps: number; gop?: number }): Promise<void> {
  const frames = Buffer.concat(values.map((v) => barcodeFrame(v, opts.width, opts.height)));
  await run(
    "ffmpeg",
    [
      "-v",
      "error",
      "-y",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "yuv420p",
      "-s",
      `${opts.width}x${opts.height}`,
      "-framerate",
      String(opts.fps),
      "-i",
      "pipe:0",
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-crf",
      "16",
      "-pix_fmt",
      "yuv420p",
      ...(opts.gop ? ["-g", String(opts.gop)] : []),
      file,
    ],
    frames,
  );
}

/** Decodes every frame of a video to grey and reads its barcode. */
export async function readBarcodes(data: Buffer | string, width: number, height: number): Promise<Array<number | undefined>> {
  const input = typeof data === "string" ? data : "pipe:0";
  const raw = await run(
    "ffmpeg",
    ["-v", "error", "-i", input, "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
    typeof data === "string" ? undefined : data,
  );
  const size = width * height;
  const out: Array<number | undefined> = [];
  for (let off = 0; off + size <= raw.length; off += size) out.push(readBarcode(raw.subarray(off, off + size), width, height));
  return out;
}

/** Top-level MP4 boxes in file order (to check that moov comes before mdat: faststart). */
export function mp4TopLevelBoxes(buf: Buffer): string[] {
  const boxes: string[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    let size = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(off + 8));
    else if (size === 0) size = buf.length - off;
    boxes.push(type);
    if (size < 8) break;
    off += size;
  }
  return boxes;
}
