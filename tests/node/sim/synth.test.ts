import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyPrompt, settingFromPrompt, synthesizeImage } from "../../../sim/synth.ts";
import { decodeImage } from "../../../sim/inputs.ts";
import { colourDistance, meanColour, startReceiver, startTestSim, testImage } from "./helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

async function generate(sim: Sim, input: Record<string, unknown>) {
  const sub = (await (
    await fetch(`${sim.url}/fal/fal-ai/nano-banana-pro/edit`, {
      method: "POST",
      headers: { authorization: "Key k", "content-type": "application/json" },
      body: JSON.stringify(input),
    })
  ).json()) as { status_url: string; response_url: string };
  for (;;) {
    const s = (await (await fetch(sub.status_url, { headers: { authorization: "Key k" } })).json()) as { status: string };
    if (s.status === "COMPLETED") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const res = await fetch(sub.response_url, { headers: { authorization: "Key k" } });
  expect(res.status).toBe(200);
  const out = (await res.json()) as { images: { url: string; width: number; height: number }[] };
  const bytes = Buffer.from(await (await fetch(out.images[0].url)).arrayBuffer());
  return { meta: out.images[0], bytes };
}

/** Runs of indices where `isGutter` holds, as [start, endExclusive]. */
function runs(n: number, isGutter: (i: number) => boolean): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const g = i < n && isGutter(i);
    if (g && start < 0) start = i;
    if (!g && start >= 0) {
      out.push([start, i]);
      start = -1;
    }
  }
  return out;
}

