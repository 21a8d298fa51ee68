/**
 * Clip checks (issue 19): every frame of the clip decoded once by FFmpeg straight to a thumbnail
 * (64 px wide, in CIELAB; stability halves it to 32), then
 * - stability: how far each frame strays off the way from the clip's first frame to its last. For a
 *   frame F between first frame S and last frame E, per pixel d(F,S) + d(F,E) − d(S,E) is zero for
 *   any blend of the two (a dissolve) and grows with whatever is in neither (a face morphing into
 *   another, a garment turning into something else). Each pixel takes the best of S and E within two
 *   pixels (6 % of the width) of it, so a person turning or walking, whose pixels S or E shows a
 *   little way off, does not stray; what is new does. It is averaged over the quarter of the picture
 *   where it is largest and smoothed over a few frames, so one noisy frame does not flag. Also a
 *   sudden change (one step between neighbours far beyond the clip's usual step) and a first frame
 *   away from the start still.
 * - end: the last frame against the end still it should land on (64 px), at the best alignment within
 *   a small shift and zoom to half a pixel (a provider's clip may crop or drift slightly), as ΔE00
 *   over the quarter of the picture that differs most.
 *
 * What it can tell: content that appears mid-way and is in neither end frame, jumps, and an ending
 * elsewhere (a figure moved a fifth of the width, or zoomed). What it cannot: a change small at 32 px
 * (a face alone changing in a full-length shot), a morph between two pictures that share their
 * colours and layout, or an ending on the same pose a moment later.
 */
import type { Finding } from "../../src/domain/findings.ts";
import { runTool } from "../../common/ffmpeg.ts";
import { InputError, errorMessage } from "../errors.ts";
import { openImage } from "../image-limits.ts";
import { deltaE00, rgbBufferToLab } from "../../common/colour.ts";
import * as P from "./params.ts";

export interface ClipFrames {
  width: number;
  height: number;
  fps: number;
  /** Lab thumbnails, one a frame. */
  frames: Float32Array[];
}

/**
 * Decodes every frame of a clip to a Lab thumbnail: one FFmpeg run (no ffprobe: starting either
 * costs more than decoding a short clip), scaled in its filter graph, written as PPM images whose
 * headers carry the size; the frame rate comes from FFmpeg's description of the input.
 */
export async function clipThumbnails(file: string, label: string, width = P.CLIP_END_WIDTH): Promise<ClipFrames> {
  let raw: Buffer;
  let stderr: string;
  try {
    ({ stdout: raw, stderr } = await runTool(
      "ffmpeg",
      [
        "-hide_banner",
        "-nostats",
        "-nostdin",
        "-v",
        "info",
        "-threads",
        "1",
        "-i",
        file,
        "-an",
        "-vf",
        `scale=${width}:-2:flags=area`,
        "-f",
        "image2pipe",
        "-c:v",
        "ppm",
        "-",
      ],
      { timeoutMs: 300_000, maxStdoutBytes: 512 * 1024 * 1024 },
    ));
  } catch (err) {
    throw new InputError(`${label} could not be decoded (${errorMessage(err).replace(/^ffmpeg exited with code \d+: /, "")}); regenerate it`);
  }
  const frames: Float32Array[] = [];
  let w = 0;
  let h = 0;
  let at = 0;
  while (at < raw.length) {
    // "P6\n<w> <h>\n255\n" then w·h·3 bytes.
    const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(raw.subarray(at, at + 32).toString("latin1"));
    if (!header) break;
    w = Number(header[1]);
    h = Number(header[2]);
    const start = at + header[0].length;
    const size = w * h * 3;
    if (start + size > raw.length) break;
    frames.push(rgbBufferToLab(raw.subarray(start, start + size)));
    at = start + size;
  }
  if (frames.length < 2) throw new InputError(`${label} has fewer than two frames; regenerate it`);
  const fps = Number(/Video:.*?, ([\d.]+) fps/.exec(stderr)?.[1] ?? /Video:.*?, ([\d.]+) tbr/.exec(stderr)?.[1] ?? 24);
  return { width: w, height: h, fps: fps > 0 ? fps : 24, frames };
}

