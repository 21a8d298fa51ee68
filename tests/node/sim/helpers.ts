/** Shared test scaffolding: a sim on a free port, a stand-in "Worker" receiver, media probes. */
import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { startSim, type SimHandle, type StartSimOptions } from "../../../sim/server.ts";
import { ffmpegPath, ffprobePath, run } from "../../../sim/synth.ts";

export async function tempDir(prefix = "atelier-sim-test-"): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * A sim on a free port with its own state folder. The folder is removed on close() when the
 * helper created it, unless keepState is set (to restart a second sim on the same state).
 */
export async function startTestSim(opts: StartSimOptions & { keepState?: boolean } = {}): Promise<SimHandle & { stateDir: string }> {
  const { keepState, ...simOpts } = opts;
  const ownDir = simOpts.stateDir === undefined;
  const stateDir = simOpts.stateDir ?? (await tempDir());
  const sim = await startSim({ port: 0, quiet: true, ...simOpts, stateDir, config: { imageDelayMs: 50, ...simOpts.config } });
  const close = async () => {
    await sim.close();
    if (ownDir && !keepState) await fs.rm(stateDir, { recursive: true, force: true });
  };
  return { ...sim, close, stateDir };
}

export interface Hit {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
  status: number;
}

/**
 * Plays the Worker: serves reference images at /img/<name> and records every POST (webhooks,
 * callbacks). `respond` decides the status code per hit (e.g. 503 a few times, then 200).
 */
export async function startReceiver() {
  const images = new Map<string, { data: Buffer; type: string }>();
  const hits: Hit[] = [];
  let respond: (hit: Omit<Hit, "status">, index: number) => number = () => 200;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      if (req.method === "GET" && url.pathname.startsWith("/img/")) {
        const img = images.get(url.pathname.slice(5));
        if (!img) {
          res.writeHead(404).end("not found");
          return;
        }
        res.writeHead(200, { "content-type": img.type, "content-length": img.data.length }).end(img.data);
        return;
      }
      const partial = {
        method: req.method ?? "",
        path: url.pathname + url.search,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      const status = respond(partial, hits.length);
      hits.push({ ...partial, status });
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ ok: status < 300 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    images,
    setResponder(fn: typeof respond) {
      respond = fn;
    },
    addImage(name: string, data: Buffer, type = "image/png") {
      images.set(name, { data, type });
      return `${url}/img/${name}`;
    },
    async waitFor(pred: (hits: Hit[]) => boolean, timeoutMs = 20_000): Promise<Hit[]> {
      const end = Date.now() + timeoutMs;
      while (!pred(hits)) {
        if (Date.now() > end) throw new Error(`receiver: condition not met in ${timeoutMs} ms; got ${hits.length} hits`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return hits;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A synthetic "photo": a diagonal gradient between two colours with a few shapes on it. */
export async function testImage(width: number, height: number, from: string, to: string, shape = "#ffffff"): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <ellipse cx="${width * 0.5}" cy="${height * 0.3}" rx="${width * 0.12}" ry="${height * 0.1}" fill="${shape}" fill-opacity="0.8"/>
    <rect x="${width * 0.35}" y="${height * 0.42}" width="${width * 0.3}" height="${height * 0.5}" rx="12" fill="${shape}" fill-opacity="0.55"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export async function meanColour(input: Buffer | string): Promise<[number, number, number]> {
  const { channels } = await sharp(input).removeAlpha().stats();
  return [channels[0].mean, channels[1].mean, channels[2].mean];
}

export const colourDistance = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

export async function ffprobe(file: string) {
  const { stdout } = await run(ffprobePath(), [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_name,pix_fmt,width,height,nb_frames,r_frame_rate:format=duration",
    "-of",
    "json",
    file,
  ]);
  const j = JSON.parse(stdout) as {
    streams: { codec_name: string; pix_fmt: string; width: number; height: number; nb_frames?: string; r_frame_rate: string }[];
    format: { duration: string };
  };
  return { ...j.streams[0], frames: Number(j.streams[0].nb_frames), duration: Number(j.format.duration) };
}

/** Frame `index` of a video as a PNG file. */
export async function extractFrame(video: string, index: number, out: string): Promise<string> {
  await run(ffmpegPath(), ["-v", "error", "-y", "-i", video, "-vf", `select=eq(n\\,${index})`, "-frames:v", "1", out]);
  return out;
}

export async function download(url: string, file: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  await fs.writeFile(file, Buffer.from(await res.clone().arrayBuffer()));
  return res;
}

/** Verifies a FAL webhook exactly as the Worker must: WebCrypto Ed25519 against the JWKS. */
export async function verifyFalWebhook(hit: Pick<Hit, "headers" | "body">, jwksUrl: string, toleranceSeconds = 300): Promise<boolean> {
  const h = (n: string) => String(hit.headers[n] ?? "");
  const requestId = h("x-fal-webhook-request-id");
  const userId = h("x-fal-webhook-user-id");
  const timestamp = h("x-fal-webhook-timestamp");
  const signatureHex = h("x-fal-webhook-signature");
  if (!requestId || !userId || !timestamp || !signatureHex) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const enc = new TextEncoder();
  const digest = Buffer.from(await crypto.subtle.digest("SHA-256", enc.encode(hit.body))).toString("hex");
  const message = enc.encode(`${requestId}\n${userId}\n${timestamp}\n${digest}`);
  const signature = Uint8Array.from(Buffer.from(signatureHex, "hex"));
  const { keys } = (await (await fetch(jwksUrl)).json()) as { keys: { kty: string; crv: string; x: string }[] };
  for (const jwk of keys) {
    const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
    if (await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message)) return true;
  }
  return false;
}
