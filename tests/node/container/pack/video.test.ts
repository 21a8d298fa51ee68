/**
 * A pack's videos (container/pack/video.ts) with real FFmpeg: every output at its exact size as
 * H.264, frame n of an output showing box n of its path (a bright marker whose position is known in
 * every source frame, on a box that moves differently), fill where a box leaves the source, and all
 * outputs from one FFmpeg process that reads the reel once.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as ffmpeg from "../../../../common/ffmpeg.ts";
import { DEFAULT_CHANNELS } from "../../../../src/domain/channels.ts";
import type { Box, CropPath } from "../../../../container/pack/types.ts";
import { frameExpression, renderVideos, segmentPath } from "../../../../container/pack/video.ts";
import { mp4TopLevelBoxes, run, tempDir } from "../helpers.ts";

vi.mock("../../../../common/ffmpeg.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../../common/ffmpeg.ts")>();
  return { ...real, spawnTool: vi.fn(real.spawnTool) };
});

const SW = 320;
const SH = 240;
const FPS = 30;
const FRAMES = 40;
const MARK = 12;

/** Where the marker's top-left corner is in source frame n. */
const marker = (n: number) => ({ x: 60 + 4 * n, y: 50 + 3 * n });

/** Grey noise (so nothing is a flat colour) with a white square at marker(n). */
function sourceFrame(n: number): Buffer {
  const f = Buffer.alloc((SW * SH * 3) / 2, 128);
  let seed = n * 7919 + 1;
  for (let i = 0; i < SW * SH; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    f[i] = 40 + (seed % 24);
  }
  const m = marker(n);
  for (let y = m.y; y < m.y + MARK; y++) f.fill(235, y * SW + m.x, y * SW + m.x + MARK);
  return f;
}

/** Two shots: 160×120 boxes moving left and down, then 200×150 boxes moving left (scaled to 160×120). */
function movingBox(n: number): Box {
  return n < 20 ? { x: 50 - 2 * n, y: 20 + 2 * n, width: 160, height: 120 } : { x: 100 - 3 * (n - 20), y: 30 + (n - 20), width: 200, height: 150 };
}

/** movingBox, higher up: the first frames of each shot reach above the source. */
function raisedBox(n: number): Box {
  const b = movingBox(n);
  return { ...b, y: n < 20 ? -30 + 2 * n : -5 + 2 * (n - 20) };
}

const pathOf = (boxes: Box[]): CropPath => ({ boxes, upscale: 1, filled: boxes.some((b) => b.x < 0 || b.y < 0 || b.x + b.width > SW || b.y + b.height > SH) });

async function grayFrames(file: string, w: number, h: number): Promise<Buffer[]> {
  const raw = await run("ffmpeg", ["-v", "error", "-i", file, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]);
  const frames: Buffer[] = [];
  for (let off = 0; off + w * h <= raw.length; off += w * h) frames.push(raw.subarray(off, off + w * h));
  return frames;
}

/** Centre of the pixels brighter than the background (the marker). */
function brightCentre(gray: Buffer, w: number): { x: number; y: number } | undefined {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let i = 0; i < gray.length; i++) {
    if (gray[i]! > 150) {
      sx += i % w;
      sy += Math.floor(i / w);
      n++;
    }
  }
  return n ? { x: sx / n, y: sy / n } : undefined;
}

async function probe(file: string) {
  const out = await run("ffprobe", [
    "-v",
    "error",
    "-count_frames",
    "-show_entries",
    "stream=codec_name,width,height,pix_fmt,nb_read_frames,r_frame_rate",
    "-of",
    "json",
    file,
  ]);
  return (JSON.parse(out.toString()) as { streams: Array<Record<string, string | number>> }).streams[0]!;
}

let dir: string;
let reel: string;

beforeAll(async () => {
  dir = tempDir("pack-video");
  reel = path.join(dir, "reel.mp4");
  const frames = Buffer.concat(Array.from({ length: FRAMES }, (_, n) => sourceFrame(n)));
  await run(
    "ffmpeg",
    ["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${SW}x${SH}`, "-framerate", String(FPS), "-i", "pipe:0"].concat([
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-crf",
      "8",
      "-pix_fmt",
      "yuv420p",
      reel,
    ]),
    frames,
  );
});

