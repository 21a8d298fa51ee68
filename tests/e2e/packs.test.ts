/**
 * Channel packs end to end (issue 20): a shoot that chose every default channel runs unreviewed to
 * its approved reel; its deliver stage makes the pack in the real media service. Every file has its
 * channel's exact pixel size and codec (ffprobe), the channel zip and the archive have a folder per
 * channel; in Chromium the pack view plays the formats side by side with size and upscale, a
 * producer asks for a second pack of two channels and downloads one. Screenshots to
 * test-artifacts/ui/pack-*.png, axe on each view.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { unzipSync } from "fflate";
import { chromium, type Browser, type Page } from "playwright-core";
import sharp from "sharp";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CHANNELS } from "../../src/domain/channels.ts";
import { ROOT } from "../../scripts/stack.ts";
import { CHROMIUM, CHROMIUM_ARGS, client, haveChromium, receiver, seriousAxe, startTestStack, until, videoFacts } from "./helpers.ts";

const SHOTS = path.join(ROOT, "test-artifacts/ui");
if (!haveChromium) console.warn(`skipping the browser part of the pack test: ${CHROMIUM} is missing (apt-get install -y chromium)`);

interface PackJson {
  id: string;
  version: number;
  status: "running" | "ready" | "failed";
  error: string | null;
  channels: {
    name: string;
    media: string;
    width: number;
    height: number;
    format: string;
    warning: string | null;
    upscale: number | null;
    download: string;
    files: { name: string; source: string; url: string; mime: string; width: number; height: number; upscale: number | null }[];
  }[];
}

/** A studio-like reference: a figure on a soft backdrop (the simulator only needs real pixels). */
async function reference(hue: number): Promise<Uint8Array> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="768" height="1024"><rect width="768" height="1024" fill="hsl(${hue},20%,86%)"/><ellipse cx="384" cy="250" rx="90" ry="110" fill="hsl(25,45%,60%)"/><rect x="250" y="360" width="268" height="560" rx="40" fill="hsl(${(hue + 180) % 360},55%,35%)"/></svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}

