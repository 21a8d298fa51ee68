/**
 * Finding a reference in an output: masked normalised cross-correlation (NCC) of luma over positions
 * and scales, coarse to fine. The template is the reference's own pixels (its product mask, or an
 * ellipse for a face) at a sample of points; NCC is blind to brightness and contrast, so a garment
 * recoloured at the same lightness is still found where it is, and the colour check then compares
 * its colours there.
 *
 * What it can tell: whether the reference's pattern of light and dark appears in the output at some
 * position and scale, as a composite or an edit keeps it. What it cannot: the same garment, face or
 * watch redrawn from another angle, folded differently or partly hidden scores low, like a different
 * one. A generator that redraws rather than keeps will be flagged where a person would pass it.
 */
import { resampleBox, type Box, type Picture } from "./image.ts";

export interface Template {
  w: number;
  h: number;
  /** Point offsets inside the template (x, y) and their zero-mean values. */
  px: Int32Array;
  py: Int32Array;
  vals: Float32Array;
  /** Σ vals², for the normalisation. */
  energy: number;
}

/** A reference patch: luma of the box of a picture, with an optional mask (1 = part of the item). */
export interface Patch {
  pic: Picture;
  box: Box;
  mask?: Uint8Array;
}

/**
 * The patch at tw×th, as at most `maxPoints` points spread evenly over its mask. Undefined when the
 * patch is too flat to match on (a plain white square).
 */
const templates = new WeakMap<Patch, Map<string, Template | undefined>>();

export function makeTemplate(patch: Patch, tw: number, th: number, maxPoints: number): Template | undefined {
  if (tw < 4 || th < 4) return undefined;
  // Every still of a job is searched at the same sizes: each template is made once.
  let cache = templates.get(patch);
  if (!cache) {
    cache = new Map();
    templates.set(patch, cache);
  }
  const key = `${tw}x${th}:${maxPoints}`;
  if (cache.has(key)) return cache.get(key);
  const t = buildTemplate(patch, tw, th, maxPoints);
  cache.set(key, t);
  return t;
}

function buildTemplate(patch: Patch, tw: number, th: number, maxPoints: number): Template | undefined {
  const grey = resampleBox(patch.pic.grey, patch.pic.width, patch.box, tw, th);
  const m = patch.mask ? resampleBox(patch.mask, patch.pic.width, patch.box, tw, th) : undefined;
  const inside: number[] = [];
  for (let i = 0; i < tw * th; i++) if (!m || m[i]! > 0.6) inside.push(i);
  if (inside.length < 12) return undefined;
  const step = Math.max(1, inside.length / maxPoints);
  const count = Math.min(inside.length, Math.floor(inside.length / step));
  const px = new Int32Array(count);
  const py = new Int32Array(count);
  const vals = new Float32Array(count);
  let mean = 0;
  for (let k = 0; k < count; k++) {
    const i = inside[Math.floor(k * step)]!;
    px[k] = i % tw;
    py[k] = Math.floor(i / tw);
    vals[k] = grey[i]!;
    mean += grey[i]!;
  }
  mean /= count;
  let energy = 0;
  for (let k = 0; k < count; k++) {
    vals[k] = vals[k]! - mean;
    energy += vals[k]! * vals[k]!;
  }
  // Flat: a standard deviation under 3 grey levels leaves nothing to correlate.
  if (energy / count < 9) return undefined;
  return { w: tw, h: th, px, py, vals, energy };
}

