/**
 * A pack's videos (issue 20): every channel format of the reel from ONE FFmpeg process that decodes
 * the reel once, `split`s it, and per output crops along the output's crop path, scales to the exact
 * pixel size and encodes with libx264.
 *
 * The moving crop: `crop` evaluates x and y per frame but its width and height only at init. So each
 * output's path is cut into segments of one box size (a shot: the path keeps its size within a shot
 * and may change it at a cut); each segment is its own `trim` → `crop` → `scale` chain and the
 * segments are joined with `concat`. x and y are per-frame expressions of the frame number within
 * the segment (a binary tree of `if(lt(n,k),…)` over runs of equal values, so it is exact and cheap).
 * Runtime commands (sendcmd) were not used: with `split` feeding several chains, frames wait in link
 * queues, so a command can reach a crop before or after the frame it was meant for.
 *
 * Fill: an output whose boxes reach outside the source crops from a larger canvas made once for that
 * output: the source on a blurred copy of itself scaled to cover (`blur`), or with its edge pixels
 * continued outward (`extend`). Outputs that stay inside the source crop the source directly.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { FillMode } from "../../src/domain/channels.ts";
import type { X264Preset } from "../../src/domain/stitch.ts";
import { spawnTool } from "../../common/ffmpeg.ts";
import { InputError } from "../errors.ts";
import { probeVideo, type VideoInfo } from "../probe.ts";
import type { Box, CropPath } from "./types.ts";

export interface VideoOutput {
  name: string;
  file: string;
  width: number;
  height: number;
  path: CropPath;
  fill: FillMode;
}

export interface VideoEncoding {
  crf: number;
  preset: X264Preset;
  /** Output frame rate; the reel's when left out (the path then has one box per reel frame). */
  fps?: number;
}

export interface RenderedVideo {
  name: string;
  width: number;
  height: number;
  /** Seconds. */
  duration: number;
  frames: number;
  fps: number;
  /** The boxes as rendered: rounded to even pixels (yuv420p), one per output frame. */
  boxes: Box[];
  /** Some frame's box reaches outside the source, so part of the output is fill. */
  filled: boolean;
  /** The path changed its box size too often for one chain per size: every frame used its largest box, centred on the path's box. */
  largestBox: boolean;
}

/** More size changes than this in one path (a zoom rather than cuts) and every frame uses the largest box. */
const MAX_SEGMENTS = 16;

const even = (x: number) => Math.round(x / 2) * 2;

/** A box on the even grid yuv420p crops on (crop itself would round x and y down, silently). */
function evenBox(b: Box): Box {
  return { x: even(b.x), y: even(b.y), width: Math.max(2, even(b.width)), height: Math.max(2, even(b.height)) };
}

interface Segment {
  start: number;
  /** Exclusive; the last segment runs to the end of the reel. */
  end: number;
  width: number;
  height: number;
}

/** Runs of one box size; past MAX_SEGMENTS, one run at the largest size, centred on each box. */
export function segmentPath(boxes: Box[]): { boxes: Box[]; segments: Segment[]; largestBox: boolean } {
  const even = boxes.map(evenBox);
  const segments: Segment[] = [];
  even.forEach((b, i) => {
    const last = segments.at(-1);
    if (last && last.width === b.width && last.height === b.height) last.end = i + 1;
    else segments.push({ start: i, end: i + 1, width: b.width, height: b.height });
  });
  if (segments.length <= MAX_SEGMENTS) return { boxes: even, segments, largestBox: false };
  const big = even.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const centred = even.map((b) =>
    evenBox({ x: b.x + b.width / 2 - big.width / 2, y: b.y + b.height / 2 - big.height / 2, width: big.width, height: big.height }),
  );
  return { boxes: centred, segments: [{ start: 0, end: even.length, width: big.width, height: big.height }], largestBox: true };
}

/**
 * `values[n]` as an FFmpeg expression of the frame time `t` (timestamps are n/fps, set after
 * decoding): a balanced tree over runs of equal values, each bound half a frame before the run. Not
 * `n`: overlay counts frames from 1 where crop counts from 0 (FFmpeg 5.1), time means the same to both.
 */
