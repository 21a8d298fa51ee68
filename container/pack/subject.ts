/**
 * Where the subject is in one frame of a studio shot (issue 20): the box of the main mass that stands
 * out from the backdrop. The backdrop is modelled from the frame's border as a smooth colour surface
 * (a quadratic per CIELAB channel, fitted robustly so a subject touching the border does not bend it:
 * soft backdrops fall off towards the corners), and a pixel is foreground where its colour is far
 * from that surface or its edge energy is high, both against thresholds taken from the border's own
 * noise (a grainy or textured backdrop raises them). The box is the extent of the largest connected
 * mass and of masses at least a fifth its size, so a stray highlight or a speck does not widen it.
 *
 * Works on a small frame (about 240 px on the long side): the callers decode it downscaled.
 */
import { rgbBufferToLab } from "../../common/colour.ts";
import type { Box } from "./types.ts";

export interface RgbFrame {
  /** Packed 8-bit RGB. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** Border band sampled for the backdrop, a fraction of the shorter side. */
const BORDER = 0.04;
/** Floors of the thresholds (ΔE in Lab, Sobel magnitude of L): a perfectly flat backdrop has no noise to scale from. */
const MIN_COLOUR_DISTANCE = 7;
const MIN_EDGE = 14;
/** Thresholds are this many times the border's 95th percentile. */
const NOISE_FACTOR = 2.2;
/** A mass counts with the main one when it has at least this share of the main one's pixels. */
const COMPANION_SHARE = 0.2;
/** Below this share of the frame's pixels there is no subject. */
const MIN_SUBJECT_SHARE = 0.002;

const quantile = (xs: Float32Array | number[], q: number): number => {
  if (xs.length === 0) return 0;
  const s = Float32Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** 3×3 box blur of packed RGB (edges clamped): grain and JPEG blocks would otherwise read as edges. */
function blur3(img: RgbFrame): Uint8Array {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const y0 = y > 0 ? y - 1 : 0;
    const y1 = y < h - 1 ? y + 1 : h - 1;
    for (let x = 0; x < w; x++) {
      const x0 = x > 0 ? x - 1 : 0;
      const x1 = x < w - 1 ? x + 1 : w - 1;
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const yy of [y0, y, y1]) for (const xx of [x0, x, x1]) s += data[(yy * w + xx) * 3 + c]!;
        out[(y * w + x) * 3 + c] = Math.round(s / 9);
      }
    }
  }
  return out;
}

/** Least squares of `rows` (each a basis vector) against `ys`, by normal equations (6 unknowns). */
function solve(rows: number[][], ys: number[]): number[] {
  const k = rows[0]!.length;
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  rows.forEach((r, n) => {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) a[i]![j]! += r[i]! * r[j]!;
      a[i]![k]! += r[i]! * ys[n]!;
    }
  });
  for (let i = 0; i < k; i++) a[i]![i]! += 1e-6; // ridge: a degenerate border (tiny frame) stays solvable
  for (let col = 0; col < k; col++) {
    let piv = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[piv]![col]!)) piv = r;
    [a[col], a[piv]] = [a[piv]!, a[col]!];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / a[col]![col]!;
      for (let j = col; j <= k; j++) a[r]![j]! -= f * a[col]![j]!;
    }
  }
  return a.map((row, i) => row[k]! / row[i]!);
}

const basis = (u: number, v: number) => [1, u, v, u * u, v * v, u * v];

/**
 * The backdrop's colour at every pixel: a quadratic surface per Lab channel through the border band,
 * refitted once without the border pixels far from the first fit (the subject where it touches the
 * border). Returns the surface and the border's distances to it (its noise).
 */
function backdrop(lab: Float32Array, w: number, h: number): { surface: Float32Array; borderNoise: Float32Array } {
  const band = Math.max(2, Math.round(BORDER * Math.min(w, h)));
  const idx: number[] = [];
  const step = Math.max(1, Math.floor((2 * (w + h) * band) / 4000)); // ~4000 samples are plenty
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (x >= band && x < w - band && y >= band && y < h - band) continue;
      if (n++ % step === 0) idx.push(y * w + x);
    }
  }
  const uv = (i: number) => basis(((i % w) / w) * 2 - 1, (Math.floor(i / w) / h) * 2 - 1);
  let use = idx;
  let coef: number[][] = [];
  for (let round = 0; round < 2; round++) {
    const rows = use.map(uv);
    coef = [0, 1, 2].map((c) =>
      solve(
        rows,
        use.map((i) => lab[i * 3 + c]!),
      ),
    );
    if (round === 1) break;
    const dist = idx.map((i) => distanceTo(lab, i, coef, uv(i)));
    const cut = Math.max(3, 2.5 * quantile(dist, 0.5));
    const kept = idx.filter((_, k) => dist[k]! <= cut);
    if (kept.length >= 0.3 * idx.length) use = kept;
  }
  const surface = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const b = basis((x / w) * 2 - 1, (y / h) * 2 - 1);
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let j = 0; j < 6; j++) s += coef[c]![j]! * b[j]!;
        surface[(y * w + x) * 3 + c] = s;
      }
    }
  }
  const borderNoise = Float32Array.from(use, (i) => distanceTo(lab, i, coef, uv(i)));
  return { surface, borderNoise };
}

function distanceTo(lab: Float32Array, i: number, coef: number[][], b: number[]): number {
  let d = 0;
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let j = 0; j < 6; j++) s += coef[c]![j]! * b[j]!;
    d += (lab[i * 3 + c]! - s) ** 2;
  }
  return Math.sqrt(d);
}

