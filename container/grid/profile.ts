/**
 * Line profiles (stage 1): per row and column of the sheet, or of a strip of it, how far the line is
 * from the gutter colour, as an RMS distance that also counts the line's own variance, less the
 * sheet's pixel noise. Gutters and margins are lines uniform AND gutter-coloured from end to end, so
 * they form deep valleys; cell content (even a white studio beside a white gutter) sits above them.
 */
import { median } from "./math.ts";
import { NOISE_SEGMENT, WOBBLE_FACTOR } from "./params.ts";
import type { Rgb, RgbImage } from "./types.ts";

/** A flat line of the sheet (axis 0: a column, 1: a row) and its variance. */
export interface FlatLine {
  axis: 0 | 1;
  index: number;
  variance: number;
}

export interface LineStats {
  /** Per line, per channel: sum and sum of squares, over `colN` / `rowN` pixels of the line. */
  colSum: Float64Array | Uint32Array;
  colSq: Float64Array | Uint32Array;
  colN: number;
  rowSum: Float64Array;
  rowSq: Float64Array;
  rowN: number;
}

/**
 * Sums per row and column, added a band of rows at a time, so they can be taken while the sheet is
 * still being decoded (pixels.ts). Each line is sampled at every other pixel along its length: a
 * line's mean and spread need hundreds of samples, not thousands, and every line across the sheet
 * is still measured, so a 3 px gutter is seen as clearly. This halves the cost of the hot loop.
 */
export class LineStatsBuilder {
  readonly stats: LineStats;
  // Fields declared, not parameter properties: the image runs this file with Node's type stripping.
  readonly width: number;
  constructor(width: number, height: number) {
    this.width = width;
    const colN = Math.ceil(height / 2);
    // Integer column sums are faster to accumulate; they fit whenever a column's sum of squares does.
    const Acc = colN * 255 * 255 < 2 ** 32 ? Uint32Array : Float64Array;
    this.stats = {
      colSum: new Acc(width * 3),
      colSq: new Acc(width * 3),
      colN,
      rowSum: new Float64Array(height * 3),
      rowSq: new Float64Array(height * 3),
      rowN: Math.ceil(width / 2),
    };
  }

  /** Adds rows [y0, y1) of packed RGB `data` (the whole image's buffer). */
  add(data: Buffer, y0: number, y1: number): void {
    const w = this.width;
    const { colSum, colSq, rowSum, rowSq } = this.stats;
    for (let y = y0; y < y1; y++) {
      let sr = 0,
        sg = 0,
        sb = 0,
        qr = 0,
        qg = 0,
        qb = 0;
      const row = y * w * 3;
      if (y % 2) {
        for (let i = row, end = row + w * 3; i < end; i += 6) {
          const r = data[i]!,
            g = data[i + 1]!,
            b = data[i + 2]!;
          sr += r;
          sg += g;
          sb += b;
          qr += r * r;
          qg += g * g;
          qb += b * b;
        }
      } else {
        // Rows the columns are sampled on: one pass for both, each even pixel also counted for the row.
        for (let x3 = 0, i = row; x3 < w * 3; x3 += 3, i += 3) {
          const r = data[i]!,
            g = data[i + 1]!,
            b = data[i + 2]!;
          const rr = r * r,
            gg = g * g,
            bb = b * b;
          colSum[x3] += r;
          colSum[x3 + 1] += g;
          colSum[x3 + 2] += b;
          colSq[x3] += rr;
          colSq[x3 + 1] += gg;
          colSq[x3 + 2] += bb;
          if (x3 % 6 === 0) {
            sr += r;
            sg += g;
            sb += b;
            qr += rr;
            qg += gg;
            qb += bb;
          }
        }
      }
      const y3 = y * 3;
      rowSum[y3] = sr;
      rowSum[y3 + 1] = sg;
      rowSum[y3 + 2] = sb;
      rowSq[y3] = qr;
      rowSq[y3 + 1] = qg;
      rowSq[y3 + 2] = qb;
    }
  }
}

export function lineStats(img: RgbImage): LineStats {
  const builder = new LineStatsBuilder(img.width, img.height);
  builder.add(img.data, 0, img.height);
  return builder.stats;
}

/**
 * Per line: RMS distance of its pixels to colour `g` (variance + offset of the mean), less the
 * sheet's pixel noise (`noise`, a variance), so what remains is structure a person would see.
 */
export function distanceProfile(sum: ArrayLike<number>, sq: ArrayLike<number>, n: number, g: Rgb, noise: number): Float64Array {
  const lines = sum.length / 3;
  const out = new Float64Array(lines);
  for (let i = 0; i < lines; i++) {
    let acc = 0;
    for (let c = 0; c < 3; c++) {
      const m = sum[i * 3 + c]! / n;
      // E[(p-g)^2] = E[p^2] - 2gE[p] + g^2
      acc += sq[i * 3 + c]! / n - 2 * g[c]! * m + g[c]! * g[c]!;
    }
    out[i] = Math.sqrt(Math.max(0, acc / 3 - noise));
  }
  return out;
}