describe("channel packs", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  let api: ReturnType<typeof client>;
  let shootId = "";
  let work = "";
  let browser: Browser | undefined;
  const hook = receiver(() => 200);
  let page: Page;
  const key = () => env.stack.identity.apiKey;
  const get = async (url: string) => {
    const res = await fetch(url.startsWith("http") ? url : `${env.stack.url}${url}`, { headers: { authorization: `Bearer ${key()}` } });
    expect(res.status, url).toBe(200);
    return new Uint8Array(await res.arrayBuffer());
  };
  const readyPack = (version: number) =>
    until(
      `pack ${version} ready`,
      async () => {
        const { status, body } = await api<PackJson>("GET", `/api/shoots/${shootId}/pack`);
        if (status !== 200 || body.version !== version) return null;
        if (body.status === "failed") throw new Error(`the pack failed: ${body.error}`);
        return body.status === "ready" && body;
      },
      600_000,
      1_000,
    );

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "atelier-pack-"));
    env = await startTestStack("packs", 19700, { WEBHOOK_ALLOW_LOCAL: "true" }, { SIM_CLIP_SECONDS: "1", SIM_QUIET: "1" });
    api = client(env.stack);
    if (haveChromium) {
      mkdirSync(SHOTS, { recursive: true });
      const { build } = await import("vite");
      await build({ configFile: path.join(ROOT, "web/vite.config.ts"), logLevel: "warn" });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
      page = await ctx.newPage();
    }
  });
  afterAll(async () => {
    hook.close();
    await browser?.close();
    await env?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it("a shoot that chose every default channel delivers a pack when its reel is approved, and says so by webhook", async () => {
    const endpoint = await api<{ id: string; secret: string }>("POST", "/api/webhook-endpoints", { url: await hook.listen(), events: ["pack.ready"] });
    expect(endpoint.status).toBe(201);
    const form = new FormData();
    for (const [i, hue] of [200, 30].entries()) form.append("files", new Blob([(await reference(hue)).slice()]), `ref-${i}.png`);
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${key()}` }, body: form });
    expect(up.status).toBe(201);
    const refs = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
    const created = await api<{ id: string }>("POST", "/api/shoots", {
      brief: "linen suit, summer terrace, relaxed",
      references: refs,
      review: [],
      channels: DEFAULT_CHANNELS.map((c) => c.name),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    shootId = created.body.id;
    await until("the shoot completed", async () => (await api<{ status: string }>("GET", `/api/shoots/${shootId}`)).body.status === "completed", 600_000);
    const pack = await readyPack(1);
    expect(pack.channels.map((c) => c.name)).toEqual(DEFAULT_CHANNELS.map((c) => c.name));
    // Signed like every delivery; sent once.
    const delivery = await until("the pack.ready webhook", async () => hook.got[0]);
    const event = new Webhook(endpoint.body.secret).verify(delivery.body, delivery.headers) as { type: string; data: { pack: string; files: number } };
    expect(event).toMatchObject({ type: "pack.ready", data: { pack: pack.id, files: 4 + 3 * 7 } });
    await new Promise((r) => setTimeout(r, 2000));
    expect(hook.got).toHaveLength(1);
  });

  it("every file has its channel's exact pixel size and codec", async () => {
    const pack = (await api<PackJson>("GET", `/api/shoots/${shootId}/pack`)).body;
    for (const c of pack.channels) {
      // One reel per video channel; the hero and six frames per still channel.
      expect(c.files.map((f) => f.source)).toEqual(c.media === "video" ? ["reel"] : ["hero", ...[1, 2, 3, 4, 5, 6].map((n) => `frame-${n}`)]);
      for (const f of c.files) {
        const facts = await videoFacts(await get(f.url), path.join(work, `${c.name}-${f.name}`));
        expect([c.name, f.name, facts.width, facts.height]).toEqual([c.name, f.name, c.width, c.height]);
        expect(facts.codec).toBe(c.media === "video" ? "h264" : "mjpeg");
        if (c.media === "video") {
          expect(facts.pixFmt).toBe("yuv420p");
          expect(facts.moovFirst).toBe(true);
        }
        expect(f.upscale).toBeGreaterThan(0);
      }
      expect(c.upscale).toBe(Math.max(...c.files.map((f) => f.upscale ?? 0)));
      if ((c.upscale ?? 0) > 1.5) expect(c.warning).toMatch(/for full quality/);
    }
  });

  it("a channel downloads as a zip of its own folder; the archive has a folder per channel", async () => {
    const reels = unzipSync(await get(`/api/shoots/${shootId}/pack/reels`));
    expect(Object.keys(reels)).toEqual(["reels/reel.mp4"]);
    const shopify = unzipSync(await get(`/api/shoots/${shootId}/pack/shopify`));
    expect(Object.keys(shopify).sort()).toEqual([
      "shopify/frame-1.jpg",
      "shopify/frame-2.jpg",
      "shopify/frame-3.jpg",
      "shopify/frame-4.jpg",
      "shopify/frame-5.jpg",
      "shopify/frame-6.jpg",
      "shopify/hero.jpg",
    ]);
    const archive = Object.keys(unzipSync(await get(`/api/shoots/${shootId}/archive`)));
    const folders = new Set(archive.filter((n) => n.startsWith("channels/")).map((n) => n.split("/")[1]));
    expect([...folders].sort()).toEqual(DEFAULT_CHANNELS.map((c) => c.name).sort());
    // The approved outputs are still there beside the pack.
    expect(archive).toContain("reel-v1.mp4");
  });

  describe.skipIf(!haveChromium)("in the browser", () => {
    const axeFindings: string[] = [];
    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `pack-${name}.png`), fullPage: true });
    async function axe(name: string) {
      axeFindings.push(...(await seriousAxe(page, name)).findings);
    }

    it("shows each video format playing side by side with its size and upscale, and the stills per marketplace", async () => {
      await page.goto(`${env.stack.url}/shoots/${shootId}#key=${encodeURIComponent(key())}`);
      await page.getByRole("heading", { name: "Channel pack v1" }).waitFor({ timeout: 60_000 });
      const videos = page.getByRole("list", { name: "Video formats" });
      for (const c of DEFAULT_CHANNELS.filter((d) => d.media === "video")) {
        const player = videos.getByRole("listitem").filter({ hasText: c.label });
        await player.getByText(`${c.width} × ${c.height}`).waitFor();
        await player.getByText(/upscaled \d+\.\d\d×/).waitFor();
        // Playing: its clock moves on its own (four 1080p decodes at once on a loaded 2-core machine can be slow to start).
        const video = player.locator("video");
        // Chromium holds muted autoplay of a video off screen: look at it, as the producer would.
        await video.scrollIntoViewIfNeeded();
        const state = () =>
          video.evaluate((v) => {
            const el = v as unknown as { currentTime: number; paused: boolean; readyState: number; error: { message: string } | null };
            return { playing: el.currentTime > 0 && !el.paused, readyState: el.readyState, error: el.error?.message ?? null };
          });
        await expect.poll(async () => (await state()).playing, { timeout: 90_000, message: `${c.label}: ${JSON.stringify(await state())}` }).toBe(true);
      }
      const stills = page.getByRole("list", { name: "Still formats" });
      await stills.getByRole("img", { name: /Shopify.*: hero/ }).waitFor();
      await page.getByRole("heading", { name: "Channel pack v1" }).scrollIntoViewIfNeeded();
      await axe("pack-ready");
      await shot("01-ready");
    });

    it("downloads one channel as a zip", async () => {
      const download = page.waitForEvent("download");
      await page.getByRole("button", { name: "Download Reels, TikTok and Shorts (9:16)" }).click();
      const file = await download;
      expect(file.suggestedFilename()).toBe(`${shootId}-reels.zip`);
      const saved = path.join(work, "reels.zip");
      await file.saveAs(saved);
      const { readFileSync } = await import("node:fs");
      expect(Object.keys(unzipSync(readFileSync(saved)))).toEqual(["reels/reel.mp4"]);
    });

    it("a producer asks for a second pack of two channels", async () => {
      await page.getByText("Make another pack").click();
      const channels = page.getByRole("group", { name: "Channels" });
      for (const c of DEFAULT_CHANNELS) if (c.name !== "square" && c.name !== "zalando") await channels.getByLabel(c.label).uncheck();
      await axe("pack-form");
      await shot("02-form");
      await page.getByRole("button", { name: "Make a new pack" }).click();
      await page.getByRole("heading", { name: "Channel pack v2" }).waitFor();
      const pack = await readyPack(2);
      expect(pack.channels.map((c) => c.name)).toEqual(["square", "zalando"]);
      await page.getByRole("list", { name: "Video formats" }).getByRole("button", { name: "Download Product page (1:1)" }).waitFor({ timeout: 60_000 });
      await expect.poll(() => page.getByRole("list", { name: "Video formats" }).getByRole("listitem").count()).toBe(1);
      await shot("03-second-pack");
      expect(axeFindings).toEqual([]);
    });
  });
});