/** The subject's box in the frame's pixels (edges exclusive), or null when nothing stands out. */
export function findSubject(img: RgbFrame): Box | null {
  const { width: w, height: h } = img;
  if (w < 8 || h < 8) return null;
  const lab = rgbBufferToLab(blur3(img), w * h);
  const { surface, borderNoise } = backdrop(lab, w, h);
  const band = Math.max(2, Math.round(BORDER * Math.min(w, h)));

  const dist = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const dl = lab[i * 3]! - surface[i * 3]!;
    const da = lab[i * 3 + 1]! - surface[i * 3 + 1]!;
    const db = lab[i * 3 + 2]! - surface[i * 3 + 2]!;
    dist[i] = Math.sqrt(dl * dl + da * da + db * db);
  }
  // Sobel magnitude of L: a garment close to the backdrop's colour still has an outline and folds.
  const edge = new Float32Array(w * h);
  const borderEdge: number[] = [];
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const L = (xx: number, yy: number) => lab[(yy * w + xx) * 3]!;
      const gx = L(x + 1, y - 1) + 2 * L(x + 1, y) + L(x + 1, y + 1) - L(x - 1, y - 1) - 2 * L(x - 1, y) - L(x - 1, y + 1);
      const gy = L(x - 1, y + 1) + 2 * L(x, y + 1) + L(x + 1, y + 1) - L(x - 1, y - 1) - 2 * L(x, y - 1) - L(x + 1, y - 1);
      const g = Math.hypot(gx, gy);
      edge[y * w + x] = g;
      if ((x < band || x >= w - band || y < band || y >= h - band) && (x + y) % 2 === 0) borderEdge.push(g);
    }
  }
  const tColour = Math.max(MIN_COLOUR_DISTANCE, NOISE_FACTOR * quantile(borderNoise, 0.95));
  // The border's edges include the subject's where it touches the border: its median is the backdrop's.
  const tEdge = Math.max(MIN_EDGE, 2 * NOISE_FACTOR * quantile(borderEdge, 0.75));

  const raw = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) raw[i] = dist[i]! > tColour || edge[i]! > tEdge ? 1 : 0;
  // Keep a pixel with at least 3 foreground neighbours in its 3×3: single specks of grain go.
  const mask = new Uint8Array(w * h);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      if (!raw[y * w + x]) continue;
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += raw[(y + dy) * w + x + dx]!;
      if (s >= 4) mask[y * w + x] = 1;
    }
  }

  const labels = components(mask, w, h, Math.max(1, Math.round(0.012 * Math.max(w, h))));
  if (labels.sizes.length === 0) return null;
  const main = Math.max(...labels.sizes);
  if (main < MIN_SUBJECT_SHARE * w * h) return null;
  const keep = labels.sizes.map((s) => s >= COMPANION_SHARE * main);
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const l = labels.of[i]!;
      if (!mask[i] || l < 0 || !keep[l]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  // The blur and the Sobel spread the mask up to 2 px beyond the outline: 1 px back, still outside it.
  const sx = x1 - x0 >= 4 ? 1 : 0;
  const sy = y1 - y0 >= 4 ? 1 : 0;
  return { x: x0 + sx, y: y0 + sy, width: x1 - x0 + 1 - 2 * sx, height: y1 - y0 + 1 - 2 * sy };
}

/**
 * Connected masses of `mask`, where pixels up to `reach` apart join (a figure's head and body with a
 * backdrop-coloured neck between are one): labels per pixel (-1: background) and each label's size
 * in mask pixels.
 */
function components(mask: Uint8Array, w: number, h: number, reach: number): { of: Int32Array; sizes: number[] } {
  // Dilate by `reach` (separable max), label the dilated mask, count only the mask's own pixels.
  const rowMax = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    // Two sweeps: within `reach` of a set pixel on the left or on the right.
    let last = -Infinity;
    for (let x = 0; x < w; x++) {
      if (mask[y * w + x]) last = x;
      if (x - last <= reach) rowMax[y * w + x] = 1;
    }
    last = Infinity;
    for (let x = w - 1; x >= 0; x--) {
      if (mask[y * w + x]) last = x;
      if (last - x <= reach) rowMax[y * w + x] = 1;
    }
  }
  const grown = new Uint8Array(w * h);
  for (let x = 0; x < w; x++) {
    let last = -Infinity;
    for (let y = 0; y < h; y++) {
      if (rowMax[y * w + x]) last = y;
      if (y - last <= reach) grown[y * w + x] = 1;
    }
    last = Infinity;
    for (let y = h - 1; y >= 0; y--) {
      if (rowMax[y * w + x]) last = y;
      if (last - y <= reach) grown[y * w + x] = 1;
    }
  }
  const of = new Int32Array(w * h).fill(-1);
  const sizes: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!grown[start] || of[start]! >= 0) continue;
    const label = sizes.length;
    let size = 0;
    of[start] = label;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      if (mask[i]) size++;
      const x = i % w;
      const visit = (j: number) => {
        if (grown[j] && of[j]! < 0) {
          of[j] = label;
          stack.push(j);
        }
      };
      if (x > 0) visit(i - 1);
      if (x < w - 1) visit(i + 1);
      if (i >= w) visit(i - w);
      if (i < w * (h - 1)) visit(i + w);
    }
    sizes.push(size);
  }
  return { of, sizes };
}