export function frameExpression(values: number[], fps: number): string {
  const runs: { start: number; value: number }[] = [];
  values.forEach((v, i) => {
    if (runs.at(-1)?.value !== v) runs.push({ start: i, value: v });
  });
  const tree = (lo: number, hi: number): string => {
    if (hi - lo === 1) return String(runs[lo]!.value);
    const mid = (lo + hi) >> 1;
    return `if(lt(t\\,${((runs[mid]!.start - 0.5) / fps).toFixed(6)})\\,${tree(lo, mid)}\\,${tree(mid, hi)})`;
  };
  return runs.length ? tree(0, runs.length) : "0";
}

/** How far an output's boxes reach outside the source, on each side (even pixels). */
function overhang(boxes: Box[], src: { width: number; height: number }): { left: number; top: number; right: number; bottom: number } {
  let left = 0;
  let top = 0;
  let right = 0;
  let bottom = 0;
  for (const b of boxes) {
    left = Math.max(left, -b.x);
    top = Math.max(top, -b.y);
    right = Math.max(right, b.x + b.width - src.width);
    bottom = Math.max(bottom, b.y + b.height - src.height);
  }
  const up = (v: number) => Math.ceil(v / 2) * 2;
  return { left: up(left), top: up(top), right: up(right), bottom: up(bottom) };
}

/** The source on a canvas `pad` larger on each side, its edge pixels continued outward (`extend`). */
function extendCanvas(input: string, output: string, src: { width: number; height: number }, pad: ReturnType<typeof overhang>): string {
  const w = src.width + pad.left + pad.right;
  const h = src.height + pad.top + pad.bottom;
  return `[${input}]pad=${w}:${h}:${pad.left}:${pad.top},fillborders=left=${pad.left}:right=${pad.right}:top=${pad.top}:bottom=${pad.bottom}:mode=smear[${output}]`;
}

/**
 * `blur` fill, composed at the output's size: the source scaled to the output's scale, laid over a
 * blurred copy cropped along the same path. The blurred copy is made once per output at a quarter
 * of the canvas size (a large blur radius at full size, for a fraction of the work). Composing a
 * full-size canvas first cost about as much as all the other outputs together (a 16:9 frame from a
 * portrait reel is a 2700×1750 canvas every frame).
 */
function blurFill(tag: string, src: { width: number; height: number }, pad: ReturnType<typeof overhang>) {
  const cw = src.width + pad.left + pad.right;
  const ch = src.height + pad.top + pad.bottom;
  const bw = Math.max(16, even(cw / 4));
  const bh = Math.max(16, even(ch / 4));
  const r = Math.max(1, Math.min(12, Math.floor(Math.min(bw, bh) / 4) - 1));
  return {
    /** Makes `[<tag>fg]` (the source) and `[<tag>bg]` (the small blurred canvas) from `input`. */
    prepare: (input: string) => [
      `[${input}]split[${tag}fg][${tag}bgin]`,
      `[${tag}bgin]scale=${bw}:${bh}:force_original_aspect_ratio=increase,crop=${bw}:${bh},boxblur=${r}:2[${tag}bg]`,
    ],
    /** One segment: `fg` and `bg` (already trimmed to it) to `out`, one box per frame. */
    segment(fg: string, bg: string, out: string, boxes: Box[], seg: Segment, size: { width: number; height: number }, fps: number): string[] {
      const fx = size.width / seg.width;
      const fy = size.height / seg.height;
      const qx = bw / cw;
      const qy = bh / ch;
      const cropW = Math.min(bw, Math.max(2, Math.round(seg.width * qx)));
      const cropH = Math.min(bh, Math.max(2, Math.round(seg.height * qy)));
      const clamp = (v: number, max: number) => Math.max(0, Math.min(max, Math.round(v)));
      const bx = frameExpression(
        boxes.map((b) => clamp((b.x + pad.left) * qx, bw - cropW)),
        fps,
      );
      const by = frameExpression(
        boxes.map((b) => clamp((b.y + pad.top) * qy, bh - cropH)),
        fps,
      );
      const ox = frameExpression(
        boxes.map((b) => even(-b.x * fx)),
        fps,
      );
      const oy = frameExpression(
        boxes.map((b) => even(-b.y * fy)),
        fps,
      );
      return [
        `[${bg}]crop=w=${cropW}:h=${cropH}:x='${bx}':y='${by}':exact=1,scale=${size.width}:${size.height}[${out}b]`,
        `[${fg}]scale=${even(src.width * fx)}:${even(src.height * fy)}[${out}f]`,
        `[${out}b][${out}f]overlay=x='${ox}':y='${oy}',setsar=1[${out}]`,
      ];
    },
  };
}