/** The clip at half the size (2×2 means of its Lab thumbnails): stability is measured on the smaller one. */
export function halveFrames(c: ClipFrames): ClipFrames {
  const w = Math.floor(c.width / 2);
  const h = Math.floor(c.height / 2);
  const frames = c.frames.map((f) => {
    const out = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (2 * y * c.width + 2 * x) * 3;
        const j = i + c.width * 3;
        for (let k = 0; k < 3; k++) out[(y * w + x) * 3 + k] = (f[i + k]! + f[i + 3 + k]! + f[j + k]! + f[j + 3 + k]!) / 4;
      }
    }
    return out;
  });
  return { width: w, height: h, fps: c.fps, frames };
}

/** A still as a Lab thumbnail of the clip's shape (cropped to its aspect from the centre, like `cover`). */
export async function stillThumbnail(file: string, label: string, width: number, height: number): Promise<Float32Array> {
  try {
    const data = await openImage(file).rotate().flatten({ background: "#ffffff" }).resize(width, height, { fit: "cover" }).removeAlpha().raw().toBuffer();
    return rgbBufferToLab(data);
  } catch (err) {
    throw new InputError(`${label} is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
  }
}

/** Mean Lab (Euclidean) distance between two thumbnails. */
export function meanDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const n = a.length / 3;
  for (let i = 0; i < a.length; i += 3) sum += Math.hypot(a[i]! - b[i]!, a[i + 1]! - b[i + 1]!, a[i + 2]! - b[i + 2]!);
  return sum / n;
}

const r2 = (v: number) => Number(v.toFixed(2));
const t2 = (v: number) => Number(Math.max(0, v).toFixed(2));

/**
 * How far a frame is off the way between two others: per pixel, d(F,S) + d(F,E) − d(S,E) (zero for
 * any blend of S and E; `gap` is d(S,E) per pixel), at the best of the pixels within `STRAY_REACH` of it (zero too where F
 * shows what S or E shows a little way off: a person turning or walking, footage moving), averaged
 * over the quarter of the picture where it is largest, so a face or a garment turning into something
 * new counts fully and is not averaged away by a still backdrop.
 */
export function strayOf(f: Float32Array, s: Float32Array, e: Float32Array, gap: Float64Array, w: number, h: number): number {
  const n = w * h;
  const excess = new Float64Array(n);
  const r = P.STRAY_REACH;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const j = (y * w + x) * 3;
      let best = Infinity;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r) && best > 0; yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
          const q = yy * w + xx;
          const k = q * 3;
          const fs = Math.hypot(f[j]! - s[k]!, f[j + 1]! - s[k + 1]!, f[j + 2]! - s[k + 2]!);
          const fe = Math.hypot(f[j]! - e[k]!, f[j + 1]! - e[k + 1]!, f[j + 2]! - e[k + 2]!);
          const d = fs + fe - gap[q]!;
          if (d < best) best = d;
        }
      }
      excess[y * w + x] = best;
    }
  }
  excess.sort();
  let sum = 0;
  const from = Math.floor(n * 0.75);
  for (let i = from; i < n; i++) sum += excess[i]!;
  return sum / (n - from);
}

export interface Stability {
  /** Worst smoothed stray and where. */
  stray: number;
  strayAt: [number, number];
  /** Largest step between neighbours beyond the clip's median step, and where. */
  jump: number;
  jumpAt: number;
}

export function measureStability(c: ClipFrames): Stability {
  const { frames } = c;
  const n = frames.length;
  const s = frames[0]!;
  const e = frames[n - 1]!;
  // d(S,E) per pixel, the same for every frame.
  const gap = new Float64Array(c.width * c.height);
  for (let k = 0; k < gap.length; k++) gap[k] = Math.hypot(s[k * 3]! - e[k * 3]!, s[k * 3 + 1]! - e[k * 3 + 1]!, s[k * 3 + 2]! - e[k * 3 + 2]!);
  const stray = frames.map((f) => strayOf(f, s, e, gap, c.width, c.height));
  const half = Math.floor(P.STRAY_WINDOW / 2);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let k = 0;
    for (let j = Math.max(0, i - half); j <= Math.min(n - 1, i + half); j++) {
      sum += stray[j]!;
      k++;
    }
    if (sum / k > worst) {
      worst = sum / k;
      at = i;
    }
  }
  // The stretch around the worst frame that strays at least half as far.
  let from = at;
  let to = at;
  while (from > 0 && stray[from - 1]! >= worst / 2) from--;
  while (to < n - 1 && stray[to + 1]! >= worst / 2) to++;
  const steps = frames.slice(1).map((f, i) => meanDistance(f, frames[i]!));
  const sorted = [...steps].sort((a, b) => a - b);
  const usual = sorted[Math.floor(sorted.length / 2)] ?? 0;
  let jump = 0;
  let jumpAt = 0;
  steps.forEach((d, i) => {
    if (d - usual > jump) {
      jump = d - usual;
      jumpAt = i + 1;
    }
  });
  return { stray: worst, strayAt: [from, to], jump, jumpAt };
}

/** A 3×3 box blur of a packed Lab thumbnail. */
function soften(img: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(img.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        let n = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            sum += img[(yy * w + xx) * 3 + c]!;
            n++;
          }
        }
        out[(y * w + x) * 3 + c] = sum / n;
      }
    }
  }
  return out;
}

/**
 * The last frame against the end still, at the best shift (±12 % of the width) and zoom (0.88–1.12): the
 * mean ΔE00 of the worst quarter of the picture (inside a 10 % border), so a figure that ended
 * elsewhere on a plain backdrop counts fully and is not averaged away by the backdrop around it.
 */
export function measureEnd(lastFrame: Float32Array, endStill: Float32Array, w: number, h: number): number {
  // Both softened a little (3×3): FFmpeg's and sharp's reductions differ at sharp edges.
  const last = soften(lastFrame, w, h);
  const end = soften(endStill, w, h);
  const mx = Math.round(w * 0.1);
  const my = Math.round(h * 0.1);
  const count = (w - 2 * mx) * (h - 2 * my);
  const diffs = new Float64Array(count);
  const px = new Float64Array(3);
  const sample = (x: number, y: number) => {
    const cx = Math.min(w - 1.001, Math.max(0, x));
    const cy = Math.min(h - 1.001, Math.max(0, y));
    const ix = Math.floor(cx);
    const iy = Math.floor(cy);
    const tx = cx - ix;
    const ty = cy - iy;
    const i00 = (iy * w + ix) * 3;
    const i10 = i00 + 3;
    const i01 = i00 + w * 3;
    const i11 = i01 + 3;
    for (let c = 0; c < 3; c++) {
      px[c] = (end[i00 + c]! * (1 - tx) + end[i10 + c]! * tx) * (1 - ty) + (end[i01 + c]! * (1 - tx) + end[i11 + c]! * tx) * ty;
    }
  };
  const fill = (zoom: number, dx: number, dy: number, exact: boolean) => {
    let k = 0;
    for (let y = my; y < h - my; y++) {
      for (let x = mx; x < w - mx; x++) {
        sample((x - w / 2) / zoom + w / 2 + dx, (y - h / 2) / zoom + h / 2 + dy);
        const i = (y * w + x) * 3;
        diffs[k++] = exact
          ? deltaE00(last[i]!, last[i + 1]!, last[i + 2]!, px[0]!, px[1]!, px[2]!)
          : Math.hypot(last[i]! - px[0]!, last[i + 1]! - px[1]!, last[i + 2]! - px[2]!);
      }
    }
  };
  const worstQuarter = () => {
    const sorted = diffs.slice().sort();
    let sum = 0;
    const from = Math.floor(count * 0.75);
    for (let i = from; i < count; i++) sum += sorted[i]!;
    return sum / (count - from);
  };
  const score = (zoom: number, dx: number, dy: number) => {
    fill(zoom, dx, dy, false);
    let sum = 0;
    for (let i = 0; i < count; i++) sum += diffs[i]!;
    return sum / count;
  };
  // Coarse: every other pixel of shift, zoom in steps of 4 %.
  let best = { d: Infinity, zoom: 1, dx: 0, dy: 0 };
  const reach = Math.max(3, Math.round(w * P.CLIP_END_SHIFT));
  for (const zoom of P.CLIP_END_ZOOMS) {
    for (let dy = -reach; dy <= reach; dy += 2) {
      for (let dx = -reach; dx <= reach; dx += 2) {
        const d = score(zoom, dx, dy);
        if (d < best.d) best = { d, zoom, dx, dy };
      }
    }
  }
  // Then the neighbours of the best (a pixel and 2 % of zoom), and half a pixel and 1 % around that:
  // a half-pixel misalignment of a detailed picture alone costs several ΔE00 in its worst quarter.
  const refine = (step: number, zoomStep: number) => {
    const c = { ...best };
    for (const zoom of [c.zoom / zoomStep, c.zoom, c.zoom * zoomStep]) {
      for (const dy of [c.dy - step, c.dy, c.dy + step]) {
        for (const dx of [c.dx - step, c.dx, c.dx + step]) {
          const d = score(zoom, dx, dy);
          if (d < best.d) best = { d, zoom, dx, dy };
        }
      }
    }
  };
  refine(1, 1.02);
  refine(0.5, 1.01);
  fill(best.zoom, best.dx, best.dy, true);
  return worstQuarter();
}

export interface ClipStills {
  start: { name: string; file: string };
  end: { name: string; file: string };
}

/**
 * Stability and end findings of one clip. Stability is measured between the clip's own first and
 * last frames (an ending elsewhere is the end check's to flag, not counted twice); a first frame
 * away from the start still is a sudden change at 0 s (the reel will jump into the clip).
 */
export async function checkClip(name: string, file: string, stills: ClipStills, findings: Finding[]): Promise<void> {
  const clip = await clipThumbnails(file, `clip "${name}"`);
  const endName = stills.end.name;
  const [start, end] = await Promise.all([
    stillThumbnail(stills.start.file, `start frame "${stills.start.name}"`, clip.width, clip.height),
    stillThumbnail(stills.end.file, `end frame "${endName}"`, clip.width, clip.height),
  ]);
  const at = (i: number) => i / clip.fps;
  const startDe = measureEnd(clip.frames[0]!, start, clip.width, clip.height);
  if (startDe > P.CLIP_END_DELTA_E) {
    findings.push({
      asset: name,
      check: "clip-stability",
      verdict: "flag",
      score: r2(startDe),
      threshold: P.CLIP_END_DELTA_E,
      timeRange: { from: 0, to: t2(at(1)) },
      reason: `the clip does not start from its start frame "${stills.start.name}": its first frame is ΔE00 ${startDe.toFixed(0)} from it (threshold ${P.CLIP_END_DELTA_E})`,
    });
  }
  const st = measureStability(halveFrames(clip));
  const strayRatio = st.stray / P.CLIP_STRAY;
  const jumpRatio = st.jump / P.CLIP_JUMP;
  if (jumpRatio > 1 && jumpRatio >= strayRatio) {
    findings.push({
      asset: name,
      check: "clip-stability",
      verdict: "flag",
      score: r2(st.jump),
      threshold: P.CLIP_JUMP,
      timeRange: { from: t2(at(st.jumpAt - 1)), to: t2(at(st.jumpAt)) },
      reason: `the clip changes suddenly at ${at(st.jumpAt).toFixed(2)} s: one frame to the next moves ΔE ${st.jump.toFixed(0)} more than its usual step (threshold ${P.CLIP_JUMP})`,
    });
  } else {
    const flag = strayRatio > 1;
    findings.push({
      asset: name,
      check: "clip-stability",
      verdict: flag ? "flag" : "pass",
      score: r2(st.stray),
      threshold: P.CLIP_STRAY,
      ...(flag ? { timeRange: { from: t2(at(st.strayAt[0])), to: t2(at(st.strayAt[1] + 1)) } } : {}),
      reason: flag
        ? `the clip morphs mid-way: at ${at(st.strayAt[0]).toFixed(1)}–${at(st.strayAt[1] + 1).toFixed(1)} s the picture is ΔE ${st.stray.toFixed(0)} off the way from its first frame to its last (threshold ${P.CLIP_STRAY})`
        : `the clip moves steadily from its first frame to its last (strays ΔE ${st.stray.toFixed(1)} at most, threshold ${P.CLIP_STRAY})`,
    });
  }
  const endDe = measureEnd(clip.frames[clip.frames.length - 1]!, end, clip.width, clip.height);
  const away = endDe > P.CLIP_END_DELTA_E;
  const duration = clip.frames.length / clip.fps;
  findings.push({
    asset: name,
    check: "clip-end",
    verdict: away ? "flag" : "pass",
    score: r2(endDe),
    threshold: P.CLIP_END_DELTA_E,
    timeRange: { from: t2(duration - 1 / clip.fps), to: t2(duration) },
    reason: away
      ? `the clip ends away from its end frame "${endName}": where its last frame differs most (a quarter of the picture) it is ΔE00 ${endDe.toFixed(0)} off (threshold ${P.CLIP_END_DELTA_E}), so the next clip will jump`
      : `the clip lands on its end frame "${endName}" (ΔE00 ${endDe.toFixed(1)} where it differs most)`,
  });
}
