/**
 * The reel (SPEC stage 5): each clip is speed-curved to a fixed length with an easing, and the clips
 * are joined by cuts, crossfades or fades through black into one H.264 MP4.
 *
 * Process design (the predecessor ran one ffmpeg per output frame, 456 processes for a default reel):
 * - each clip is decoded ONCE by one ffmpeg that writes raw yuv420p frames, already scaled/padded to
 *   the reel size, to its stdout;
 * - the reel is encoded ONCE by one ffmpeg reading raw yuv420p from its stdin;
 * - Node sits in between and picks, for output frame k of a clip, the decoded frame
 *   `sourceFrameIndices(...)[k]` (the nearest frame to ease(k/(n-1)) * duration). Frames live in
 *   memory only while a later output still needs them, so a monotonic curve holds one frame and an
 *   oscillating one (elastic, bounce) only the frames it will revisit. Writes respect the
 *   encoder's backpressure, and transitions blend yuv buffers in JS.
 *
 * Frame counts: the frame picks depend on how many frames the clip really decodes, which container
 * metadata does not always tell (edit lists, truncated files). We start from the demuxed packet count
 * and count the frames actually decoded; if they differ, the run is discarded and redone with the
 * counted number, so every reel is exact and the normal case still decodes each clip once.
 */
import path from "node:path";
import type { Readable } from "node:stream";
import sharp from "sharp";
import { resolveEasing, sourceFrameIndices, type EasingFn } from "../common/easing.ts";
import { StitchJobParamsSchema, type StitchOptions } from "../src/domain/stitch.ts";
import { InputError } from "./errors.ts";
import { spawnTool, stderrTail, type Spawned } from "../common/ffmpeg.ts";
import { ffmpegVersion } from "./ffmpeg.ts";
import { probeVideo, type VideoInfo } from "./probe.ts";

/** A stitch job's defaults, as the shared schema (src/domain/stitch.ts) fills them in. */
export const STITCH_DEFAULTS: StitchOptions = StitchJobParamsSchema.parse({});

export interface ClipInput {
  name: string;
  path: string;
}

export interface StitchResult {
  reel: { path: string; width: number; height: number; frames: number; fps: number; duration: number };
  poster: { path: string; width: number; height: number };
  /** Per clip: what was decoded and which source frames the reel shows. */
  clips: Array<{ name: string; width: number; height: number; sourceFrames: number; sourceFps: number }>;
  framesPerClip: number;
  transitionFrames: number;
}

/** Frames per clip after the curve: n = round(clipSeconds * fps). */
export function framesPerClip(clipSeconds: number, fps: number): number {
  return Math.max(2, Math.round(clipSeconds * fps));
}

/** Frames shared by two clips during a crossfade / fade through black (0 for cuts). */
export function transitionFrames(opts: Pick<StitchOptions, "transition" | "transitionSeconds" | "clipSeconds" | "fps">): number {
  if (opts.transition === "cut") return 0;
  const n = framesPerClip(opts.clipSeconds, opts.fps);
  return Math.min(Math.floor(n / 2), Math.max(1, Math.round(opts.transitionSeconds * opts.fps)));
}

/** Total reel frames: clips overlap by the transition, so N·n − (N−1)·T. */
export function reelFrameCount(clips: number, opts: Pick<StitchOptions, "transition" | "transitionSeconds" | "clipSeconds" | "fps">): number {
  return clips * framesPerClip(opts.clipSeconds, opts.fps) - (clips - 1) * transitionFrames(opts);
}

const even = (x: number) => Math.max(2, Math.floor(x / 2) * 2);

/**
 * Reel size rule: the size of the largest clip (by area; the first wins ties), rounded down to even
 * numbers for yuv420p. Other clips are scaled to fit inside it, keeping their aspect ratio, and
 * centred on black.
 */
export function reelSize(clips: Array<{ width: number; height: number }>): { width: number; height: number } {
  let best = clips[0]!;
  for (const c of clips) if (c.width * c.height > best.width * best.height) best = c;
  return { width: even(best.width), height: even(best.height) };
}

