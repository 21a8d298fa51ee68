/**
 * The camera operator of a channel pack (issue 20): from the subject's track, the crop of the output's
 * aspect for every frame.
 *
 * Per shot (between cuts) the crop has one size: the largest of the aspect inside the source, grown
 * (beyond the source: filled) only as far as the shot's largest subject box with its margin needs.
 * Per axis and frame, the positions that keep the box and its margin inside form a corridor lo..hi
 * (the margin is clipped at the source's edges: where the source cuts the subject, fill would not
 * bring it back). Inside the corridor the crop follows the subject's centre through a dead zone (a
 * subject that sways by less stays framed by a still camera), a Gaussian ease, and a feasible
 * speed limit: a backward pass narrows each frame's corridor to positions from which the next
 * frame's is reachable at MAX_STEP, a forward pass clamps to it. Containment wins where both cannot
 * hold (a subject outrunning the camera for longer than the crop's slack lasts): the camera then
 * jumps, as little as it can. At a cut the crop starts afresh.
 */
import type { Box, CropPath, PathOptions, SubjectTrack } from "./types.ts";

/** Most a crop moves per frame and axis, a fraction of the source's width (both axes: ≤ 0.96 % diagonally). */
export const MAX_STEP = 0.0068;
/** The subject's centre moves this far (a fraction of the crop's length on that axis) before the camera follows. */
export const DEAD_ZONE = 0.04;
/** The ease: Gaussian smoothing of the followed position, sigma in seconds. */
export const EASE_SECONDS = 0.3;

interface Source {
  width: number;
  height: number;
}

/**
 * The crop's size for boxes of at most `need` (width, height) with margin: the largest of the aspect
 * inside the source, grown while the need with its margin (a fraction of the crop's shorter side)
 * does not fit. The need is measured with the margin clipped at the source's edges, so it is given
 * as a function of the margin in source pixels.
 */
function cropSize(aspect: number, margin: number, source: Source, need: (m: number) => { w: number; h: number }): { w: number; h: number } {
  let h = Math.min(source.height, source.width / aspect);
  for (let round = 0; round < 8; round++) {
    const m = margin * Math.min(h * aspect, h);
    const n = need(m);
    const grown = Math.max(h, n.w / aspect, n.h);
    if (grown <= h * (1 + 1e-9)) break;
    h = grown;
  }
  return { w: h * aspect, h };
}

/** Positions of a crop of length `c` on an axis of length `len` keeping [b0, b1] (with margin `m`, clipped to the source) inside. */
function corridor(b0: number, b1: number, m: number, c: number, len: number): [number, number] {
  const need0 = Math.max(0, b0 - m);
  const need1 = Math.min(len, b1 + m);
  const [s0, s1] = c <= len ? [0, len - c] : [len - c, 0];
  const lo = Math.max(s0, need1 - c);
  const hi = Math.min(s1, need0);
  // Only a box wider than the crop (cannot happen: the size was grown for it) leaves this empty.
  return lo <= hi ? [lo, hi] : [(lo + hi) / 2, (lo + hi) / 2];
}

function gaussian(xs: number[], sigma: number): number[] {
  if (sigma < 0.5 || xs.length < 3) return xs;
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, j) => Math.exp(-((j - r) ** 2) / (2 * sigma * sigma)));
  return xs.map((_, i) => {
    let s = 0;
    let w = 0;
    for (let j = -r; j <= r; j++) {
      const v = xs[Math.max(0, Math.min(xs.length - 1, i + j))]!;
      s += v * k[j + r]!;
      w += k[j + r]!;
    }
    return s / w;
  });
}

/**
 * One axis of one shot: positions inside each frame's corridor, following `target` through the dead
 * zone and the ease, moving at most `vmax` a frame wherever the corridors allow.
 */