export interface Match {
  /** NCC of luma, −1…1. */
  score: number;
  /** The template's rotation at the best place, degrees. */
  degrees?: number;
  /** Box in the searched picture's pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
}

/** NCC of a template at (x, y) of a luma image; offsets precomputed for the image's width. */
function nccAt(grey: Float32Array, width: number, offsets: Int32Array, t: Template, x: number, y: number): number {
  const base = y * width + x;
  let s1 = 0;
  let s2 = 0;
  let st = 0;
  const n = offsets.length;
  for (let k = 0; k < n; k++) {
    const v = grey[base + offsets[k]!]!;
    s1 += v;
    s2 += v * v;
    st += v * t.vals[k]!;
  }
  const varI = s2 - (s1 * s1) / n;
  if (varI <= n * 4) return 0; // a flat window (backdrop) matches nothing
  return st / Math.sqrt(varI * t.energy);
}

function offsetsFor(t: Template, width: number): Int32Array {
  const o = new Int32Array(t.px.length);
  for (let k = 0; k < o.length; k++) o[k] = t.py[k]! * width + t.px[k]!;
  return o;
}

/**
 * The template's points turned by `degrees` about its centre (values unchanged), as offsets for an
 * image `width` wide, and how far they reach from the template's own corner (they may go past it).
 */
function rotatedOffsets(t: Template, width: number, degrees: number): { offsets: Int32Array; x0: number; y0: number; x1: number; y1: number } {
  if (!degrees) return { offsets: offsetsFor(t, width), x0: 0, y0: 0, x1: t.w - 1, y1: t.h - 1 };
  const a = (degrees * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const cx = (t.w - 1) / 2;
  const cy = (t.h - 1) / 2;
  const offsets = new Int32Array(t.px.length);
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let k = 0; k < offsets.length; k++) {
    const dx = t.px[k]! - cx;
    const dy = t.py[k]! - cy;
    const x = Math.round(cx + dx * c - dy * s);
    const y = Math.round(cy + dx * s + dy * c);
    offsets[k] = y * width + x;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { offsets, x0, y0, x1, y1 };
}

/**
 * The patch reduced once to at most `maxH` pixels high (luma and mask only), so the templates of
 * every scale are resampled from a small copy instead of the whole reference.
 */
const shrunk = new WeakMap<Patch, Map<number, Patch>>();

export function shrinkPatch(patch: Patch, maxH: number): Patch {
  if (patch.box.h <= maxH * 1.25) return patch;
  const h = Math.max(4, Math.round(maxH));
  // A job searches every still for the same references at the same sizes: reduce once.
  let cache = shrunk.get(patch);
  if (!cache) {
    cache = new Map();
    shrunk.set(patch, cache);
  }
  const hit = cache.get(h);
  if (hit) return hit;
  const w = Math.max(4, Math.round((h * patch.box.w) / patch.box.h));
  const grey = resampleBox(patch.pic.grey, patch.pic.width, patch.box, w, h);
  const mask = patch.mask ? resampleBox(patch.mask, patch.pic.width, patch.box, w, h) : undefined;
  const small: Patch = {
    pic: { width: w, height: h, rgb: new Uint8Array(0), grey },
    box: { x: 0, y: 0, w, h },
    ...(mask ? { mask: Uint8Array.from(mask, (v) => (v > 0.6 ? 1 : 0)) } : {}),
  };
  cache.set(h, small);
  return small;
}

export interface SearchOptions {
  /**
   * Template sizes to try: the square root of its area as a fraction of the square root of the
   * picture's (so a wide pair of sunglasses and a tall bag of one size count alike).
   */
  minSize: number;
  maxSize: number;
  /** Ratio between neighbouring scales. */
  step?: number;
  /** Points per template at the coarse and fine levels. */
  coarsePoints?: number;
  finePoints?: number;
  /** Coarse candidates refined at the fine level. */
  candidates?: number;
  /** Rotations tried at the fine level, degrees. */
  degrees?: number[];
}

/**
 * The places of `patch` in `fine` (and `coarse`, the same picture at half size), best first: every
 * scale and every other position on the coarse picture, then the best few refined on the fine
 * picture around their place (±4 px, ±1 scale step, the given rotations). Empty when no scale fits
 * or the patch is flat.
 */
export function findPatches(patch: Patch, coarse: Picture, fine: Picture, opts: SearchOptions): Match[] {
  const step = opts.step ?? 1.12;
  const aspect = patch.box.w / patch.box.h;
  const found: (Match & { rank: number })[] = [];
  const side = Math.sqrt(coarse.width * coarse.height);
  const heightOf = (size: number) => (size * side) / Math.sqrt(aspect);
  const small = shrinkPatch(patch, heightOf(opts.maxSize));
  for (let size = opts.minSize; size <= opts.maxSize * 1.0001; size *= step) {
    const th = Math.round(heightOf(size));
    const tw = Math.round(th * aspect);
    if (tw > coarse.width || th > coarse.height) continue;
    const t = makeTemplate(small, tw, th, opts.coarsePoints ?? 100);
    if (!t) continue;
    const offsets = offsetsFor(t, coarse.width);
    const stride = th >= 8 ? 2 : 1;
    let best: Match | undefined;
    let sum = 0;
    let sum2 = 0;
    let n = 0;
    for (let y = 0; y + th <= coarse.height; y += stride) {
      for (let x = 0; x + tw <= coarse.width; x += stride) {
        const s = nccAt(coarse.grey, coarse.width, offsets, t, x, y);
        sum += s;
        sum2 += s * s;
        n++;
        if (!best || s > best.score) best = { score: s, x, y, w: tw, h: th };
      }
    }
    if (best && n > 1) {
      const mean = sum / n;
      const sd = Math.sqrt(Math.max(1e-9, sum2 / n - mean * mean));
      found.push({ ...best, rank: (best.score - mean) / sd });
    }
  }
  if (!found.length) return [];
  // Refined: the best few by likeness and the best few by how far they stand out (a small template
  // finds some fair likeness anywhere; the right scale finds one place far above the rest).
  const n = opts.candidates ?? 3;
  const byRank = [...found].sort((a, b) => b.rank - a.rank).slice(0, n);
  const byScore = [...found].sort((a, b) => b.score - a.score).slice(0, n);
  const candidates = [...new Set([...byRank, ...byScore])];
  const k = fine.width / coarse.width;
  const medium = shrinkPatch(patch, heightOf(opts.maxSize) * k * step);
  const refined: Match[] = [];
  /** The best place near (cx, cy) at height th and the given rotation, on the fine picture. */
  const refine = (th: number, cx: number, cy: number, degrees: number): Match | undefined => {
    const tw = Math.round(th * aspect);
    if (tw > fine.width || th > fine.height) return undefined;
    const t = makeTemplate(medium, tw, th, opts.finePoints ?? 360);
    if (!t) return undefined;
    const r = rotatedOffsets(t, fine.width, degrees);
    const x0 = Math.round(cx - tw / 2);
    const y0 = Math.round(cy - th / 2);
    let best: Match | undefined;
    for (let y = Math.max(-r.y0, y0 - 4); y <= Math.min(fine.height - 1 - r.y1, y0 + 4); y++) {
      for (let x = Math.max(-r.x0, x0 - 4); x <= Math.min(fine.width - 1 - r.x1, x0 + 4); x++) {
        const s = nccAt(fine.grey, fine.width, r.offsets, t, x, y);
        if (!best || s > best.score) best = { score: s, x, y, w: tw, h: th, degrees };
      }
    }
    return best;
  };
  for (const c of candidates) {
    let best: Match | undefined;
    for (const f of [1 / step, 1, step]) {
      const m = refine(Math.round(c.h * k * f), (c.x + c.w / 2) * k, (c.y + c.h / 2) * k, 0);
      if (m && (!best || m.score > best.score)) best = m;
    }
    if (best) refined.push(best);
  }
  // A generator places things a few degrees off: the two best places also turned (the template's
  // points rotated, not resampled).
  refined.sort((a, b) => b.score - a.score);
  for (const [i, m] of refined.slice(0, 2).entries()) {
    for (const degrees of (opts.degrees ?? [0]).filter((d) => d !== 0)) {
      const turned = refine(m.h, m.x + m.w / 2, m.y + m.h / 2, degrees);
      if (turned && turned.score > refined[i]!.score) refined[i] = turned;
    }
  }
  // Candidates from both lists often settle on the same place: each place once.
  const seen = new Set<string>();
  return refined
    .sort((a, b) => b.score - a.score)
    .filter((m) => {
      const key = `${m.x},${m.y},${m.w},${m.h}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/** The best place of `patch` (see `findPatches`). */
export function findPatch(patch: Patch, coarse: Picture, fine: Picture, opts: SearchOptions): Match | undefined {
  return findPatches(patch, coarse, fine, opts)[0];
}