function scaleFilter(src: { width: number; height: number }, dst: { width: number; height: number }): string[] {
  if (src.width === dst.width && src.height === dst.height) return [];
  const s = Math.min(dst.width / src.width, dst.height / src.height);
  const w = Math.min(dst.width, even(Math.round(src.width * s)));
  const h = Math.min(dst.height, even(Math.round(src.height * s)));
  const filters = [`scale=${w}:${h}:flags=lanczos`];
  if (w !== dst.width || h !== dst.height) {
    // Even offsets keep the chroma planes aligned with the luma in yuv420p.
    const x = Math.floor((dst.width - w) / 4) * 2;
    const y = Math.floor((dst.height - h) / 4) * 2;
    filters.push(`pad=${dst.width}:${dst.height}:${x}:${y}:black`);
  }
  filters.push("setsar=1");
  return ["-vf", filters.join(",")];
}

let passthroughArgs: Promise<string[]> | undefined;

/** Keep every decoded frame exactly once: `-fps_mode` on FFmpeg ≥ 5, `-vsync 0` on the 4.1 fallback. */
function passthrough(): Promise<string[]> {
  passthroughArgs ??= ffmpegVersion()
    .then((line) => {
      const major = Number(/version (\d+)\./.exec(line)?.[1] ?? 0);
      return major >= 5 ? ["-fps_mode", "passthrough"] : ["-vsync", "0"];
    })
    .catch(() => ["-vsync", "0"]);
  return passthroughArgs;
}

/** Thrown when a clip decodes to a different number of frames than its metadata promised. */
class FrameCountMismatch extends Error {
  readonly clip: string;
  readonly decoded: number;
  constructor(clip: string, expected: number, decoded: number) {
    super(`${clip}: expected ${expected} frames, decoded ${decoded}`);
    this.clip = clip;
    this.decoded = decoded;
  }
}

/**
 * Reusable frame buffers. Frames are megabytes each and a reel passes hundreds through Node; fresh
 * buffers for each cost more CPU in page faults and garbage collection than the copying itself.
 */
class FramePool {
  private readonly free: Buffer[] = [];
  readonly size: number;
  constructor(size: number) {
    this.size = size;
  }
  acquire(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }
  release(frame: Buffer): void {
    this.free.push(frame);
  }
}

/** Splits a raw video byte stream into pooled frames, pulling (so backpressure holds). */
async function* rawFrames(stream: Readable, pool: FramePool): AsyncGenerator<Buffer> {
  let frame = pool.acquire();
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(pool.size - filled, chunk.length - off);
      chunk.copy(frame, filled, off, off + n);
      filled += n;
      off += n;
      if (filled === pool.size) {
        yield frame;
        frame = pool.acquire();
        filled = 0;
      }
    }
  }
  pool.release(frame);
}

interface Clip {
  name: string;
  path: string;
  info: VideoInfo;
}

interface Decoder {
  proc: Spawned;
  /**
   * Output frames of this clip, in order; throws FrameCountMismatch / InputError at the end. A
   * yielded frame is the caller's until it asks for the next one; then it may go back to the pool.
   */
  outputs: AsyncGenerator<Buffer, void, void>;
}