describe("image synthesis", () => {
  let sim: Sim;
  let rx: Receiver;
  let heroUrl: string;
  let refUrl: string;

  beforeAll(async () => {
    sim = await startTestSim();
    rx = await startReceiver();
    heroUrl = rx.addImage("hero.png", await testImage(1000, 1500, "#9a6a4a", "#3a4a6a", "#e8d0b0"));
    refUrl = rx.addImage("jacket.png", await testImage(500, 500, "#4060a0", "#203050"));
  });
  afterAll(async () => {
    await sim?.close();
    await rx?.close();
  });

  it("draws a contact sheet as a real 2×3 grid with uniform gutters that differ from the cells", async () => {
    const { meta, bytes } = await generate(sim, {
      prompt: "Output one 2x3 contact sheet: six frames in a grid with thin uniform gutters",
      image_urls: [heroUrl, refUrl],
      resolution: "2K",
    });
    expect([meta.width, meta.height]).toEqual([2528, 1696]);
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const { width: W, height: H } = info;
    const px = (x: number, y: number) => [data[(y * W + x) * 3], data[(y * W + x) * 3 + 1], data[(y * W + x) * 3 + 2]];
    const gutter = px(3, 3);
    const isG = (x: number, y: number) => colourDistance(px(x, y), gutter) < 8;

    // A column (row) is gutter when every sampled pixel along it has the gutter colour.
    const cols = runs(W, (x) => {
      for (let y = 0; y < H; y += 3) if (!isG(x, y)) return false;
      return true;
    });
    const rows = runs(H, (y) => {
      for (let x = 0; x < W; x += 3) if (!isG(x, y)) return false;
      return true;
    });
    expect(cols).toHaveLength(4); // left margin, two gutters, right margin
    expect(rows).toHaveLength(3); // top margin, one gutter, bottom margin
    const widths = [...cols.slice(1, -1), ...rows.slice(1, -1)].map(([a, b]) => b - a);
    for (const w of widths) expect(w).toBeGreaterThanOrEqual(20);
    for (const w of widths) expect(w).toBeLessThanOrEqual(40);
    expect(Math.max(...widths) - Math.min(...widths)).toBeLessThanOrEqual(1);
    expect(cols[0][1]).toBeGreaterThan(10); // an outer margin, not a bleed

    // Six cells between the gutters: none of them is gutter-coloured, and they all differ.
    const cells: { left: number; top: number; width: number; height: number }[] = [];
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 3; c++) cells.push({ left: cols[c][1], top: rows[r][1], width: cols[c + 1][0] - cols[c][1], height: rows[r + 1][0] - rows[r][1] });
    const thumbs: Buffer[] = [];
    for (const cell of cells) {
      expect(cell.width).toBeGreaterThan(700);
      expect(Math.abs(cell.width - cells[0].width)).toBeLessThanOrEqual(1);
      const crop = await sharp(bytes).extract(cell).toBuffer();
      expect(colourDistance(await meanColour(crop), gutter)).toBeGreaterThan(40);
      // The cell's own edge pixels are not gutter-coloured either (a clean cut is possible).
      let edgeGutter = 0;
      for (let x = cell.left; x < cell.left + cell.width; x++) if (isG(x, cell.top) || isG(x, cell.top + cell.height - 1)) edgeGutter++;
      expect(edgeGutter / cell.width).toBeLessThan(0.5);
      thumbs.push(await sharp(crop).resize(24, 24, { fit: "fill" }).removeAlpha().raw().toBuffer());
    }
    for (let i = 0; i < 6; i++)
      for (let j = i + 1; j < 6; j++) {
        let diff = 0;
        for (let k = 0; k < thumbs[i].length; k++) diff += Math.abs(thumbs[i][k] - thumbs[j][k]);
        expect(diff / thumbs[i].length, `cells ${i + 1} and ${j + 1} look the same`).toBeGreaterThan(6);
      }
  });

  it("draws a hero in the requested aspect ratio on a backdrop from the setting words", async () => {
    const dark = await generate(sim, {
      prompt: "Show me a high fashion photoshoot image.\nSetting: dark void backdrop, low-key",
      image_urls: [heroUrl, refUrl],
      aspect_ratio: "16:9",
      resolution: "1K",
    });
    expect([dark.meta.width, dark.meta.height]).toEqual([1376, 768]);
    const light = await generate(sim, {
      prompt: "Show me a high fashion photoshoot image.\nSetting: white cyclorama, high-key",
      image_urls: [heroUrl, refUrl],
      resolution: "2K",
    });
    expect([light.meta.width, light.meta.height]).toEqual([1696, 2528]); // auto → 2:3
    const corner = async (b: Buffer) =>
      meanColour(
        await sharp(b)
          .extract({ left: 0, top: Math.round((await sharp(b).metadata()).height! * 0.4), width: 40, height: 40 })
          .toBuffer(),
      );
    const lum = (c: number[]) => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    expect(lum(await corner(dark.bytes))).toBeLessThan(60);
    expect(lum(await corner(light.bytes))).toBeGreaterThan(170);
  });

  it("edits a single frame at the same size, visibly changed", async () => {
    const frame = await testImage(640, 800, "#a08060", "#506070");
    const url = rx.addImage("frame.png", frame);
    const { meta, bytes } = await generate(sim, { prompt: "Take this image and make the jacket red. Keep the framing.", image_urls: [url], resolution: "2K" });
    expect([meta.width, meta.height]).toEqual([640, 800]);
    const a = await sharp(frame).resize(64, 80).removeAlpha().raw().toBuffer();
    const b = await sharp(bytes).resize(64, 80).removeAlpha().raw().toBuffer();
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
    expect(diff / a.length).toBeGreaterThan(8);
  });

  it("is deterministic for the same input and reads prompts the way the pipeline writes them", async () => {
    const img = await decodeImage(await testImage(400, 600, "#806040", "#304050"), "image_urls.0", "test");
    const req = { prompt: "Output one 2x3 contact sheet", images: [img], aspectRatio: "auto", resolution: "1K" as const, outputFormat: "png" as const };
    const [a, b] = await Promise.all([synthesizeImage(req), synthesizeImage(req)]);
    expect(a.data.equals(b.data)).toBe(true);
    expect([a.width, a.height]).toEqual([1264, 848]);

    expect(classifyPrompt("Take this image and add a hat. Keep the contact sheet look")).toBe("edit");
    expect(classifyPrompt("Analyze the input image…\nOutput one 2x3 contact sheet")).toBe("contact-sheet");
    expect(classifyPrompt("Show me a high fashion photoshoot image")).toBe("hero");
    expect(settingFromPrompt("Brief: edgy\nSetting: raw concrete walls and exposed architecture").id).toBe("industrial");
    expect(settingFromPrompt("Setting: bold solid-colour backdrop lit with saturated gel lighting").id).toBe("color-gel");
    expect(settingFromPrompt("Setting: city street with metropolitan context").id).toBe("outdoor-urban");
    expect(settingFromPrompt("Setting: soft window light, warm and diffused").id).toBe("warm-daylight");
    expect(settingFromPrompt("nothing in particular").id).toBe("studio-grey");
  });
});