describe("renderVideos", () => {
  it("makes every channel format at its exact size as H.264 yuv420p with faststart, from one FFmpeg process reading the reel once", async () => {
    const spawn = vi.mocked(ffmpeg.spawnTool);
    spawn.mockClear();
    const channels = DEFAULT_CHANNELS.filter((c) => c.media === "video");
    const outputs = channels.map((c) => {
      // The largest box of the channel's aspect inside the source, centred.
      const s = Math.min(SW / c.width, SH / c.height);
      const box = { x: (SW - c.width * s) / 2, y: (SH - c.height * s) / 2, width: c.width * s, height: c.height * s };
      return { name: c.name, file: path.join(dir, `${c.name}.mp4`), width: c.width, height: c.height, path: pathOf([box]), fill: c.fill };
    });
    const rendered = await renderVideos(reel, outputs, { crf: 23, preset: "ultrafast" });

    expect(spawn).toHaveBeenCalledTimes(1);
    const args = spawn.mock.calls[0]![1];
    expect(args.filter((a) => a === "-i")).toHaveLength(1);
    for (const [i, c] of channels.entries()) {
      const s = await probe(outputs[i]!.file);
      expect(s).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p", width: c.width, height: c.height, r_frame_rate: `${FPS}/1` });
      expect(Number(s.nb_read_frames)).toBe(FRAMES);
      expect(rendered[i]).toMatchObject({ width: c.width, height: c.height, frames: FRAMES });
      expect(rendered[i]!.duration).toBeCloseTo(FRAMES / FPS, 2);
      const top = mp4TopLevelBoxes(readFileSync(outputs[i]!.file));
      expect(top.indexOf("moov")).toBeLessThan(top.indexOf("mdat"));
    }
  });

  // The same moving boxes inside the source, and raised to reach above it (the blur fill path).
  it.each([
    ["inside the source", movingBox],
    ["partly above the source (filled)", raisedBox],
  ])("shows box n of the path in output frame n, across a change of box size: boxes %s", async (label, boxOf) => {
    const boxes = Array.from({ length: FRAMES }, (_, n) => boxOf(n));
    const file = path.join(dir, `moving-${label.length}.mp4`);
    const [r] = await renderVideos(reel, [{ name: "moving", file, width: 160, height: 120, path: pathOf(boxes), fill: "blur" }], {
      crf: 16,
      preset: "veryfast",
    });
    expect(r!.filled).toBe(boxes.some((b) => b.y < 0));
    const frames = await grayFrames(file, 160, 120);
    expect(frames).toHaveLength(FRAMES);
    const errors = frames.map((g, n) => {
      const seen = brightCentre(g, 160);
      if (!seen) return Number.POSITIVE_INFINITY;
      // The boxes as rendered (on the even grid yuv420p crops on), which the job reports.
      const b = r!.boxes[n]!;
      expect(Math.abs(b.x - boxOf(n).x) + Math.abs(b.y - boxOf(n).y)).toBeLessThanOrEqual(2);
      const scale = b.width / 160;
      const m = marker(n);
      // Where the marker's centre is in the source, seen through this frame's box.
      return Math.max(Math.abs(b.x + seen.x * scale - (m.x + MARK / 2)), Math.abs(b.y + seen.y * scale - (m.y + MARK / 2)));
    });
    // Within 2 source pixels everywhere; box and marker move 5–7 px apart per frame, so a frame
    // shown one step early or late would be far outside this.
    expect(Math.max(...errors)).toBeLessThanOrEqual(2);
  });

  it("fills where a box leaves the source: blurred picture for blur, the edge continued for extend", async () => {
    // 160×120 boxes reaching 40 px past the left edge; a second output stays inside and is not filled.
    const outside = pathOf(Array.from({ length: FRAMES }, () => ({ x: -40, y: 60, width: 160, height: 120 })));
    const inside = pathOf([{ x: 80, y: 60, width: 160, height: 120 }]);
    const files = { blur: path.join(dir, "fill-blur.mp4"), extend: path.join(dir, "fill-extend.mp4"), inside: path.join(dir, "inside.mp4") };
    await renderVideos(
      reel,
      [
        { name: "blur", file: files.blur, width: 160, height: 120, path: outside, fill: "blur" },
        { name: "extend", file: files.extend, width: 160, height: 120, path: outside, fill: "extend" },
        { name: "inside", file: files.inside, width: 160, height: 120, path: inside, fill: "blur" },
      ],
      { crf: 16, preset: "veryfast" },
    );
    const [blur] = await grayFrames(files.blur, 160, 120);
    const [extend] = await grayFrames(files.extend, 160, 120);
    const src = (await grayFrames(reel, SW, SH))[0]!;
    const mean = (g: Buffer, x0: number, x1: number) => {
      let s = 0;
      for (let y = 0; y < 120; y++) for (let x = x0; x < x1; x++) s += g[y * 160 + x]!;
      return s / (120 * (x1 - x0));
    };
    // Columns 0–35 are fill. The source's background is grey 40–63 (TV black is 16).
    expect(mean(blur!, 0, 36)).toBeGreaterThan(35);
    expect(mean(extend!, 0, 36)).toBeGreaterThan(35);
    // extend: each row of the fill repeats the source's first column in that row.
    let worst = 0;
    for (let y = 4; y < 116; y++) {
      const edge = src[(60 + y) * SW]!;
      for (let x = 0; x < 36; x += 5) worst = Math.max(worst, Math.abs(extend![y * 160 + x]! - edge));
    }
    expect(worst).toBeLessThanOrEqual(12);
    // The picture itself starts at column 40 in both.
    expect(Math.abs(mean(blur!, 44, 160) - mean(extend!, 44, 160))).toBeLessThan(2);
  });
});

describe("path segments", () => {
  it("splits a path where its box size changes and gives each frame's x as an exact expression", () => {
    const boxes = Array.from({ length: FRAMES }, (_, n) => movingBox(n));
    const { segments, largestBox } = segmentPath(boxes);
    expect(segments.map((s) => [s.start, s.end, s.width])).toEqual([
      [0, 20, 160],
      [20, 40, 200],
    ]);
    expect(largestBox).toBe(false);
    // The expression, evaluated the way FFmpeg does, gives back every value.
    const xs = [4, 4, 4, 6, 8, 8, 10];
    const expr = frameExpression(xs, FPS).replaceAll("\\,", ",");
    expect(xs.map((_, n) => evalIf(expr, n))).toEqual(xs);
  });
});

/** Evaluates `if(lt(t,k),a,b)` trees of integers at frame n's time. */
function evalIf(expr: string, n: number): number {
  const m = /^if\(lt\(t,([\d.-]+)\),(.*)\)$/.exec(expr);
  if (!m) return Number(expr);
  const k = Number(m[1]) * FPS;
  const body = m[2]!;
  // Split `a,b` at the top-level comma.
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "(") depth++;
    else if (body[i] === ")") depth--;
    else if (body[i] === "," && depth === 0) return n < k ? evalIf(body.slice(0, i), n) : evalIf(body.slice(i + 1), n);
  }
  throw new Error(`bad expression ${expr}`);
}