async function startDecoder(clip: Clip, size: { width: number; height: number }, pool: FramePool, indices: number[], expected: number): Promise<Decoder> {
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    // One thread decodes several times faster than the encoder consumes; frame threads would only
    // take CPU and memory from the encoder, which is the bottleneck.
    "-threads",
    "1",
    "-i",
    clip.path,
    "-map",
    "0:v:0",
    "-an",
    "-sn",
    "-dn",
    ...(await passthrough()),
    ...scaleFilter(clip.info, size),
    "-pix_fmt",
    "yuv420p",
    "-f",
    "rawvideo",
    "pipe:1",
  ];
  const proc = spawnTool("ffmpeg", args);
  // When a child exits, Node resumes its stdout (child_process flushStdio), and with nobody reading
  // yet a short clip, decoded in full before we got to it, would drain away unread. A 'readable'
  // listener keeps the stream paused until we pull.
  const stdout = proc.child.stdout as Readable;
  stdout.on("readable", () => {});

  // For each source frame, the last output that shows it: frames are dropped right after that.
  const lastUse = new Map<number, number>();
  indices.forEach((idx, k) => {
    lastUse.set(idx, k);
  });

  async function* outputs(): AsyncGenerator<Buffer, void, void> {
    const held = new Map<number, Buffer>();
    let k = 0;
    let decoded = 0;
    for await (const frame of rawFrames(stdout, pool)) {
      const j = decoded++;
      if (lastUse.has(j)) held.set(j, frame);
      else pool.release(frame); // never shown
      while (k < indices.length && indices[k]! <= j) {
        const idx = indices[k]!;
        const f = held.get(idx);
        if (!f) break; // cannot happen: every index <= j was decoded and is held until its last use
        yield f;
        if (lastUse.get(idx) === k) {
          held.delete(idx);
          pool.release(f);
        }
        k++;
      }
    }
    try {
      await proc.done;
    } catch {
      throw new InputError(`${clip.name} could not be decoded (${stderrTail(proc.stderr(), 2) || "ffmpeg failed"}); regenerate or re-upload the clip`);
    }
    if (decoded === 0) throw new InputError(`${clip.name} has no decodable video frames; regenerate or re-upload the clip`);
    if (decoded !== expected) throw new FrameCountMismatch(clip.name, expected, decoded);
  }
  return { proc, outputs: outputs() };
}

/** Weighted mix of two yuv420p frames into `out` (all planes: chroma is offset binary, so a lerp is right). */
function mix(a: Buffer, b: Buffer, weightB: number, out: Buffer): Buffer {
  const wb = Math.round(weightB * 256);
  const wa = 256 - wb;
  for (let i = 0; i < a.length; i++) out[i] = (a[i]! * wa + b[i]! * wb + 128) >> 8;
  return out;
}

/** yuv420p black in TV range: Y 16, U/V 128. */
function blackFrame(size: { width: number; height: number }): Buffer {
  const luma = size.width * size.height;
  const out = Buffer.alloc((luma * 3) / 2, 128);
  out.fill(16, 0, luma);
  return out;
}

/** yuv420p (TV range) to an RGB JPEG, so the poster needs no extra ffmpeg process. */
async function writePoster(frame: Buffer, size: { width: number; height: number }, bt709: boolean, file: string): Promise<void> {
  const { width: w, height: h } = size;
  const rgb = Buffer.allocUnsafe(w * h * 3);
  const uOff = w * h;
  const vOff = uOff + (w / 2) * (h / 2);
  const [kr, kgu, kgv, kb] = bt709 ? [1.5748, 0.1873, 0.4681, 1.8556] : [1.402, 0.344136, 0.714136, 1.772];
  const ys = 255 / 219;
  const cs = 255 / 224;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = (y >> 1) * (w >> 1) + (x >> 1);
      const Y = (frame[y * w + x]! - 16) * ys;
      const U = (frame[uOff + c]! - 128) * cs;
      const V = (frame[vOff + c]! - 128) * cs;
      const i = (y * w + x) * 3;
      rgb[i] = Math.max(0, Math.min(255, Math.round(Y + kr * V)));
      rgb[i + 1] = Math.max(0, Math.min(255, Math.round(Y - kgu * U - kgv * V)));
      rgb[i + 2] = Math.max(0, Math.min(255, Math.round(Y + kb * U)));
    }
  }
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 90, mozjpeg: true })
    .toFile(file);
}

