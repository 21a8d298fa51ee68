/**
 * Reference photos at /photos, as a producer's image host would serve them, plus the awkward cases
 * a URL fetcher must survive: redirects, slow answers, truncated and oversized files. Every request
 * is counted by path so tests can show what was (and was not) fetched (GET /__sim/photos/requests).
 */
import crypto from "node:crypto";
import { Hono } from "hono";
import sharp from "sharp";
import { Memo } from "./memo.ts";

const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.(png|jpg|webp)$/;
const TYPES = { png: "image/png", jpg: "image/jpeg", webp: "image/webp" } as const;
const MB = 1024 * 1024;

export interface PhotoHost {
  routes: Hono;
  /** Requests so far, by path (no query). */
  requests(): Record<string, number>;
  reset(): void;
}

/** 256×256 in one colour drawn from a hash of the name: the same name always gives the same bytes. */
async function photo(name: string): Promise<{ data: Buffer; type: string }> {
  const ext = name.slice(name.lastIndexOf(".") + 1) as keyof typeof TYPES;
  const [r, g, b] = crypto.createHash("sha256").update(name).digest();
  const img = sharp({ create: { width: 256, height: 256, channels: 3, background: { r, g, b } } });
  const data = await (ext === "png" ? img.png() : ext === "jpg" ? img.jpeg({ quality: 85 }) : img.webp({ quality: 85 })).toBuffer();
  return { data, type: TYPES[ext] };
}

/** Waits `ms`, or less if the client goes away. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

const bounded = (raw: string | undefined, fallback: number, max: number) => {
  const n = Number(raw ?? fallback);
  return Number.isFinite(n) ? Math.min(Math.max(0, n), max) : fallback;
};

export function photoHost(): PhotoHost {
  const counts = new Map<string, number>();
  const made = new Memo<{ data: Buffer; type: string }>(16 * MB, (p) => p.data.byteLength);
  const image = (name: string) => made.get(name, () => photo(name));
  const app = new Hono();

  app.use("*", async (c, next) => {
    const path = new URL(c.req.url).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    await next();
  });

  // 302 to `to`, after hops-1 redirects to itself (relative, so they stay on whatever host the client used).
  app.get("/redirect", (c) => {
    const to = c.req.query("to");
    if (!to) return c.json({ error: "to is required" }, 400);
    const hops = bounded(c.req.query("hops"), 1, 20);
    const location = hops > 1 ? `redirect?${new URLSearchParams({ to, hops: String(hops - 1) })}` : to;
    return c.body(null, 302, { location });
  });

  app.get("/slow/:name", async (c) => {
    const name = c.req.param("name");
    if (!IMAGE.test(name)) return c.json({ error: "not found" }, 404);
    await wait(bounded(c.req.query("ms"), 1000, 60_000), c.req.raw.signal);
    const { data, type } = await image(name);
    return c.body(new Uint8Array(data), 200, { "content-type": type });
  });

  // The first half of a real PNG: the header promises more than arrives.
  app.get("/broken.png", async (c) => {
    const { data } = await image("broken.png");
    return c.body(new Uint8Array(data.subarray(0, data.length >> 1)), 200, { "content-type": "image/png" });
  });

  // `mb` MB (at most 64) of a PNG signature and zeros, streamed; chunked=1 leaves out Content-Length.
  app.get("/big.png", (c) => {
    const total = Math.round(bounded(c.req.query("mb"), 1, 64) * MB);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent >= total) return ctrl.close();
        const chunk = new Uint8Array(Math.min(64 * 1024, total - sent));
        if (sent === 0) chunk.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].slice(0, chunk.length));
        sent += chunk.length;
        ctrl.enqueue(chunk);
      },
    });
    const headers: Record<string, string> = { "content-type": "image/png" };
    if (c.req.query("chunked") !== "1") headers["content-length"] = String(total);
    return c.body(body, 200, headers);
  });

  app.get("/:name", async (c) => {
    const name = c.req.param("name");
    if (!IMAGE.test(name)) return c.json({ error: "not found" }, 404);
    const { data, type } = await image(name);
    return c.body(new Uint8Array(data), 200, { "content-type": type });
  });

  return {
    routes: app,
    requests: () => Object.fromEntries(counts),
    reset: () => counts.clear(),
  };
}
