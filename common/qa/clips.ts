/**
 * Drifted and untouched clips for `npm run bench:qa` and the check tests: 320×480 at 24 fps, made
 * frame by frame in memory and encoded once with libx264. Each seed makes a pair: the clip as it
 * should be (from its start still to its end still) and the same clip with one defect:
 * - `clip-morph`: mid-way the picture turns into something else and back (another garment and face
 *   on the synthetic figure; a swirl and a colour change of the middle on the fixture frames and
 *   reels), peaking at 60–100 % somewhere in the middle of the clip;
 * - `clip-end-away`: over its last 30–60 % the clip heads somewhere else and ends there (the figure
 *   further off and closer, the end still mirrored or moved and zoomed, back to the start, or another
 *   moment of the reel), not on its end still.
 * Three sources: synthetic scenes (a drawn figure moving, the camera pushing in), the fixture frames
 * (a dissolve with a pan from one frame to the next, as the provider simulator makes clips) and
 * stretches of the fixture reels (real footage, cut where the reel has no cut).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { runTool } from "../ffmpeg.ts";
import { mulberry32 } from "../prng.ts";
import { FIGURE_HAND, FIGURE_SIZE, FIGURE_TORSO, accessorySvg, figureSvg, garmentSvg } from "./figures.ts";
import {
  blend,
  canvas,
  canvasFrom,
  cloneCanvas,
  meanDiff,
  paste,
  recolourEllipse,
  shiftZoom,
  sprite,
  swirl,
  transformSprite,
  type Canvas,
  type Sprite,
} from "./raw.ts";
import { FIXTURES } from "./stills.ts";

export const CLIP_DRIFTS = ["clip-morph", "clip-end-away"] as const;
export type ClipDrift = (typeof CLIP_DRIFTS)[number];
export type ClipSource = "synthetic" | "fixture frames" | "fixture reels";

export const CLIP_SIZE = { width: 320, height: 480, fps: 24 } as const;

export interface ClipItem {
  label: string;
  source: ClipSource;
  kind: ClipDrift;
  drifted: boolean;
  detail: string;
  /** H.264 MP4. */
  clip: Buffer;
  start: Buffer;
  end: Buffer;
}

/** Encodes RGB frames to an H.264 MP4 (yuv420p, CRF 20) in memory. */
export async function encodeClip(frames: Canvas[], fps: number = CLIP_SIZE.fps): Promise<Buffer> {
  const { width, height } = frames[0]!;
  const dir = mkdtempSync(path.join(tmpdir(), "atelier-qa-clip-"));
  try {
    const out = path.join(dir, "clip.mp4");
    const input = Buffer.concat(frames.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength)));
    await runTool(
      "ffmpeg",
      [
        "-v",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        `${width}x${height}`,
        "-r",
        String(fps),
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        out,
      ],
      { input, timeoutMs: 120_000 },
    );
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const png = (c: Canvas) =>
  sharp(Buffer.from(c.data), { raw: { width: c.width, height: c.height, channels: 3 } })
    .png({ compressionLevel: 3 })
    .toBuffer();
const smooth = (t: number) => t * t * (3 - 2 * t);

/** A raised-cosine bump: 0 outside [a, b], `peak` at its middle. */
function bump(t: number, a: number, b: number, peak: number): number {
  if (t <= a || t >= b) return 0;
  return peak * 0.5 * (1 - Math.cos((2 * Math.PI * (t - a)) / (b - a)));
}

interface Drawn {
  frames: Canvas[];
  detail: string;
}

// ---------------------------------------------------------------------------------------------
// Synthetic: the drawn figure moving

interface SceneSprites {
  figure: Sprite;
  garment: Sprite;
  accessory: Sprite;
  k: number;
}

async function sceneSprites(seed: number, faceSeed: number, garmentSeed: number): Promise<SceneSprites> {
  const { height } = CLIP_SIZE;
  const k = (height * 0.82) / FIGURE_SIZE.height;
  const acc = accessorySvg(seed);
  const widths = { watch: 150, bag: 230, sunglasses: 190, hat: 200 } as const;
  return {
    k,
    figure: await transformSprite(await sprite(Buffer.from(figureSvg(seed, faceSeed))), FIGURE_SIZE.width * k),
    garment: await transformSprite(await sprite(Buffer.from(garmentSvg(garmentSeed))), FIGURE_TORSO.width * 2.1 * k),
    accessory: await transformSprite(await sprite(Buffer.from(acc.svg)), widths[acc.kind] * k),
  };
}