/** The colour tags all clips agree on, carried to the reel so players decode colours as the source. */
function colourArgs(clips: Clip[]): string[] {
  const pick = (key: "colorSpace" | "colorPrimaries" | "colorTransfer") => {
    const v = clips[0]!.info[key];
    return v && clips.every((c) => c.info[key] === v) ? v : undefined;
  };
  const args: string[] = [];
  const space = pick("colorSpace");
  const prim = pick("colorPrimaries");
  const trc = pick("colorTransfer");
  if (space) args.push("-colorspace", space);
  if (prim) args.push("-color_primaries", prim);
  if (trc) args.push("-color_trc", trc);
  return args;
}

/** Output frames before the end of a clip at which the next clip's decoder starts. */
const NEXT_DECODER_LEAD = 12;

interface RunPlan {
  clips: Clip[];
  size: { width: number; height: number };
  counts: Map<string, number>;
  ease: EasingFn;
  opts: StitchOptions;
  reelPath: string;
}

/** One attempt: decode, pick, blend, encode. Returns the poster frame. */
async function runOnce(plan: RunPlan): Promise<{ frames: number; poster: Buffer }> {
  const { clips, size, counts, ease, opts } = plan;
  const n = framesPerClip(opts.clipSeconds, opts.fps);
  const T = transitionFrames(opts);
  const total = clips.length * n - (clips.length - 1) * T;
  const posterAt = Math.floor(total / 2);

  const encoder = spawnTool(
    "ffmpeg",
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "yuv420p",
      "-s",
      `${size.width}x${size.height}`,
      "-framerate",
      String(opts.fps),
      "-i",
      "pipe:0",
      "-an",
      "-c:v",
      "libx264",
      "-preset",
      opts.preset,
      "-crf",
      String(opts.crf), // constant quality only: the predecessor also passed -b:v, which fights CRF
      "-pix_fmt",
      "yuv420p",
      ...colourArgs(clips),
      "-movflags",
      "+faststart",
      "-y",
      plan.reelPath,
    ],
    "pipe",
  );
  const stdin = encoder.child.stdin!;
  const pool = new FramePool((size.width * size.height * 3) / 2);
  const decoders: Decoder[] = [];
  const decoderFor = new Map<number, Promise<Decoder>>();
  const getDecoder = (i: number): Promise<Decoder> => {
    let d = decoderFor.get(i);
    if (!d) {
      const clip = clips[i]!;
      const count = counts.get(clip.name)!;
      const indices = sourceFrameIndices({ easing: ease, outFrames: n, sourceFrames: count, sourceFps: clip.info.fps });
      d = startDecoder(clip, size, pool, indices, count).then((dec) => {
        decoders.push(dec);
        return dec;
      });
      decoderFor.set(i, d);
    }
    return d;
  };

  let written = 0;
  let poster: Buffer | undefined;
  const encoderGone = encoder.done.then(
    () => {
      throw new Error("the encoder exited before the reel was complete");
    },
    (err: unknown) => {
      throw new Error(`the encoder failed: ${err instanceof Error ? err.message : String(err)}`);
    },
  );
  encoderGone.catch(() => {});
  // Resolves once the pipe has taken the whole frame, so its buffer can go back to the pool. A
  // broken pipe never resolves: the encoder has died, and encoderGone says how.
  const write = async (frame: Buffer) => {
    if (written === posterAt) poster = Buffer.from(frame);
    written++;
    const flushed = new Promise<void>((resolve) => {
      stdin.write(frame, (err) => {
        if (!err) resolve();
      });
    });
    await Promise.race([flushed, encoderGone]);
  };
  const writeMix = async (a: Buffer, b: Buffer, weightB: number) => {
    const out = mix(a, b, weightB, pool.acquire());
    await write(out);
    pool.release(out);
  };
  const next = async (dec: Decoder, clip: Clip): Promise<Buffer> => {
    const r = await dec.outputs.next();
    if (r.done) throw new Error(`${clip.name} ended before its frames were all picked`); // mismatch is thrown first
    return r.value;
  };

  try {
    const black = opts.transition === "fadeblack" ? blackFrame(size) : undefined;
    for (let i = 0; i < clips.length; i++) {
      const dec = await getDecoder(i);
      const from = i > 0 ? T : 0; // the first T frames were used by the transition into this clip
      const to = i < clips.length - 1 ? n - T : n;
      // Start the next decoder a few frames before it is needed, so the encoder never waits for
      // it, but not earlier: each running decoder holds tens of MB.
      const startNextAt = Math.max(from, to - NEXT_DECODER_LEAD);
      for (let k = from; k < to; k++) {
        if (k === startNextAt && i + 1 < clips.length) void getDecoder(i + 1).catch(() => {});
        await write(await next(dec, clips[i]!));
      }
      if (i < clips.length - 1 && T > 0) {
        const nextDec = await getDecoder(i + 1);
        for (let j = 0; j < T; j++) {
          const a = await next(dec, clips[i]!);
          const b = await next(nextDec, clips[i + 1]!);
          const p = (j + 1) / (T + 1);
          if (black) await (p < 0.5 ? writeMix(a, black, 2 * p) : writeMix(black, b, 2 * p - 1));
          else await writeMix(a, b, p);
        }
      }
      // Read the clip to its end: this counts the decoded frames and surfaces decode errors.
      const rest = await dec.outputs.next();
      if (!rest.done) throw new Error(`${clips[i]!.name} produced more output frames than planned`);
    }
    stdin.end();
    await encoder.done.catch((err: unknown) => {
      throw new Error(`the encoder failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  } finally {
    encoder.kill();
    for (const d of decoders) d.proc.kill();
    // Decoders still being started when we bailed out must not be left running.
    for (const d of decoderFor.values())
      void d.then(
        (dec) => dec.proc.kill(),
        () => {},
      );
  }
  if (written !== total || !poster) throw new Error(`wrote ${written} frames, expected ${total}`);
  return { frames: written, poster };
}

export async function stitchClips(inputs: ClipInput[], outDir: string, options: Partial<StitchOptions> = {}): Promise<StitchResult> {
  const opts: StitchOptions = { ...STITCH_DEFAULTS, ...options };
  if (inputs.length === 0) throw new InputError("stitch needs at least one clip");
  let ease: EasingFn;
  try {
    ease = resolveEasing(opts.easing);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const clips: Clip[] = await Promise.all(inputs.map(async (c) => ({ ...c, info: await probeVideo(c.path, c.name) })));
  const size = reelSize(clips.map((c) => c.info));
  const counts = new Map<string, number>();
  for (const c of clips) {
    counts.set(c.name, c.info.packets ?? Math.max(1, Math.round((c.info.duration ?? 1) * c.info.fps)));
  }
  const reelPath = path.join(outDir, "reel.mp4");
  const posterPath = path.join(outDir, "poster.jpg");

  let outcome: { frames: number; poster: Buffer } | undefined;
  for (let attempt = 1; !outcome; attempt++) {
    try {
      outcome = await runOnce({ clips, size, counts, ease, opts, reelPath });
    } catch (err) {
      // Metadata disagreed with the decoder: redo with the counted frames (each clip fixes itself
      // after one retry, so at most one more attempt per clip is ever needed).
      if (!(err instanceof FrameCountMismatch) || attempt > clips.length) throw err;
      counts.set(err.clip, err.decoded);
    }
  }

  const bt709 = clips[0]!.info.colorSpace ? clips[0]!.info.colorSpace === "bt709" : size.height >= 720;
  await writePoster(outcome.poster, size, bt709, posterPath);
  return {
    reel: {
      path: reelPath,
      ...size,
      frames: outcome.frames,
      fps: opts.fps,
      duration: Math.round((outcome.frames / opts.fps) * 1000) / 1000,
    },
    poster: { path: posterPath, ...size },
    clips: clips.map((c) => ({ name: c.name, width: c.info.width, height: c.info.height, sourceFrames: counts.get(c.name)!, sourceFps: c.info.fps })),
    framesPerClip: framesPerClip(opts.clipSeconds, opts.fps),
    transitionFrames: transitionFrames(opts),
  };
}