/** A frame rate as FFmpeg wants it: integers exactly, NTSC rates as n/1001. */
function rateArg(fps: number): string {
  if (Math.abs(fps - Math.round(fps)) < 1e-3) return String(Math.round(fps));
  const ntsc = Math.round((fps * 1001) / 1000);
  if (Math.abs((ntsc * 1000) / 1001 - fps) < 1e-3) return `${ntsc * 1000}/1001`;
  return fps.toFixed(6);
}

/** The colour tags of the reel, carried to every output so players decode colours as the source. */
function colourArgs(info: VideoInfo): string[] {
  const args: string[] = [];
  if (info.colorSpace) args.push("-colorspace", info.colorSpace);
  if (info.colorPrimaries) args.push("-color_primaries", info.colorPrimaries);
  if (info.colorTransfer) args.push("-color_trc", info.colorTransfer);
  return args;
}

export interface PackGraph {
  /** The -filter_complex script. */
  graph: string;
  /** Per output: the rendered boxes and whether the largest-box fallback was used. */
  plans: Array<{ boxes: Box[]; largestBox: boolean; filled: boolean }>;
}

/** The whole filter graph: decode once, split per output, per output a canvas if needed, then its segments. */
export function packGraph(
  src: { width: number; height: number },
  outputs: VideoOutput[],
  fps: number,
  frames: number,
  opts: { convertRate?: boolean } = {},
): PackGraph {
  const lines: string[] = [];
  const plans: PackGraph["plans"] = [];
  const rate = rateArg(fps);
  // Timestamps n/fps from the first frame (the paths' expressions are of time); yuv420p before the
  // split, so every branch crops and scales the format x264 gets.
  const head = `${opts.convertRate ? `fps=${rate},` : ""}setpts=N/(${rate})/TB,format=yuv420p`;
  lines.push(`[0:v:0]${head}${outputs.length > 1 ? `,split=${outputs.length}${outputs.map((_, i) => `[in${i}]`).join("")}` : "[in0]"}`);
  outputs.forEach((out, i) => {
    // A path shorter than the reel holds its last box; a longer one is cut at the reel's end.
    const wanted = out.path.boxes.slice(0, frames);
    if (!wanted.length) throw new InputError(`${out.name}: the crop path has no boxes`);
    while (wanted.length < frames) wanted.push(wanted.at(-1)!);
    const { boxes, segments, largestBox } = segmentPath(wanted);
    const pad = overhang(boxes, src);
    const filled = pad.left + pad.top + pad.right + pad.bottom > 0;
    plans.push({ boxes, largestBox, filled });
    const trim = (seg: Segment, last: boolean) =>
      segments.length === 1 ? "" : `trim=start_frame=${seg.start}${last ? "" : `:end_frame=${seg.end}`},setpts=PTS-STARTPTS,`;
    // Each segment's stream: the whole branch when there is one, else a split of it, trimmed.
    const fork = (input: string, name: string): string[] => {
      if (segments.length === 1) return [`[${input}]null[${name}0]`];
      return [`[${input}]split=${segments.length}${segments.map((_, k) => `[${name}${k}]`).join("")}`];
    };
    if (filled && out.fill === "blur") {
      const blur = blurFill(`o${i}`, src, pad);
      lines.push(...blur.prepare(`in${i}`), ...fork(`o${i}fg`, `o${i}fg`), ...fork(`o${i}bg`, `o${i}bg`));
      segments.forEach((seg, k) => {
        const t = trim(seg, k === segments.length - 1);
        lines.push(`[o${i}fg${k}]${t}null[o${i}ft${k}]`, `[o${i}bg${k}]${t}null[o${i}bt${k}]`);
        lines.push(...blur.segment(`o${i}ft${k}`, `o${i}bt${k}`, `o${i}c${k}`, boxes.slice(seg.start, seg.end), seg, out, fps));
      });
    } else {
      let source = `in${i}`;
      if (filled) {
        lines.push(extendCanvas(source, `cv${i}`, src, pad));
        source = `cv${i}`;
      }
      lines.push(...fork(source, `o${i}s`));
      segments.forEach((seg, k) => {
        const segBoxes = boxes.slice(seg.start, seg.end);
        const x = frameExpression(
          segBoxes.map((b) => b.x + pad.left),
          fps,
        );
        const y = frameExpression(
          segBoxes.map((b) => b.y + pad.top),
          fps,
        );
        const t = trim(seg, k === segments.length - 1);
        lines.push(`[o${i}s${k}]${t}crop=w=${seg.width}:h=${seg.height}:x='${x}':y='${y}',scale=${out.width}:${out.height},setsar=1[o${i}c${k}]`);
      });
    }
    if (segments.length === 1) {
      lines.push(`[o${i}c0]null[out${i}]`);
      return;
    }
    // concat restarts each segment where the previous one ended; setpts makes the rate exact.
    lines.push(`${segments.map((_, k) => `[o${i}c${k}]`).join("")}concat=n=${segments.length}:v=1:a=0,setpts=N/(${rate})/TB[out${i}]`);
  });
  return { graph: `${lines.join(";\n")}\n`, plans };
}