function backdropFor(seed: number): Canvas {
  const rand = mulberry32(seed * 977 + 1);
  const { width, height } = CLIP_SIZE;
  const c = canvas(width, height);
  const top = [60 + rand() * 170, 60 + rand() * 170, 60 + rand() * 170];
  const floor = top.map((v) => v * (0.5 + rand() * 0.3));
  const horizon = height * 0.8;
  for (let y = 0; y < height; y++) {
    const col = y < horizon ? top.map((v) => v * (1 - 0.25 * (y / horizon))) : floor;
    for (let x = 0; x < width; x++) for (let q = 0; q < 3; q++) c.data[(y * width + x) * 3 + q] = Math.round(col[q]!);
  }
  return c;
}

/** The scene with the figure's left edge at `fx` and the camera zoomed by `zoom`. */
function renderScene(back: Canvas, s: SceneSprites, fx: number, zoom: number, flop = false): Canvas {
  const c = cloneCanvas(back);
  const fy = CLIP_SIZE.height * 0.99 - s.figure.height;
  paste(c, s.figure, fx, fy);
  paste(c, s.garment, fx + FIGURE_TORSO.x * s.k - s.garment.width / 2, fy + (FIGURE_TORSO.y - 115) * s.k);
  paste(c, s.accessory, fx + FIGURE_HAND.x * s.k - s.accessory.width / 2, fy + FIGURE_HAND.y * s.k - s.accessory.height * 0.3);
  return zoom === 1 && !flop ? c : shiftZoom(c, zoom, 0, 0, flop);
}

async function syntheticClip(kind: ClipDrift, seed: number, drift: boolean): Promise<Drawn & { start: Canvas; end: Canvas }> {
  const rand = mulberry32(seed * 6151 + 2);
  const { width, fps } = CLIP_SIZE;
  const n = Math.round((1.5 + rand() * 0.5) * fps);
  const back = backdropFor(seed);
  const own = await sceneSprites(seed, seed, seed);
  const x0 = width * (0.5 + (rand() - 0.5) * 0.2) - own.figure.width / 2;
  const x1 = x0 + (rand() - 0.5) * width * 0.3;
  const z1 = 1 + rand() * 0.08;
  const at = (t: number, s = own) => renderScene(back, s, x0 + (x1 - x0) * smooth(t), 1 + (z1 - 1) * smooth(t));
  const start = at(0);
  const end = at(1);
  const frames: Canvas[] = [];
  let detail = "";
  if (drift && kind === "clip-morph") {
    const other = await sceneSprites(seed, seed + 700_000, seed + 500_000);
    const a = 0.2 + rand() * 0.2;
    const b = a + 0.3 + rand() * 0.25;
    const peak = 0.6 + rand() * 0.4;
    for (let i = 0; i < n; i++) {
      const t = i / (n - 1);
      const w = bump(t, a, b, peak);
      frames.push(w > 0 ? blend(at(t), at(t, other), w) : at(t));
    }
    detail = `turns into another jacket and face at ${(a * 100).toFixed(0)}–${(b * 100).toFixed(0)} % (peak ${(peak * 100).toFixed(0)} %)`;
  } else if (drift) {
    const from = 0.4 + rand() * 0.3;
    const xAway = x1 + (rand() < 0.5 ? -1 : 1) * width * (0.2 + rand() * 0.15);
    const zAway = 1.15 + rand() * 0.15;
    for (let i = 0; i < n; i++) {
      const t = i / (n - 1);
      if (t <= from) frames.push(at(t));
      else {
        const u = smooth((t - from) / (1 - from));
        const base = { x: x0 + (x1 - x0) * smooth(from), z: 1 + (z1 - 1) * smooth(from) };
        frames.push(renderScene(back, own, base.x + (xAway - base.x) * u, base.z + (zAway - base.z) * u));
      }
    }
    detail = `heads elsewhere from ${(from * 100).toFixed(0)} %: ends ${((xAway - x1) / width) * 100 > 0 ? "+" : ""}${(((xAway - x1) / width) * 100).toFixed(0)} % across, zoom ${zAway.toFixed(2)}`;
  } else {
    for (let i = 0; i < n; i++) frames.push(at(i / (n - 1)));
  }
  return { frames, detail, start, end };
}

