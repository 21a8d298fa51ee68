/**
 * Synthetic studio scenes for channel packs (issue 20), shared by `npm run bench:reframe` and the
 * pack tests: a standing figure (head, torso with striped garment, arms, legs) on a studio backdrop
 * (a vertical gradient, darker corners, a fixed paper texture and grain that changes every frame),
 * moving along a path per shot; shots are joined by hard cuts. Every frame's figure box is known
 * exactly (the extent of the pixels drawn), which is what the reframing is measured against.
 */
import sharp from "sharp";
import { spawnTool } from "./ffmpeg.ts";
import { mulberry32 } from "./prng.ts";

export type Rgb = [number, number, number];

export interface SceneBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Pose {
  /** Centre of the figure, fractions of the frame's width and height. */
  cx: number;
  cy: number;
  /** The figure's height, a fraction of the frame's height. */
  h: number;
}

export interface Shot {
  frames: number;
  backdrop: { top: Rgb; bottom: Rgb };
  garment: Rgb;
  /** Where the figure is at frame k of the shot's n frames. */
  pose: (k: number, n: number) => Pose;
  /** Width of the figure against its usual build (arms out, a wide coat): 1 is about 0.44 × its height. */
  breadth?: number;
  /** A small bright spot on the backdrop (a stray highlight), fractions of the frame. */
  highlight?: { x: number; y: number };
}

export interface Scene {
  name: string;
  width: number;
  height: number;
  fps: number;
  shots: Shot[];
}

export interface Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

const SKIN: Rgb = [196, 150, 120];
const TROUSERS: Rgb = [44, 48, 62];
const HAIR: Rgb = [52, 36, 28];

/** Smooth start and stop, 0→1. */
export const smoothstep = (t: number): number => {
  const u = Math.max(0, Math.min(1, t));
  return u * u * (3 - 2 * u);
};

/** The backdrop of a shot without grain: gradient, vignette and a paper texture (low-frequency value noise). */
function backdrop(width: number, height: number, shot: Shot, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const gw = 12;
  const gh = 8;
  const grid = Array.from({ length: (gw + 1) * (gh + 1) }, () => rand() * 2 - 1);
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const v = y / (height - 1);
    for (let x = 0; x < width; x++) {
      const u = x / (width - 1);
      const gx = u * gw;
      const gy = v * gh;
      const ix = Math.min(gw - 1, Math.floor(gx));
      const iy = Math.min(gh - 1, Math.floor(gy));
      const fx = smoothstep(gx - ix);
      const fy = smoothstep(gy - iy);
      const g = (i: number, j: number) => grid[j * (gw + 1) + i]!;
      const paper = (g(ix, iy) * (1 - fx) + g(ix + 1, iy) * fx) * (1 - fy) + (g(ix, iy + 1) * (1 - fx) + g(ix + 1, iy + 1) * fx) * fy;
      const r2 = (u - 0.5) ** 2 + (v - 0.5) ** 2;
      const shade = 1 - 0.14 * r2 + 0.025 * paper;
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = (shot.backdrop.top[c]! * (1 - v) + shot.backdrop.bottom[c]! * v) * shade;
    }
  }
  return out;
}

/**
 * Draws the figure into `data` and returns its box (exact: the extent of the pixels set). Parts are
 * axis-aligned rectangles and ellipses; the torso carries stripes so it has texture, not a flat fill.
 */