/** One output's encoder arguments: H.264 yuv420p at the reel's rate, faststart (the benchmark's baseline uses them too). */
export function x264OutputArgs(enc: VideoEncoding & { fps: number }, info?: VideoInfo): string[] {
  return [
    "-an",
    "-c:v",
    "libx264",
    "-preset",
    enc.preset,
    "-crf",
    String(enc.crf),
    "-pix_fmt",
    "yuv420p",
    "-r",
    rateArg(enc.fps),
    ...(info ? colourArgs(info) : []),
    "-movflags",
    "+faststart",
  ];
}

/** The FFmpeg arguments of one pack run (exported for the benchmark, which runs them itself to measure memory). */
export function packArgs(reelFile: string, script: string, outputs: VideoOutput[], info: VideoInfo, enc: VideoEncoding & { fps: number }): string[] {
  const args = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", reelFile, "-filter_complex_script", script];
  outputs.forEach((out, i) => {
    args.push("-map", `[out${i}]`, ...x264OutputArgs(enc, info), out.file);
  });
  return args;
}

/** Renders every output from one decode of `reelFile`. */
export async function renderVideos(reelFile: string, outputs: VideoOutput[], enc: VideoEncoding): Promise<RenderedVideo[]> {
  if (!outputs.length) return [];
  const info = await probeVideo(reelFile, "reel");
  const fps = enc.fps ?? info.fps;
  const frames = Math.max(1, Math.round(info.packets ?? (info.duration ?? 0) * info.fps));
  const outFrames = enc.fps && Math.abs(enc.fps - info.fps) > 1e-3 ? Math.max(1, Math.round((frames * enc.fps) / info.fps)) : frames;
  // A changed rate is converted before the split, so the paths count output frames.
  const { graph, plans } = packGraph(info, outputs, fps, outFrames, { convertRate: outFrames !== frames });
  const dir = path.dirname(outputs[0]!.file);
  await mkdir(dir, { recursive: true });
  const script = path.join(dir, `pack-${process.pid}-${Date.now()}.filtergraph`);
  await writeFile(script, graph);
  try {
    const proc = spawnTool("ffmpeg", packArgs(reelFile, script, outputs, info, { ...enc, fps }));
    await proc.done;
  } finally {
    await rm(script, { force: true });
  }
  return Promise.all(
    outputs.map(async (out, i) => {
      const v = await probeVideo(out.file, out.name);
      const n = v.packets ?? outFrames;
      return {
        name: out.name,
        width: v.width,
        height: v.height,
        frames: n,
        fps,
        duration: Math.round((n / fps) * 1000) / 1000,
        boxes: plans[i]!.boxes.slice(0, n),
        filled: plans[i]!.filled,
        largestBox: plans[i]!.largestBox,
      };
    }),
  );
}