// ---------------------------------------------------------------------------------------------
// The fixture frames: a dissolve with a pan (the simulator's way)

async function fixtureFramesClip(kind: ClipDrift, seed: number, drift: boolean): Promise<Drawn & { start: Canvas; end: Canvas }> {
  const rand = mulberry32(seed * 7727 + 3);
  const { width, height, fps } = CLIP_SIZE;
  const k = seed % 6;
  const read = (i: number) => readFileSync(path.join(FIXTURES, "frames", `frame-${i + 1}.png`));
  const [sBig, eBig] = await Promise.all([
    canvasFrom(read(k), Math.round(width * 1.06), Math.round(height * 1.06)),
    canvasFrom(read((k + 1) % 6), Math.round(width * 1.06), Math.round(height * 1.06)),
  ]);
  const start = await canvasFrom(read(k), width, height);
  const end = await canvasFrom(read((k + 1) % 6), width, height);
  const n = Math.round((1.5 + rand() * 0.5) * fps);
  const crop = (c: Canvas, t: number) => {
    const out = canvas(width, height);
    const ox = Math.round((c.width - width) * (0.25 + 0.5 * t));
    const oy = Math.round((c.height - height) * (0.6 - 0.2 * t));
    for (let y = 0; y < height; y++) out.data.set(c.data.subarray(((y + oy) * c.width + ox) * 3, ((y + oy) * c.width + ox + width) * 3), y * width * 3);
    return out;
  };
  const at = (t: number) => crop(blend(sBig, eBig, t), t);
  const frames: Canvas[] = [];
  let detail = "";
  if (drift && kind === "clip-morph") {
    const a = 0.2 + rand() * 0.2;
    const b = a + 0.3 + rand() * 0.25;
    const peak = 0.6 + rand() * 0.4;
    const turn = (rand() < 0.5 ? -1 : 1) * (2 + rand() * 2);
    const hue = { hue: 90 + rand() * 90, chroma: 1.3, lightness: 0 };
    for (let i = 0; i < n; i++) {
      const t = i / (n - 1);
      const w = bump(t, a, b, peak);
      const f = at(t);
      frames.push(w > 0 ? recolourEllipse(swirl(f, turn * w), { ...hue, hue: hue.hue * w }, 0.5, 0.5, 0.3, 0.3) : f);
    }
    detail = `the middle swirls and changes colour at ${(a * 100).toFixed(0)}–${(b * 100).toFixed(0)} %`;
  } else if (drift) {
    const from = 0.4 + rand() * 0.3;
    const variant = seed % 3;
    const target =
      variant === 0
        ? shiftZoom(end, 1.25, (rand() < 0.5 ? -1 : 1) * width * 0.2, 0)
        : variant === 1
          ? shiftZoom(end, 1, 0, 0, true)
          : shiftZoom(start, 1.1, width * 0.1, 0);
    for (let i = 0; i < n; i++) {
      const t = i / (n - 1);
      const f = at(t);
      frames.push(t <= from ? f : blend(f, target, smooth((t - from) / (1 - from))));
    }
    detail = `${["ends moved and zoomed in", "ends mirrored", "ends on its start frame, moved"][variant]} (from ${(from * 100).toFixed(0)} %)`;
  } else {
    for (let i = 0; i < n; i++) frames.push(at(i / (n - 1)));
  }
  return { frames, detail, start, end };
}

// ---------------------------------------------------------------------------------------------
// The fixture reels: real footage

let reelFrames: Promise<Canvas[][]> | undefined;