export function drawFigure(frame: Frame, pose: Pose, garment: Rgb, breadth = 1): SceneBox | null {
  const { width: W, height: H, data } = frame;
  const h = pose.h * H;
  const top = pose.cy * H - h / 2;
  const cx = pose.cx * W;
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  const put = (x: number, y: number, c: Rgb) => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const i = (y * W + x) * 3;
    data[i] = c[0];
    data[i + 1] = c[1];
    data[i + 2] = c[2];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  };
  const rect = (left: number, t: number, w: number, hh: number, colour: (x: number, y: number) => Rgb) => {
    for (let y = Math.round(t); y < Math.round(t + hh); y++) for (let x = Math.round(left); x < Math.round(left + w); x++) put(x, y, colour(x, y));
  };
  const ellipse = (ex: number, ey: number, rx: number, ry: number, c: Rgb) => {
    for (let y = Math.floor(ey - ry); y <= Math.ceil(ey + ry); y++) {
      for (let x = Math.floor(ex - rx); x <= Math.ceil(ex + rx); x++) if (((x - ex) / rx) ** 2 + ((y - ey) / ry) ** 2 <= 1) put(x, y, c);
    }
  };
  const stripe = Math.max(2, Math.round(0.03 * h));
  const dark = garment.map((v) => Math.round(v * 0.72)) as Rgb;
  const torsoW = 0.3 * h * breadth;
  const armW = 0.06 * h * breadth;
  ellipse(cx, top + 0.065 * h, 0.055 * h, 0.065 * h, SKIN);
  ellipse(cx, top + 0.035 * h, 0.058 * h, 0.04 * h, HAIR);
  rect(cx - 0.025 * h, top + 0.12 * h, 0.05 * h, 0.03 * h, () => SKIN);
  rect(cx - torsoW / 2, top + 0.145 * h, torsoW, 0.38 * h, (_x, y) => (Math.floor((y - top) / stripe) % 2 ? garment : dark));
  rect(cx - torsoW / 2 - armW - 0.01 * h, top + 0.15 * h, armW, 0.36 * h, () => dark);
  rect(cx + torsoW / 2 + 0.01 * h, top + 0.15 * h, armW, 0.36 * h, () => dark);
  rect(cx - 0.115 * h, top + 0.525 * h, 0.1 * h, 0.475 * h, () => TROUSERS);
  rect(cx + 0.015 * h, top + 0.525 * h, 0.1 * h, 0.475 * h, () => TROUSERS);
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Frame by frame: the picture and the figure's box (null when it is out of the frame). */
export function* sceneFrames(scene: Scene, seed = 1): Generator<{ frame: Frame; box: SceneBox | null; shot: number }> {
  const { width, height } = scene;
  const grain = mulberry32(seed * 7919);
  for (const [s, shot] of scene.shots.entries()) {
    const base = backdrop(width, height, shot, seed * 31 + s);
    for (let k = 0; k < shot.frames; k++) {
      const data = new Uint8Array(width * height * 3);
      for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(base[i]! + (grain() - 0.5) * 8)));
      const frame = { width, height, data };
      if (shot.highlight) {
        const hx = shot.highlight.x * width;
        const hy = shot.highlight.y * height;
        const r = Math.max(3, 0.008 * width);
        for (let y = Math.floor(hy - r); y <= hy + r; y++)
          for (let x = Math.floor(hx - r); x <= hx + r; x++)
            if ((x - hx) ** 2 + (y - hy) ** 2 <= r * r) data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
      }
      const box = drawFigure(frame, shot.pose(k, shot.frames), shot.garment, shot.breadth);
      yield { frame, box, shot: s };
    }
  }
}

/** Frame indices that start a shot (without 0). */
export function sceneCuts(scene: Scene): number[] {
  const cuts: number[] = [];
  let at = 0;
  for (const shot of scene.shots.slice(0, -1)) {
    at += shot.frames;
    cuts.push(at);
  }
  return cuts;
}

/**
 * Encodes the scene to an H.264 MP4 at `file` (CRF 18, veryfast: the analysis sees what a good
 * delivery encode keeps), streaming frames to FFmpeg, and returns every frame's known box.
 */
export async function writeSceneClip(scene: Scene, file: string, seed = 1): Promise<{ boxes: (SceneBox | null)[]; cuts: number[] }> {
  const enc = spawnTool(
    "ffmpeg",
    [
      ...["-hide_banner", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${scene.width}x${scene.height}`, "-r", String(scene.fps)],
      ...["-i", "pipe:0", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", file],
    ],
    "pipe",
  );
  const boxes: (SceneBox | null)[] = [];
  const stdin = enc.child.stdin!;
  for (const { frame, box } of sceneFrames(scene, seed)) {
    boxes.push(box);
    if (!stdin.write(frame.data)) await new Promise<void>((resolve) => stdin.once("drain", () => resolve()));
  }
  stdin.end();
  await enc.done;
  return { boxes, cuts: sceneCuts(scene) };
}

/** One frame of a shot as an image file (PNG or JPEG by extension), with the figure's box. */
export async function writeSceneStill(width: number, height: number, shot: Omit<Shot, "frames">, file: string, seed = 1): Promise<SceneBox | null> {
  const scene: Scene = { name: "still", width, height, fps: 1, shots: [{ ...shot, frames: 1 }] };
  const { frame, box } = sceneFrames(scene, seed).next().value!;
  const img = sharp(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), { raw: { width, height, channels: 3 } });
  await (file.endsWith(".png") ? img.png() : img.jpeg({ quality: 92 })).toFile(file);
  return box;
}
