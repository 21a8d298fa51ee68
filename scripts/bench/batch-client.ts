/**
 * What bench:batch and bench:scale both do against a running local stack: call the API with the
 * stack's key (waiting out the per-key rate limit), upload two plain reference photos, and submit
 * one auto-approved batch of light shoots.
 */
import sharp from "sharp";
import type { Stack } from "../stack.ts";

export type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

export function apiClient(stack: Stack): Api {
  const key = stack.identity.apiKey;
  return async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    for (;;) {
      const res = await fetch(`${stack.url}${p}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      // The API's per-key rate limit (100 per 10 s) answers a bench's reads of many shoots with 429: wait as told.
      if (res.status === 429) {
        await new Promise((r) => setTimeout(r, 1000 * (Number(res.headers.get("retry-after")) || 10)));
        continue;
      }
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    }
  };
}

/** Two flat-coloured 480×640 PNGs, uploaded as the shoots' references; their upload ids. */
export async function uploadPlainReferences(stack: Stack): Promise<string[]> {
  const form = new FormData();
  for (const [r, g, b] of [
    [30, 40, 90],
    [190, 170, 140],
  ]) {
    const png = await sharp({ create: { width: 480, height: 640, channels: 3, background: { r, g, b } } })
      .png()
      .toBuffer();
    form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
  }
  const up = await fetch(`${stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${stack.identity.apiKey}` }, body: form });
  return ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
}

/**
 * `shoots` auto-approved shoots (no stage reviewed) with a light reel (24 fps, 1 s a clip), so the
 * media service does not dominate. One brief for all: the simulator makes each distinct output once
 * (sim/memo.ts), so its synthesis, which real providers do on their own machines, does not eat the
 * cores the stack is measured on. Every job is still submitted, held for its latency, downloaded
 * and stored.
 */
export function submitLookBatch(api: Api, shoots: number, references: string[], stitch = { fps: 24, clipSeconds: 1 }) {
  return api<{ id: string; shoots: { id: string }[] }>("POST", "/api/batches", {
    review: [],
    shoots: Array.from({ length: shoots }, (_, i) => ({
      idempotencyKey: `look-${i + 1}`,
      brief: "tailored wool coat, grey morning",
      references,
      stitch,
    })),
  });
}
