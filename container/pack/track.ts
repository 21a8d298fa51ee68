/**
 * Where the subject is in every frame of a video (issue 20). One FFmpeg decode to small RGB frames
 * (ANALYSIS_SIZE on the long side); every frame's difference to the one before finds hard cuts, and
 * the subject's box (subject.ts) is taken on samples (SAMPLE_FPS, plus both sides of every cut
 * candidate and of the cuts the caller gives), scaled to source pixels and interpolated linearly to
 * every frame within its shot (never across a cut: the subject jumps there).
 *
 * The boxes are the raw measurements: smoothing is the path's (path.ts), which has to keep every
 * measured box inside the crop and so must see them unsmoothed.
 */
import type { Readable } from "node:stream";
import { spawnTool, stderrTail } from "../../common/ffmpeg.ts";
import { InputError } from "../errors.ts";
import { probeVideo } from "../probe.ts";
import { findSubject } from "./subject.ts";
import type { Box, SubjectTrack } from "./types.ts";

export interface TrackOptions {
  /** Where the caller knows shots meet, in seconds (the pack's `cuts`); merged with the cuts found. */
  cuts?: number[];
  /** Subject samples a second (default SAMPLE_FPS). */
  sampleFps?: number;
  signal?: AbortSignal;
}

/** The analysed frames' long side: a figure a fifth of the frame tall is still ~50 px. */
export const ANALYSIS_SIZE = 240;
export const SAMPLE_FPS = 12;
/** A frame differing from the one before by more than this (mean absolute, 0–255) may start a shot. */
const CUT_MIN_DIFF = 10;
/** ... and by this many times more than its neighbours' differences do (motion blur and pans differ steadily). */
const CUT_RATIO = 3;
/** Cuts closer than this (frames) are one: a flash frame is not two shots. */
const CUT_MIN_GAP = 3;
/** A cut the caller gives is matched to a found one this many frames away. */
const CUT_SNAP = 2;

/** Raw frames of `frameBytes` each from a stream. */
async function* rawFrames(stream: Readable, frameBytes: number): AsyncGenerator<Uint8Array> {
  let frame = new Uint8Array(frameBytes);
  let at = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(frameBytes - at, chunk.length - off);
      frame.set(chunk.subarray(off, off + n), at);
      at += n;
      off += n;
      if (at === frameBytes) {
        yield frame;
        frame = new Uint8Array(frameBytes);
        at = 0;
      }
    }
  }
}

/** Mean absolute difference of two frames over every 4th byte (enough to tell a cut from motion). */
function frameDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    s += Math.abs(a[i]! - b[i]!);
    n++;
  }
  return s / n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

/** Frames that start a shot, from each frame's difference to the one before (`diffs[0]` unused). */
export function findCuts(diffs: number[]): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < diffs.length; i++) {
    const d = diffs[i]!;
    if (d < CUT_MIN_DIFF) continue;
    const around = [];
    for (let j = Math.max(1, i - 6); j <= Math.min(diffs.length - 1, i + 6); j++) if (Math.abs(j - i) > 1) around.push(diffs[j]!);
    if (d < CUT_RATIO * Math.max(1, median(around))) continue;
    const last = cuts[cuts.length - 1];
    if (last !== undefined && i - last < CUT_MIN_GAP) {
      if (d > diffs[last]!) cuts[cuts.length - 1] = i;
      continue;
    }
    cuts.push(i);
  }
  return cuts;
}

/** The found cuts and the caller's (frame indices), a caller's cut next to a found one counted once. */
export function mergeCuts(found: number[], given: number[], frames: number): number[] {
  const all = [...found];
  for (const g of given) if (g > 0 && g < frames && !found.some((f) => Math.abs(f - g) <= CUT_SNAP)) all.push(g);
  return [...new Set(all)].sort((a, b) => a - b);
}

/** Linear between the samples of each shot, held before the first and after the last; null where a shot has none. */
export function interpolate(samples: Map<number, Box | null>, frames: number, cuts: number[]): (Box | null)[] {
  const out: (Box | null)[] = new Array(frames).fill(null);
  const bounds = [0, ...cuts, frames];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const start = bounds[s]!;
    const end = bounds[s + 1]!;
    const known: [number, Box][] = [];
    for (let i = start; i < end; i++) {
      const b = samples.get(i);
      if (b) known.push([i, b]);
    }
    if (!known.length) continue;
    let k = 0;
    for (let i = start; i < end; i++) {
      while (k + 1 < known.length && known[k + 1]![0] <= i) k++;
      const [ia, a] = known[k]!;
      const next = known[k + 1];
      if (i <= ia || !next) {
        out[i] = { ...a };
        continue;
      }
      const [ib, b] = next;
      const t = (i - ia) / (ib - ia);
      const lerp = (p: number, q: number) => p + (q - p) * t;
      out[i] = { x: lerp(a.x, b.x), y: lerp(a.y, b.y), width: lerp(a.width, b.width), height: lerp(a.height, b.height) };
    }
  }
  return out;
}

export async function trackSubject(file: string, opts: TrackOptions = {}): Promise<SubjectTrack> {
  const info = await probeVideo(file, "reel");
  const { width, height, fps } = info;
  const scale = ANALYSIS_SIZE / Math.max(width, height);
  const aw = Math.max(16, Math.round((width * scale) / 2) * 2);
  const ah = Math.max(16, Math.round((height * scale) / 2) * 2);
  const frameBytes = aw * ah * 3;
  const step = Math.max(1, Math.round(fps / (opts.sampleFps ?? SAMPLE_FPS)));
  const given = (opts.cuts ?? []).map((s) => Math.round(s * fps));
  const nearGiven = new Set(given.flatMap((g) => [g - 1, g]));

  const proc = spawnTool("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-nostdin", "-threads", "1", "-i", file, "-map", "0:v:0", "-an", "-sn", "-dn"],
    // Area averaging: each analysed pixel is the mean of the source pixels it covers (no aliasing of grain).
    ...["-vf", `scale=${aw}:${ah}:flags=area`, "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"],
  ]);
  const onAbort = () => proc.kill();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const sx = width / aw;
  const sy = height / ah;
  const toSource = (b: Box | null): Box | null => b && { x: b.x * sx, y: b.y * sy, width: b.width * sx, height: b.height * sy };
  const samples = new Map<number, Box | null>();
  const measure = (i: number, data: Uint8Array) => {
    if (!samples.has(i)) samples.set(i, toSource(findSubject({ data, width: aw, height: ah })));
  };
  const diffs: number[] = [0];
  let prev: Uint8Array | undefined;
  let i = 0;
  try {
    for await (const frame of rawFrames(proc.child.stdout as Readable, frameBytes)) {
      if (prev) diffs.push(frameDiff(prev, frame));
      const candidate = i > 0 && diffs[i]! >= CUT_MIN_DIFF;
      if (candidate && prev) measure(i - 1, prev);
      if (i % step === 0 || candidate || nearGiven.has(i)) measure(i, frame);
      prev = frame;
      i++;
    }
    await proc.done;
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new InputError(`The reel could not be decoded (${stderrTail(proc.stderr(), 2) || String(err)}); re-upload or restitch it`);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
  if (i === 0 || !prev) throw new InputError("The reel has no decodable video frames; re-upload or restitch it");
  measure(i - 1, prev);
  const cuts = mergeCuts(findCuts(diffs), given, i);
  // A given cut that no difference confirmed still needs both sides measured; those frames were sampled.
  return { width, height, fps, boxes: interpolate(samples, i, cuts), cuts };
}
