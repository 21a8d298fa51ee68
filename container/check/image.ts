/**
 * Small pictures for the checks. Every check works on a still reduced to a few hundred pixels on its
 * long edge: colour and structure at that size say what the checks need, and decoding with the
 * reduction (JPEG shrink-on-load) costs a fraction of a full decode.
 */
import { InputError, errorMessage } from "../errors.ts";
import { openImage } from "../image-limits.ts";
import { rgbBufferToLab, type Lab } from "../../common/colour.ts";

export interface Picture {
  width: number;
  height: number;
  /** Packed 8-bit sRGB. */
  rgb: Uint8Array;
  /** Luma (Rec. 601), 0–255, one value a pixel. */
  grey: Float32Array;
  /** CIELAB, three values a pixel, made on first use (`labOf`). */
  lab?: Float32Array;
}

/** The picture's CIELAB pixels (computed once). */
export function labOf(p: Picture): Float32Array {
  p.lab ??= rgbBufferToLab(p.rgb, p.width * p.height);
  return p.lab;
}

export function pictureFromRgb(rgb: Uint8Array, width: number, height: number): Picture {
  const grey = new Float32Array(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = 0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!;
  return { width, height, rgb, grey };
}

/** Decodes a still (EXIF orientation applied, transparency on white) to at most `longEdge` pixels on its long side. */
export async function loadPicture(file: string | Buffer, longEdge: number, label: string): Promise<Picture> {
  try {
    const { data, info } = await openImage(file)
      .rotate()
      .flatten({ background: "#ffffff" })
      .resize({ width: longEdge, height: longEdge, fit: "inside", withoutEnlargement: true, kernel: "linear" })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    return pictureFromRgb(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height);
  } catch (err) {
    throw new InputError(`${label} is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
  }
}

/** Halves a picture by averaging 2×2 blocks (the search runs coarse first). */
export function halve(p: Picture): Picture {
  const w = Math.max(1, Math.floor(p.width / 2));
  const h = Math.max(1, Math.floor(p.height / 2));
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (2 * y * p.width + 2 * x) * 3 + c;
        const j = i + p.width * 3;
        rgb[(y * w + x) * 3 + c] = (p.rgb[i]! + p.rgb[i + 3]! + p.rgb[j]! + p.rgb[j + 3]! + 2) >> 2;
      }
    }
  }
  return pictureFromRgb(rgb, w, h);
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** For each target pixel along one axis: the source pixels it covers and their weights (area, or bilinear when enlarging). */
function axisWeights(start: number, len: number, n: number, max: number): { from: Int32Array; count: Int32Array; weights: Float32Array; stride: number } {
  const f = len / n;
  const stride = Math.max(2, Math.ceil(f) + 2);
  const from = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Float32Array(n * stride);
  for (let i = 0; i < n; i++) {
    if (f <= 1) {
      const c = Math.min(start + len - 1, Math.max(start, start + (i + 0.5) * f - 0.5));
      const i0 = Math.min(max - 1, Math.floor(c));
      const t = c - i0;
      from[i] = i0;
      const i1 = Math.min(i0 + 1, start + len - 1, max - 1);
      count[i] = i1 > i0 ? 2 : 1;
      weights[i * stride] = i1 > i0 ? 1 - t : 1;
      if (i1 > i0) weights[i * stride + 1] = t;
      continue;
    }
    const a = start + i * f;
    const b = a + f;
    const s0 = Math.floor(a);
    let k = 0;
    let total = 0;
    for (let s = s0; s < b && s < max; s++) {
      const w = Math.min(b, s + 1) - Math.max(a, s);
      if (w <= 0) continue;
      weights[i * stride + k] = w;
      total += w;
      k++;
    }
    for (let j = 0; j < k; j++) weights[i * stride + j] = weights[i * stride + j]! / total;
    from[i] = s0;
    count[i] = k;
  }
  return { from, count, weights, stride };
}

/**
 * Resamples one channel of a box of `src` to dw×dh by averaging the source area under each target
 * pixel (bilinear when enlarging), one axis at a time. `stride`/`offset` select the channel of
 * packed data.
 */
export function resampleBox(src: ArrayLike<number>, sw: number, box: Box, dw: number, dh: number, stride = 1, offset = 0): Float32Array {
  const sh = Math.floor(src.length / stride / sw);
  const wx = axisWeights(box.x, box.w, dw, sw);
  const wy = axisWeights(box.y, box.h, dh, sh);
  // Rows of the box, reduced horizontally.
  const rows = new Float32Array(box.h * dw);
  for (let y = 0; y < box.h; y++) {
    const sy = box.y + y;
    if (sy >= sh) break;
    const base = sy * sw;
    for (let x = 0; x < dw; x++) {
      let v = 0;
      const o = x * wx.stride;
      const f = wx.from[x]!;
      for (let k = 0; k < wx.count[x]!; k++) v += src[(base + f + k) * stride + offset]! * wx.weights[o + k]!;
      rows[y * dw + x] = v;
    }
  }
  const out = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const o = y * wy.stride;
    const f = wy.from[y]! - box.y;
    for (let k = 0; k < wy.count[y]!; k++) {
      const w = wy.weights[o + k]!;
      const r = Math.min(box.h - 1, f + k) * dw;
      for (let x = 0; x < dw; x++) out[y * dw + x] = out[y * dw + x]! + rows[r + x]! * w;
    }
  }
  return out;
}

/** The Lab colour of one pixel of a picture. */
export function labAt(p: Picture, x: number, y: number): Lab {
  const lab = labOf(p);
  const i = (y * p.width + x) * 3;
  return [lab[i]!, lab[i + 1]!, lab[i + 2]!];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** The median colour of a picture's outer border: a product shot's backdrop. */
export function borderColour(p: Picture): Lab {
  const L: number[] = [];
  const A: number[] = [];
  const B: number[] = [];
  const band = Math.max(1, Math.round(Math.min(p.width, p.height) * 0.03));
  const take = (x: number, y: number) => {
    const [l, a, b] = labAt(p, x, y);
    L.push(l);
    A.push(a);
    B.push(b);
  };
  for (let y = 0; y < p.height; y += 2) {
    for (let k = 0; k < band; k++) {
      take(k, y);
      take(p.width - 1 - k, y);
    }
  }
  for (let x = 0; x < p.width; x += 2) {
    for (let k = 0; k < band; k++) {
      take(x, k);
      take(x, p.height - 1 - k);
    }
  }
  return [median(L), median(A), median(B)];
}

/**
 * The backdrop of a product shot as a smooth surface: the border's colours (a band 3 % wide, each
 * border pixel the median of its neighbours along the edge) blended inward (a Coons patch), so a
 * backdrop lit brighter at the top than at the floor reads as backdrop everywhere.
 */
function backdropSurface(p: Picture): (x: number, y: number, out: Float64Array) => void {
  const band = Math.max(1, Math.round(Math.min(p.width, p.height) * 0.03));
  const lab = labOf(p);
  // Typed buffers and typed sorts: this runs for every border pixel of every reference.
  const buf = new Float64Array(Math.max(band, 2 * Math.max(2, Math.round(Math.max(p.width, p.height) * 0.02)) + 1));
  const medianOf = (n: number) => {
    const v = buf.subarray(0, n).sort();
    return v[Math.floor(n / 2)]!;
  };
  /** Per position along one edge, each channel's median across the band, then along the edge. */
  const edge = (len: number, pixel: (i: number, k: number) => number): Lab[] => {
    const raw = new Float64Array(len * 3);
    for (let i = 0; i < len; i++) {
      for (let c = 0; c < 3; c++) {
        for (let k = 0; k < band; k++) buf[k] = lab[pixel(i, k) * 3 + c]!;
        raw[i * 3 + c] = medianOf(band);
      }
    }
    const r = Math.max(2, Math.round(len * 0.02));
    return Array.from({ length: len }, (_, i) => {
      const lo = Math.max(0, i - r);
      const hi = Math.min(len, i + r + 1);
      return [0, 1, 2].map((c) => {
        for (let j = lo; j < hi; j++) buf[j - lo] = raw[j * 3 + c]!;
        return medianOf(hi - lo);
      }) as Lab;
    });
  };
  const left = edge(p.height, (y, k) => y * p.width + k);
  const right = edge(p.height, (y, k) => y * p.width + p.width - 1 - k);
  const top = edge(p.width, (x, k) => k * p.width + x);
  const bottom = edge(p.width, (x, k) => (p.height - 1 - k) * p.width + x);
  const tl = top[0]!;
  const tr = top[p.width - 1]!;
  const bl = bottom[0]!;
  const br = bottom[p.width - 1]!;
  return (x, y, out) => {
    const u = x / Math.max(1, p.width - 1);
    const v = y / Math.max(1, p.height - 1);
    const l = left[y]!;
    const r = right[y]!;
    const t = top[x]!;
    const b = bottom[x]!;
    for (let c = 0; c < 3; c++) {
      out[c] =
        (1 - u) * l[c]! + u * r[c]! + (1 - v) * t[c]! + v * b[c]! - ((1 - u) * (1 - v) * tl[c]! + u * (1 - v) * tr[c]! + (1 - u) * v * bl[c]! + u * v * br[c]!);
    }
  };
}

/**
 * What of a product shot is the product: pixels clearly off the backdrop (Lab distance to the
 * backdrop surface there, chroma counted 1.5×), then one pixel eroded off the edge (edge pixels blend
 * with the backdrop). Returns the mask and its box, or undefined when the picture has no plain
 * backdrop (its border varies too much) or nothing on it.
 */
export function productMask(p: Picture, minDistance = 12): { mask: Uint8Array; box: Box; share: number } | undefined {
  const bgAt = backdropSurface(p);
  const n = p.width * p.height;
  const raw = new Uint8Array(n);
  let borderOff = 0;
  let borderAll = 0;
  const bgBorder = borderColour(p);
  const lab = labOf(p);
  const bg = new Float64Array(3);
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < p.width; x++) {
      const i = (y * p.width + x) * 3;
      const l = lab[i]!;
      const a = lab[i + 1]!;
      const b = lab[i + 2]!;
      bgAt(x, y, bg);
      // Squared distances: Math.hypot costs more than the rest of this loop.
      const dl = l - bg[0]!;
      const da = (a - bg[1]!) * 1.5;
      const db = (b - bg[2]!) * 1.5;
      raw[y * p.width + x] = dl * dl + da * da + db * db > minDistance * minDistance ? 1 : 0;
      if (x === 0 || y === 0 || x === p.width - 1 || y === p.height - 1) {
        borderAll++;
        const d0 = Math.hypot(l - bgBorder[0], (a - bgBorder[1]) * 1.5, (b - bgBorder[2]) * 1.5);
        if (d0 > minDistance * 2) borderOff++;
      }
    }
  }
  // A busy border (a photo on location) has no backdrop to separate from.
  if (borderOff > borderAll * 0.35) return undefined;
  // Holes are left out, not filled: backdrop seen through a bag's handle or between a sleeve and
  // the body is not the product (a white dial on a white backdrop is left out with them).
  const filled = raw;
  const mask = new Uint8Array(n);
  let count = 0;
  let x0 = p.width;
  let y0 = p.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 1; y < p.height - 1; y++) {
    for (let x = 1; x < p.width - 1; x++) {
      const i = y * p.width + x;
      if (filled[i] && filled[i - 1] && filled[i + 1] && filled[i - p.width] && filled[i + p.width]) {
        mask[i] = 1;
        count++;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (count < n * 0.01) return undefined;
  return { mask, box: { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 }, share: count / n };
}

/**
 * Skin by the YCbCr rule of Chai and Ngan (1999): 77 ≤ Cb ≤ 127 and 133 ≤ Cr ≤ 173, which holds
 * across skin tones under ordinary light, and is fooled by skin-coloured things (tan leather, wood).
 */
export function isSkin(r: number, g: number, b: number): boolean {
  const y = 0.299 * r + 0.587 * g + 0.114 * b;
  const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  // …and, after Kovač et al.'s RGB rule, red clearly above green and blue: a beige wall or a white
  // shirt under warm light passes the YCbCr box but not this.
  const spread = Math.max(r, g, b) - Math.min(r, g, b);
  // A pale pink wall passes both; skin lit for a photograph is more saturated (HSV S ≥ 0.22).
  return y > 30 && cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173 && r - g >= 12 && r > b && spread >= 20 && spread >= 0.22 * Math.max(r, g, b);
}

/**
 * The face in a model reference: the skin-coloured region in the upper part of the picture that is
 * most like a face (large, solid, clear of the picture's edges, near the middle; a neck below it is
 * cut off at 1.2 × its width). Undefined when there is none, e.g. a back view or a picture without
 * a person.
 */
export function findFace(p: Picture): Box | undefined {
  const { width: w, height: h } = p;
  const skin = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) skin[i] = isSkin(p.rgb[i * 3]!, p.rgb[i * 3 + 1]!, p.rgb[i * 3 + 2]!) ? 1 : 0;
  // Eroded twice (3×3), so a face touching a skin-coloured wall by a few pixels is a region of its
  // own; boxes are widened back by the two pixels below.
  for (let pass = 0; pass < 2; pass++) {
    const prev = skin.slice();
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        const i = y * w + x;
        if (prev[i] && !(prev[i - 1] && prev[i + 1] && prev[i - w] && prev[i + w] && prev[i - w - 1] && prev[i - w + 1] && prev[i + w - 1] && prev[i + w + 1]))
          skin[i] = 0;
      }
    }
  }
  const label = new Int32Array(w * h).fill(-1);
  let best: { x0: number; y0: number; bw: number; bh: number; label: number; score: number } | undefined;
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!skin[start] || label[start]! >= 0) continue;
    let count = 0;
    let x0 = w;
    let y0 = h;
    let x1 = 0;
    let y1 = 0;
    label[start] = start;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      count++;
      const x = i % w;
      const y = (i - x) / w;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (const j of [i - 1, i + 1, i - w, i + w]) {
        if (j < 0 || j >= w * h || label[j]! >= 0 || !skin[j]) continue;
        if ((j === i - 1 || j === i + 1) && Math.floor(j / w) !== y) continue;
        label[j] = start;
        stack.push(j);
      }
    }
    const bw = x1 - x0 + 1;
    // An arm or a leg is long and thin; a face with its neck is at most about twice as tall as wide.
    if (y1 - y0 + 1 > bw * 2.2) continue;
    let bh = y1 - y0 + 1;
    if (bh > bw * 1.2) bh = Math.round(bw * 1.2);
    const aspect = bh / bw;
    const cy = (y0 + bh / 2) / h;
    if (count < w * h * 0.002 || aspect < 0.7 || cy > 0.7) continue;
    // A face is a solid region (eyes and mouth are holes, but few) with hair, background or clothes
    // all round it: a skin-coloured wall seen through a door is ragged and runs to the picture's edge.
    const fill = count / (bw * (y1 - y0 + 1));
    if (fill < 0.45 || x0 <= 2 || y0 <= 2 || x1 >= w - 3) continue;
    const cx = (x0 + bw / 2) / w;
    const score = count * fill * fill * (1.2 - cy) * (1.3 - Math.abs(cx - 0.5));
    if (!best || score > best.score) best = { x0, y0, bw, bh, label: start, score };
  }
  if (!best) return undefined;
  const { x0, y0, bw, label: id } = best;
  // The neck below the chin: the first row, below the widest, under 60 % of the widest row's width.
  // A collar often covers it in an output, and a template reaching down into it would not match there.
  const rows: number[] = [];
  for (let y = y0; y < y0 + best.bh; y++) {
    let n = 0;
    for (let x = x0; x < x0 + bw; x++) if (label[y * w + x] === id) n++;
    rows.push(n);
  }
  const widest = rows.indexOf(Math.max(...rows));
  const neck = rows.findIndex((n, i) => i > widest && n < rows[widest]! * 0.6);
  const bh = neck > 0 && neck >= bw * 0.7 ? neck : best.bh;
  return { x: Math.max(0, x0 - 2), y: Math.max(0, y0 - 2), w: Math.min(w - x0 + 2, bw + 4), h: Math.min(h - y0 + 2, bh + 4) };
}
