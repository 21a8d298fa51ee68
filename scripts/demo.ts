/**
 * `npm run demo`: one shoot through the HTTP API, as a client would drive it. It revises the hero
 * once with feedback, approves the contact sheet, revises frame 3 and approves, switches the easing
 * to `cinematic` at the clips checkpoint and approves, and approves the reel. The last line printed
 * is the URL of the final reel.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { Decision, Shoot, ShootCreated, UploadList } from "../src/api/types.ts";
import { isFinalStatus } from "../src/domain/contract.ts";

const FIXTURE_REFS = path.resolve(import.meta.dirname, "../../shared/fixtures/seed-shoot/references");

export interface DemoOptions {
  url: string;
  apiKey: string;
  log?: (line: string) => void;
  /** Overall limit for the shoot to finish. */
  timeoutMs?: number;
  /** The tests pass one that checks each response against the OpenAPI document. */
  fetch?: typeof fetch;
}

export interface DemoResult {
  shootId: string;
  reelUrl: string;
  shoot: Shoot;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const log = o.log ?? console.log;
  const fetch = o.fetch ?? globalThis.fetch;
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${o.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${o.apiKey}`, ...(body && !(body instanceof FormData) ? { "content-type": "application/json" } : {}) },
      body: body instanceof FormData ? body : body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p} -> ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  const deadline = Date.now() + (o.timeoutMs ?? 20 * 60_000);

  const form = new FormData();
  for (const ref of await references()) form.append("files", new Blob([ref.bytes], { type: ref.mime }), ref.name);
  const { uploads } = await api<UploadList>("POST", "/api/uploads", form);
  log(`Uploaded ${uploads.length} references: ${uploads.map((u) => `${u.width}×${u.height}`).join(", ")}`);

  const created = await api<ShootCreated>("POST", "/api/shoots", {
    brief: "streetwear editorial, confident energy",
    references: uploads.map((u) => u.id),
  });
  const id = created.id;
  log(`Shoot ${id} started`);

  const waitFor = async (stage: string, attempt: number): Promise<Shoot> => {
    for (;;) {
      const shoot = await api<Shoot>("GET", `/api/shoots/${id}`);
      if (isFinalStatus(shoot.status)) throw new Error(`shoot ended ${shoot.status}: ${shoot.error ?? ""}`);
      if (shoot.checkpoint?.stage === stage && shoot.checkpoint.attempt === attempt) return shoot;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for the ${stage} checkpoint (attempt ${attempt}); shoot is ${shoot.status} at ${shoot.stage}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const decide = (stage: string, body: Decision) => api("POST", `/api/shoots/${id}/checkpoints/${stage}/decision`, body);
  const latest = (s: Shoot, kind: string, index = 0) => {
    const found = s.assets.filter((a) => a.kind === kind && a.index === index).sort((a, b) => b.version - a.version)[0];
    if (!found) throw new Error(`the shoot has no ${kind} ${index || ""}`);
    return found;
  };

  let s = await waitFor("hero", 1);
  log(`Hero v1 ready (${latest(s, "hero").width}×${latest(s, "hero").height}); revising: warmer light, more contrast`);
  await decide("hero", { action: "revise", feedback: "warmer light, more contrast, keep the jacket exactly as shown" });
  s = await waitFor("hero", 2);
  log("Hero v2 ready; approving");
  await decide("hero", { action: "approve" });

  s = await waitFor("contact-sheet", 1);
  log(`Contact sheet ready (${latest(s, "contact-sheet").width}×${latest(s, "contact-sheet").height}); approving`);
  await decide("contact-sheet", { action: "approve" });

  s = await waitFor("frames", 1);
  const confidence = s.checkpoint?.artifacts.confidence;
  log(`Six frames cut (grid confidence ${confidence?.toFixed(2) ?? "n/a"}); revising frame 3: crisper collar`);
  await decide("frames", { action: "revise", frames: [3], feedback: "make the collar crisper and the light harder" });
  s = await waitFor("frames", 2);
  log("Frame 3 v2 ready; approving the frames");
  await decide("frames", { action: "approve" });

  s = await waitFor("clips", 1);
  log(`Five clips ready; switching the easing to cinematic and approving`);
  await decide("clips", { action: "approve", stitch: { easing: "cinematic" } });

  s = await waitFor("reel", 1);
  const reel = latest(s, "reel");
  log(`Reel ready (${reel.width}×${reel.height}, ${reel.duration?.toFixed(2)} s, ${(reel.bytes / 1e6).toFixed(1)} MB); approving`);
  await decide("reel", { action: "approve" });

  for (;;) {
    s = await api<Shoot>("GET", `/api/shoots/${id}`);
    if (s.status === "completed") break;
    if (s.status !== "running" && s.status !== "awaiting_review") throw new Error(`shoot ended ${s.status}: ${s.error ?? ""}`);
    if (Date.now() > deadline) throw new Error("timed out waiting for the shoot to complete");
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`Shoot ${id} completed. Versions: hero ${versions(s, "hero")}, frame 3 ${versions(s, "frame", 3)}, reel ${versions(s, "reel")}`);
  return { shootId: id, reelUrl: latest(s, "reel").url, shoot: s };
}

const versions = (s: Shoot, kind: string, index = 0) =>
  s.assets
    .filter((a) => a.kind === kind && a.index === index)
    .map((a) => `v${a.version}`)
    .join(", ");

/** The fixture photos when this checkout has them, else three generated stand-ins. */
async function references(): Promise<{ name: string; mime: string; bytes: Uint8Array }[]> {
  if (existsSync(FIXTURE_REFS)) {
    const files = readdirSync(FIXTURE_REFS)
      .filter((f) => /\.(jpe?g|png)$/i.test(f) && f !== "hero.png")
      .slice(0, 3);
    if (files.length) {
      return files.map((f) => ({
        name: f,
        mime: /\.png$/i.test(f) ? "image/png" : "image/jpeg",
        bytes: new Uint8Array(readFileSync(path.join(FIXTURE_REFS, f))),
      }));
    }
  }
  const colours = [
    [40, 60, 120],
    [200, 180, 150],
    [30, 30, 30],
  ] as const;
  return Promise.all(
    colours.map(async (c, i) => ({
      name: `reference-${i + 1}.png`,
      mime: "image/png",
      bytes: new Uint8Array(
        await sharp({ create: { width: 600, height: 800, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } })
          .composite([
            {
              input: Buffer.from(
                `<svg width="600" height="800"><circle cx="300" cy="300" r="${120 + i * 30}" fill="rgb(${255 - c[0]},${255 - c[1]},${255 - c[2]})"/></svg>`,
              ),
            },
          ])
          .png()
          .toBuffer(),
      ),
    })),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const identityFile = path.resolve(import.meta.dirname, "../.atelier/dev/dev-identity.json");
  const apiKey = process.env.ATELIER_API_KEY ?? (existsSync(identityFile) ? JSON.parse(readFileSync(identityFile, "utf8")).apiKey : null);
  if (!apiKey) {
    console.error("No API key: run `npm start` first (it creates one), or set ATELIER_API_KEY.");
    process.exit(1);
  }
  runDemo({ url: process.env.ATELIER_URL ?? "http://127.0.0.1:8787", apiKey })
    .then((r) => console.log(r.reelUrl))
    .catch((err) => {
      console.error(`Demo failed: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    });
}