/** Per line: distance of its mean colour to `g` (RMS over the channels). */
export function biasProfile(sum: ArrayLike<number>, n: number, g: Rgb): Float64Array {
  const out = new Float64Array(sum.length / 3);
  for (let i = 0; i < out.length; i++) {
    let acc = 0;
    for (let c = 0; c < 3; c++) acc += (sum[i * 3 + c]! / n - g[c]!) ** 2;
    out[i] = Math.sqrt(acc / 3);
  }
  return out;
}

/**
 * Per-pixel noise variance, from the flattest gutter lines: the variance within short stretches of
 * each line (NOISE_SEGMENT px), which is noise (JPEG-smoothed or not), while structure such as a gradient or a
 * backdrop's edge shows as stretches with different means and is not counted. Subtracting it from
 * every line's distance lets a noisy sheet's gutters read as flat as a clean sheet's; a plain photo,
 * whose flattest lines are smooth, is left as it was.
 */
export function noiseVariance(img: RgbImage, lines: FlatLine[]): number {
  const { data, width: w, height: h } = img;
  const estimates: number[] = [];
  for (const line of lines) {
    const len = line.axis === 0 ? h : w;
    const stride = line.axis === 0 ? w * 3 : 3;
    const base = line.axis === 0 ? line.index * 3 : line.index * w * 3;
    let within = 0;
    let segments = 0;
    for (let s0 = 0; s0 + NOISE_SEGMENT <= len; s0 += NOISE_SEGMENT) {
      let v = 0;
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        let sq = 0;
        for (let k = s0, i = base + s0 * stride + c; k < s0 + NOISE_SEGMENT; k++, i += stride) {
          const x = data[i]!;
          sum += x;
          sq += x * x;
        }
        v += sq / NOISE_SEGMENT - (sum / NOISE_SEGMENT) ** 2;
      }
      within += v / 3;
      segments++;
    }
    if (segments) estimates.push(Math.min(line.variance, within / segments));
  }
  return estimates.length ? median(estimates) : 0;
}

/**
 * How much a noise-corrected line distance still wobbles from line to line: subtracting the noise
 * variance leaves its sampling error, about noise·√(2/n) for a line of n pixels. Edge thresholds grow
 * by this much, so a noisy gutter's lines are not mistaken for steps.
 */
export function noiseWobble(noise: number, n: number): number {
  return WOBBLE_FACTOR * Math.sqrt(noise * Math.sqrt(2 / Math.max(1, n)));
}

/**
 * Distance profile of a strip of the sheet, from that strip's pixels only: per column x in
 * [from, to) over rows [a0, a1) (`vertical`), or per row y in [from, to) over columns [a0, a1).
 * The same measure as the sheet-wide profiles, so the same edge logic applies to one cell's side.
 */
export function stripProfile(img: RgbImage, g: Rgb, noise: number, vertical: boolean, from: number, to: number, a0: number, a1: number): Float64Array {
  const { data, width } = img;
  const len = to - from;
  const acc = new Float64Array(len);
  const g0 = g[0]!,
    g1 = g[1]!,
    g2 = g[2]!;
  if (vertical) {
    for (let y = a0; y < a1; y++) {
      let i = (y * width + from) * 3;
      for (let k = 0; k < len; k++, i += 3) {
        const dr = data[i]! - g0,
          dg = data[i + 1]! - g1,
          db = data[i + 2]! - g2;
        acc[k] += dr * dr + dg * dg + db * db;
      }
    }
  } else {
    for (let k = 0; k < len; k++) {
      let sum = 0;
      for (let i = ((from + k) * width + a0) * 3, end = ((from + k) * width + a1) * 3; i < end; i += 3) {
        const dr = data[i]! - g0,
          dg = data[i + 1]! - g1,
          db = data[i + 2]! - g2;
        sum += dr * dr + dg * dg + db * db;
      }
      acc[k] = sum;
    }
  }
  const n = Math.max(1, a1 - a0) * 3;
  for (let k = 0; k < len; k++) acc[k] = Math.sqrt(Math.max(0, acc[k]! / n - noise));
  return acc;
}

/** RMS distance to `g` of one column (x fixed, y in [y0, y1)) or one row (y fixed, x in [x0, x1)). */
export function localLine(img: RgbImage, g: Rgb, vertical: boolean, at: number, from: number, to: number): number {
  const { data, width } = img;
  let acc = 0;
  let count = 0;
  for (let k = from; k < to; k++) {
    const i = vertical ? (k * width + at) * 3 : (at * width + k) * 3;
    const dr = data[i]! - g[0]!,
      dg = data[i + 1]! - g[1]!,
      db = data[i + 2]! - g[2]!;
    acc += dr * dr + dg * dg + db * db;
    count++;
  }
  return count ? Math.sqrt(acc / (3 * count)) : Infinity;
}