/** Every frame of both reels at the clip size, split at cuts (a jump between neighbours far beyond the usual). */
function loadReels(): Promise<Canvas[][]> {
  reelFrames ??= (async () => {
    const stretches: Canvas[][] = [];
    const { width, height } = CLIP_SIZE;
    for (const name of ["reel-a.mp4", "reel-b.mp4"]) {
      const file = path.join(FIXTURES, "reels", name);
      if (!existsSync(file)) continue;
      const { stdout } = await runTool(
        "ffmpeg",
        ["-v", "error", "-i", file, "-an", "-vf", `scale=${width}:${height}:flags=area`, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        { timeoutMs: 120_000, maxStdoutBytes: 1 << 30 },
      );
      const size = width * height * 3;
      const frames: Canvas[] = [];
      for (let i = 0; i + size <= stdout.length; i += size) frames.push({ width, height, data: new Uint8Array(stdout.subarray(i, i + size)) });
      const steps = frames.slice(1).map((f, i) => meanDiff(f, frames[i]!));
      const usual = [...steps].sort((a, b) => a - b)[Math.floor(steps.length / 2)]!;
      let from = 0;
      steps.forEach((d, i) => {
        if (d > Math.max(12, usual * 6)) {
          stretches.push(frames.slice(from, i + 1));
          from = i + 1;
        }
      });
      stretches.push(frames.slice(from));
    }
    return stretches.filter((s) => s.length >= 40);
  })();
  return reelFrames;
}

async function fixtureReelClip(kind: ClipDrift, seed: number, drift: boolean): Promise<Drawn & { start: Canvas; end: Canvas }> {
  const rand = mulberry32(seed * 5119 + 4);
  const { width, fps } = CLIP_SIZE;
  const stretches = await loadReels();
  const stretch = stretches[seed % stretches.length]!;
  const n = Math.min(stretch.length, Math.round((1.5 + rand() * 0.5) * fps));
  const first = Math.floor(rand() * (stretch.length - n + 1));
  const own = stretch.slice(first, first + n);
  const start = own[0]!;
  const end = own[n - 1]!;
  let frames = own;
  let detail = "";
  if (drift && kind === "clip-morph") {
    const a = 0.2 + rand() * 0.2;
    const b = a + 0.3 + rand() * 0.25;
    const peak = 0.6 + rand() * 0.4;
    const turn = (rand() < 0.5 ? -1 : 1) * (2 + rand() * 2);
    const hue = 90 + rand() * 90;
    frames = own.map((f, i) => {
      const w = bump(i / (n - 1), a, b, peak);
      return w > 0 ? recolourEllipse(swirl(f, turn * w), { hue: hue * w, chroma: 1.3, lightness: 0 }, 0.5, 0.5, 0.3, 0.3) : f;
    });
    detail = `the middle swirls and changes colour at ${(a * 100).toFixed(0)}–${(b * 100).toFixed(0)} %`;
  } else if (drift) {
    const from = 0.4 + rand() * 0.3;
    const other = stretches[(seed + 1 + Math.floor(rand() * (stretches.length - 1))) % stretches.length]!;
    const target = seed % 2 === 0 ? shiftZoom(end, 1.25, (rand() < 0.5 ? -1 : 1) * width * 0.2, 0) : other[Math.floor(rand() * other.length)]!;
    frames = own.map((f, i) => {
      const t = i / (n - 1);
      return t <= from ? f : blend(f, target, smooth((t - from) / (1 - from)));
    });
    detail = `${seed % 2 === 0 ? "ends moved and zoomed in" : "ends on another moment of the reels"} (from ${(from * 100).toFixed(0)} %)`;
  }
  return { frames, detail, start, end };
}

/** Whether the fixture reels and frames are there to draw clips from. */
export const hasClipFixtures = () => existsSync(path.join(FIXTURES, "reels", "reel-a.mp4")) && existsSync(path.join(FIXTURES, "frames", "frame-1.png"));

/** The untouched and the drifted clip of one seed. */
export async function clipPair(kind: ClipDrift, seed: number, source: ClipSource): Promise<[ClipItem, ClipItem]> {
  const make = source === "synthetic" ? syntheticClip : source === "fixture frames" ? fixtureFramesClip : fixtureReelClip;
  const items: ClipItem[] = [];
  // Each kind's pairs are drawn apart, so the two kinds' untouched clips of one seed differ.
  const draw = seed + CLIP_DRIFTS.indexOf(kind) * 1_000_003;
  for (const drifted of [false, true]) {
    const d = await make(kind, draw, drifted);
    items.push({
      label: `${source} #${seed}`,
      source,
      kind,
      drifted,
      detail: d.detail,
      clip: await encodeClip(d.frames),
      start: await png(d.start),
      end: await png(d.end),
    });
  }
  return items as [ClipItem, ClipItem];
}