export function followAxis(lo: number[], hi: number[], target: number[], deadZone: number, sigma: number, vmax: number): number[] {
  const n = lo.length;
  // Dead zone: the followed position moves only as far as the target leaves the zone around it.
  const lazy: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    const p = i === 0 ? t : lazy[i - 1]!;
    lazy.push(t > p + deadZone ? t - deadZone : t < p - deadZone ? t + deadZone : p);
  }
  // Start where the shot's first stretch settles rather than where the zone first caught it.
  const eased = gaussian(lazy, sigma);
  // Backward pass: from position x at frame i, frame i+1's corridor must be within vmax.
  const L = lo.slice();
  const H = hi.slice();
  for (let i = n - 2; i >= 0; i--) {
    const l = Math.max(lo[i]!, L[i + 1]! - vmax);
    const h = Math.min(hi[i]!, H[i + 1]! + vmax);
    if (l <= h) {
      L[i] = l;
      H[i] = h;
    } else {
      // Unreachable at vmax: stand where the least jump is left, so earlier frames still start early.
      const at = hi[i]! < L[i + 1]! - vmax ? hi[i]! : lo[i]!;
      L[i] = at;
      H[i] = at;
    }
  }
  const forward = (want: number[]) => {
    const x: number[] = [];
    for (let i = 0; i < n; i++) {
      let v = want[i]!;
      if (i > 0) v = Math.max(x[i - 1]! - vmax, Math.min(x[i - 1]! + vmax, v));
      x.push(Math.max(L[i]!, Math.min(H[i]!, v)));
    }
    return x;
  };
  // The speed-limited pass starts and stops abruptly; a short ease of it, limited again, does not.
  return forward(gaussian(forward(eased), sigma / 2));
}

/** The crop path of a track for an output of `opts.width` × `opts.height`. */
export function planCropPath(track: SubjectTrack, opts: PathOptions): CropPath {
  const aspect = opts.width / opts.height;
  const src = { width: track.width, height: track.height };
  const n = track.boxes.length;
  const bounds = [0, ...track.cuts.filter((c) => c > 0 && c < n), n];
  const boxes: Box[] = [];
  let upscale = 0;
  let filled = false;
  for (let s = 0; s + 1 < bounds.length; s++) {
    const shot = track.boxes.slice(bounds[s], bounds[s + 1]);
    const seen = shot.filter((b): b is Box => b !== null);
    const size = cropSize(aspect, opts.margin, src, (m) => ({
      w: Math.max(0, ...seen.map((b) => Math.min(src.width, b.x + b.width + m) - Math.max(0, b.x - m))),
      h: Math.max(0, ...seen.map((b) => Math.min(src.height, b.y + b.height + m) - Math.max(0, b.y - m))),
    }));
    const m = opts.margin * Math.min(size.w, size.h);
    // Frames without a subject hold the last box seen (the first seen, before any).
    let last = seen[0] ?? null;
    const held = shot.map((b) => {
      last = b ?? last;
      return last;
    });
    const axis = (pos: "x" | "y", len: "width" | "height", c: number, srcLen: number) => {
      const lo: number[] = [];
      const hi: number[] = [];
      const target: number[] = [];
      for (const b of held) {
        const [l, h] = b ? corridor(b[pos], b[pos] + b[len], m, c, srcLen) : c <= srcLen ? [0, srcLen - c] : [srcLen - c, 0];
        lo.push(l);
        hi.push(h);
        target.push(b ? b[pos] + b[len] / 2 - c / 2 : (srcLen - c) / 2);
      }
      return followAxis(lo, hi, target, DEAD_ZONE * c, EASE_SECONDS * track.fps, MAX_STEP * src.width);
    };
    const xs = axis("x", "width", size.w, src.width);
    const ys = axis("y", "height", size.h, src.height);
    for (let i = 0; i < shot.length; i++) {
      const box = { x: xs[i]!, y: ys[i]!, width: size.w, height: size.h };
      filled ||= box.x < -0.5 || box.y < -0.5 || box.x + box.width > src.width + 0.5 || box.y + box.height > src.height + 0.5;
      boxes.push(box);
    }
    upscale = Math.max(upscale, opts.width / size.w);
  }
  return { boxes, upscale, filled };
}

/**
 * A still's crop: the same size rule as a shot of one frame, centred on the subject as far as the
 * source allows (a still has no motion to ease). Without a subject, the centre crop.
 */
export function planStillCrop(box: Box | null, source: Source, opts: PathOptions): { box: Box; upscale: number; filled: boolean } {
  const track: SubjectTrack = { ...source, fps: 1, boxes: [box], cuts: [] };
  const path = planCropPath(track, opts);
  return { box: path.boxes[0]!, upscale: path.upscale, filled: path.filled };
}
