/** Starts a private copy of the whole stack (own ports and state) and talks to it as a client. */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, createServer } from "node:net";
import path from "node:path";
import sharp from "sharp";
import { runTool } from "../../common/ffmpeg.ts";
import { ROOT, Stack, type ProcessName } from "../../scripts/stack.ts";
import { ContractViolation, contractChecker, type OpenApiDocument } from "./contract.ts";

// E2E_PORT_OFFSET lets two checkouts run their e2e suites on one machine at the same time.
const PORT_OFFSET = Number(process.env.E2E_PORT_OFFSET ?? 0);

export async function startTestStack(
  name: string,
  portBase: number,
  vars: Record<string, string> = {},
  simEnv: Record<string, string> = {},
  opts: { rawLogs?: boolean; accountId?: string } = {},
) {
  portBase += PORT_OFFSET;
  // A stack already on these ports would answer our health checks and refuse our key.
  for (const port of [portBase, portBase + 1, portBase + 2, portBase + 3]) {
    if (!(await portFree(port))) throw new Error(`port ${port} is in use (another stack?); set E2E_PORT_OFFSET to move this one`);
  }
  const stateDir = path.join(ROOT, ".atelier", `test-${name}-${randomBytes(3).toString("hex")}`);
  const logs: string[] = [];
  const stack = new Stack({
    stateDir,
    ports: { worker: portBase, media: portBase + 1, sim: portBase + 2 },
    simulate: true,
    vars: { PROVIDER_WAIT_TIMEOUT: "30 seconds", MEDIA_JOB_TIMEOUT: "20 seconds", PROVIDER_MAX_WAITS: "40", MEDIA_MAX_WAITS: "30", ...vars },
    simEnv,
    cronEveryMs: 5_000,
    rawLogs: opts.rawLogs,
    log: (svc: ProcessName, line) => {
      logs.push(`[${svc}] ${line}`);
      if (process.env.ATELIER_TEST_VERBOSE) console.log(`[${svc}] ${line}`);
    },
  });
  if (opts.accountId) {
    // A fixed account makes idempotent shoot ids, and so job ids, the same on every run.
    mkdirSync(stateDir, { recursive: true });
    const identity = {
      accountId: opts.accountId,
      apiKey: `atl_${randomBytes(24).toString("base64url")}`,
      signingSecret: randomBytes(32).toString("base64url"),
    };
    writeFileSync(path.join(stateDir, "dev-identity.json"), JSON.stringify(identity), { mode: 0o600 });
  }
  stack.prepare();
  await stack.start();
  const cleanup = async () => {
    await stack.stop();
    if (!process.env.ATELIER_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
  };
  return { stack, logs, cleanup };
}

/** The document the stack serves. */
export async function servedDocument(stack: Stack): Promise<OpenApiDocument> {
  const res = await fetch(`${stack.url}/api/openapi.json`);
  if (res.status !== 200) throw new Error(`GET /api/openapi.json -> ${res.status}`);
  return (await res.json()) as OpenApiDocument;
}

/** fetch, with every API response checked against the served document as it arrives. */
export function contractFetch(stack: Stack): typeof fetch {
  let checked: Promise<typeof fetch> | undefined;
  return async (input, init) => {
    checked ??= servedDocument(stack).then((doc) => contractChecker(doc).wrap(fetch));
    return (await checked)(input, init);
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export function client(stack: Stack) {
  const key = () => stack.identity.apiKey;
  const checkedFetch = contractFetch(stack);
  // biome-ignore lint/suspicious/noExplicitAny: callers name the body type they expect; untyped calls read it loosely
  return async <T = any>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await checkedFetch(`${stack.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${key()}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
}

export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 240_000, everyMs = 500): Promise<T> {
  const start = Date.now();
  for (;;) {
    // A response the document does not allow is a failure, not "not yet": waiting would hide it.
    const v = await fn().catch((err: unknown) => {
      if (err instanceof ContractViolation) throw err;
      return null;
    });
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface VideoFacts {
  codec: string;
  pixFmt: string;
  fps: number;
  frames: number;
  width: number;
  height: number;
  moovFirst: boolean;
}

/** What a player would see: codec, pixel format, frame rate, counted frames, and faststart. */
export async function videoFacts(bytes: Uint8Array, file: string): Promise<VideoFacts> {
  writeFileSync(file, bytes);
  const { stdout } = await runTool("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-count_frames",
    "-show_entries",
    "stream=codec_name,pix_fmt,r_frame_rate,nb_read_frames,width,height",
    "-of",
    "json",
    file,
  ]);
  const s = JSON.parse(stdout.toString()).streams[0];
  const [n, d] = String(s.r_frame_rate).split("/").map(Number);
  return {
    codec: s.codec_name,
    pixFmt: s.pix_fmt,
    fps: n / d,
    frames: Number(s.nb_read_frames),
    width: s.width,
    height: s.height,
    moovFirst: moovBeforeMdat(bytes),
  };
}

function moovBeforeMdat(b: Uint8Array): boolean {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 8 <= b.length; ) {
    const size = dv.getUint32(i);
    const type = String.fromCharCode(...b.subarray(i + 4, i + 8));
    if (type === "moov") return true;
    if (type === "mdat") return false;
    if (size < 8) return false;
    i += size;
  }
  return false;
}

/** Debian's Chromium, which the browser tests drive (they skip, saying so, without it). */
export const CHROMIUM = "/usr/bin/chromium";
// SPEC section 8: without the background-networking flags Chromium keeps dialling out.
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const haveChromium = existsSync(CHROMIUM);

export const SEED_REFERENCES = path.resolve(import.meta.dirname, "../../../shared/fixtures/seed-shoot/references");
const SEED_NAMES = ["model.jpeg", "jacket.jpg", "watch.jpg"];
/** Whether the seed shoot's reference photos (../shared/fixtures) are beside this checkout. */
export const HAVE_SEED_REFERENCES = SEED_NAMES.every((n) => existsSync(path.join(SEED_REFERENCES, n)));

/**
 * The model, the garment and the accessory, in the simulator's order (its drift and judge read
 * inputs that way): the fixture photos, or three drawn ones when the fixtures are absent.
 */
export async function seedReferences(): Promise<{ name: string; bytes: Uint8Array; role: "model" | "garment" | "accessory" }[]> {
  const roles = ["model", "garment", "accessory"] as const;
  if (HAVE_SEED_REFERENCES) {
    return SEED_NAMES.map((n, i) => ({ name: n, bytes: new Uint8Array(readFileSync(path.join(SEED_REFERENCES, n))), role: roles[i]! }));
  }
  // A skin-toned face, a brown jacket, a dark watch: plain product-style photos.
  const colours = [
    { r: 214, g: 170, b: 140 },
    { r: 120, g: 72, b: 40 },
    { r: 40, g: 40, b: 48 },
  ];
  return Promise.all(
    colours.map(async (c, i) => {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="800"><rect width="600" height="800" fill="#f4f4f2"/><ellipse cx="300" cy="400" rx="${150 + i * 20}" ry="${220 - i * 30}" fill="rgb(${c.r},${c.g},${c.b})"/><rect x="250" y="330" width="100" height="60" fill="rgb(${255 - c.r},${c.g},${c.b})"/></svg>`;
      return { name: `ref-${i + 1}.png`, bytes: new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer()), role: roles[i]! };
    }),
  );
}

/** Axe on a page: its serious and critical violations as lines naming the view (and a few nodes), and how many rules passed. */
export async function seriousAxe(page: import("playwright-core").Page, view: string): Promise<{ findings: string[]; passes: number }> {
  const { default: AxeBuilder } = await import("@axe-core/playwright");
  const r = await new AxeBuilder({ page }).analyze();
  const findings = r.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${view}: ${v.id} (${v.impact}) ${v.nodes
          .map((n) => n.target.join(" "))
          .slice(0, 3)
          .join(", ")}`,
    );
  return { findings, passes: r.passes.length };
}

export interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A local webhook receiver: records every delivery and answers with `answer(n)` (a status, or never). */
export function receiver(answer: (n: number) => number | "hang") {
  const got: Received[] = [];
  const server: Server = createHttpServer((req: IncomingMessage, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      got.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body });
      const a = answer(got.length);
      if (a === "hang") return; // never answers
      res.writeHead(a).end();
    });
  });
  return {
    got,
    listen: () => new Promise<string>((r) => server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`))),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
