/**
 * Cuts a generated contact sheet into clean frames (SPEC stage 3) using raw pixels from sharp.
 *
 * Detection works on line profiles: for every column (and row) we measure how far the whole line is
 * from the gutter colour, as an RMS distance that also counts the line's own variance. Gutters and
 * margins are lines that are uniform AND gutter-coloured from end to end, so they form deep valleys;
 * cell content (even a white studio backdrop next to a white gutter) sits measurably above them.
 * Valleys are grouped into runs; each run's edges are placed at the first clear, lasting step up
 * (stepping over JPEG ringing), and the rows-1 / cols-1 runs that best fit an even spacing win.
 * Confidence combines how gutter-like the chosen runs are with how regular the cells are. Boxes are
 * then shrunk by a pixel so blur on the gutter side never gets into a frame.
 */
import path from "node:path";
import sharp from "sharp";
import { openImage } from "./image-limits.ts";
import { InputError, errorMessage } from "./errors.ts";

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

export type CropMode = "detect" | "equal";

export interface GridDetection {
  boxes: Box[];
  confidence: number;
  /** Why confidence is what it is, phrased for a reviewer; set when something is weak. */
  problem?: string;
  gutterColor: [number, number, number];
}

/** Below this, "detect" mode refuses to guess (the reviewer can choose an equal split). */
export const MIN_CONFIDENCE = 0.5;

export async function loadRgb(file: string, label = "sheet"): Promise<RgbImage> {
  try {
    const { data, info } = await openImage(file)
      .rotate() // honour EXIF orientation so boxes match what a reviewer sees
      .flatten({ background: "#ffffff" }) // transparent gutters read as white
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new InputError(`The ${label} is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
  }
}

// ---------------------------------------------------------------------------------------------
// Line statistics

interface LineStats {
  /** Per line, per channel: sum and sum of squares, over `colN` / `rowN` pixels of the line. */
  colSum: Float64Array | Uint32Array;
  colSq: Float64Array | Uint32Array;
  colN: number;
  rowSum: Float64Array;
  rowSq: Float64Array;
  rowN: number;
}

/**
 * Sums per row and column. Each line is sampled at every other pixel along its length: a line's
 * mean and spread need hundreds of samples, not thousands, and every line across the sheet is
 * still measured, so a 3 px gutter is seen as clearly. This halves the cost of the hot loop.
 */
function lineStats(img: RgbImage): LineStats {
  const { data, width: w, height: h } = img;
  const colN = Math.ceil(h / 2);
  const rowN = Math.ceil(w / 2);
  // Integer column sums are faster to accumulate; they fit whenever a column's sum of squares does.
  const Acc = colN * 255 * 255 < 2 ** 32 ? Uint32Array : Float64Array;
  const colSum = new Acc(w * 3);
  const colSq = new Acc(w * 3);
  const rowSum = new Float64Array(h * 3);
  const rowSq = new Float64Array(h * 3);
  for (let y = 0; y < h; y++) {
    let sr = 0, sg = 0, sb = 0, qr = 0, qg = 0, qb = 0;
    const row = y * w * 3;
    for (let i = row, end = row + w * 3; i < end; i += 6) {
      const r = data[i]!, g = data[i + 1]!, b = data[i + 2]!;
      sr += r; sg += g; sb += b;
      qr += r * r; qg += g * g; qb += b * b;
    }
    const y3 = y * 3;
    rowSum[y3] = sr; rowSum[y3 + 1] = sg; rowSum[y3 + 2] = sb;
    rowSq[y3] = qr; rowSq[y3 + 1] = qg; rowSq[y3 + 2] = qb;
    if (y % 2) continue;
    for (let x3 = 0, i = row; x3 < w * 3; x3 += 3, i += 3) {
      const r = data[i]!, g = data[i + 1]!, b = data[i + 2]!;
      colSum[x3] += r; colSum[x3 + 1] += g; colSum[x3 + 2] += b;
      colSq[x3] += r * r; colSq[x3 + 1] += g * g; colSq[x3 + 2] += b * b;
    }
  }
  return { colSum, colSq, colN, rowSum, rowSq, rowN };
}

/** Per line: RMS distance of its pixels to colour `g` (variance + offset of the mean). */
function distanceProfile(sum: ArrayLike<number>, sq: ArrayLike<number>, n: number, g: readonly number[]): Float64Array {
  const lines = sum.length / 3;
  const out = new Float64Array(lines);
  for (let i = 0; i < lines; i++) {
    let acc = 0;
    for (let c = 0; c < 3; c++) {
      const m = sum[i * 3 + c]! / n;
      // E[(p-g)^2] = E[p^2] - 2gE[p] + g^2
      acc += sq[i * 3 + c]! / n - 2 * g[c]! * m + g[c]! * g[c]!;
    }
    out[i] = Math.sqrt(Math.max(0, acc / 3));
  }
  return out;
}

/**
 * The gutter colour: the mean colour of the most uniform lines. Gutters and margins run the full
 * width or height of the sheet, so they are the flattest lines there are; lines found on both axes
 * are preferred because a grid has gutters both ways.
 */
function gutterColour(st: LineStats): [number, number, number] {
  type Line = { axis: 0 | 1; std: number; mean: [number, number, number] };
  const lines: Line[] = [];
  const push = (sum: ArrayLike<number>, sq: ArrayLike<number>, n: number, axis: 0 | 1) => {
    for (let i = 0; i < sum.length / 3; i++) {
      const mean: [number, number, number] = [0, 0, 0];
      let v = 0;
      for (let c = 0; c < 3; c++) {
        const m = sum[i * 3 + c]! / n;
        mean[c] = m;
        v += Math.max(0, sq[i * 3 + c]! / n - m * m);
      }
      lines.push({ axis, std: Math.sqrt(v / 3), mean });
    }
  };
  push(st.colSum, st.colSq, st.colN, 0);
  push(st.rowSum, st.rowSq, st.rowN, 1);
  lines.sort((a, b) => a.std - b.std);
  const sMin = lines[0]!.std;
  const flat = lines.filter((l) => l.std <= sMin * 2 + 2).slice(0, 2000);
  const dist = (p: number[], q: number[]) => Math.abs(p[0]! - q[0]!) + Math.abs(p[1]! - q[1]!) + Math.abs(p[2]! - q[2]!);
  // Greedy clustering, flattest line first; a small radius keeps a backdrop a few levels off the
  // gutter colour (white studio next to white gutters) out of the estimate.
  let best: { score: number; mean: [number, number, number] } | undefined;
  const used = new Uint8Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    if (used[i]) continue;
    const seed = flat[i]!.mean;
    const acc = [0, 0, 0];
    let weight = 0;
    let n = 0;
    const axes = [0, 0];
    for (let j = i; j < flat.length; j++) {
      if (used[j] || dist(flat[j]!.mean, seed) > 9) continue;
      used[j] = 1;
      n++;
      axes[flat[j]!.axis]!++;
      const wgt = 1 / (1 + flat[j]!.std * flat[j]!.std);
      weight += wgt;
      for (let c = 0; c < 3; c++) acc[c] += flat[j]!.mean[c]! * wgt;
    }
    const score = n + (axes[0]! > 0 && axes[1]! > 0 ? 1e6 : 0);
    if (!best || score > best.score) best = { score, mean: [acc[0]! / weight, acc[1]! / weight, acc[2]! / weight] };
  }
  return best!.mean;
}

// ---------------------------------------------------------------------------------------------
// One axis: find the cells along x (columns) or y (rows)

interface Run {
  /** First and last gutter line (inclusive). */
  start: number;
  end: number;
  rmin: number;
  /** 0..1: how clearly this run is a gutter. */
  clarity: number;
  /** How far the content beside the run rises above its floor (Infinity at the sheet edge). */
  contrast: number;
  touchesStart: boolean;
  touchesEnd: boolean;
}

interface AxisResult {
  /** Cell spans [start, end) along the axis, before the safety inset. */
  spans: Array<[number, number]>;
  /** Whether each span's start/end borders a detected gutter or margin (and so gets inset). */
  guarded: Array<[boolean, boolean]>;
  confidence: number;
  problem?: string;
  gutterLevel: number;
}

function median(values: ArrayLike<number>): number {
  const a = Array.from(values).sort((x, y) => x - y);
  if (a.length === 0) return 0;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * Turns a valley [a, b] of the profile into a gutter run with precise edges. The core is where the
 * profile stays near its minimum. Walking outward, the edge is the first step up that persists for
 * three lines and clearly exceeds the wobble seen so far; the steepest rise just after it is where the
 * content begins. This steps over JPEG ringing (a gentle rise up to a block wide next to strong
 * edges) yet still stops at the faint step of a white backdrop against a white gutter.
 */
function refineRun(r: Float64Array, a: number, b: number): Run {
  const n = r.length;
  let xm = a;
  for (let x = a; x <= b; x++) if (r[x]! < r[xm]!) xm = x;
  const rmin = r[xm]!;
  const tight = Math.max(1.5, 0.5 * rmin);
  let cs = xm;
  let ce = xm;
  while (cs > 0 && r[cs - 1]! <= rmin + tight) cs--;
  while (ce < n - 1 && r[ce + 1]! <= rmin + tight) ce++;

  const at = (x: number) => r[x < 0 ? 0 : x >= n ? n - 1 : x]!;
  const edge = (dir: 1 | -1, coreEdge: number): { edge: number; contrast: number; slow: boolean } => {
    const inside = (x: number) => x >= 0 && x <= n - 1;
    if (!inside(coreEdge + dir)) return { edge: coreEdge, contrast: Infinity, slow: false };
    const significant = (x: number) => {
      const next = Math.min(at(x + dir), at(x + 2 * dir), at(x + 3 * dir));
      return next - r[x]! >= Math.max(2.5, 0.5 * (r[x]! - rmin) + 2);
    };
    let x = coreEdge;
    let found = false;
    for (let steps = 0; steps <= 40 && inside(x + dir); steps++, x += dir) {
      if (significant(x)) {
        found = true;
        break;
      }
    }
    if (!found && !inside(x + dir)) {
      // Flat all the way to the sheet edge: this valley is a margin.
      return { edge: x, contrast: Infinity, slow: false };
    }
    if (!found) {
      // No clean step: fall back to the steepest rise near the core and call the edge slow.
      let best = coreEdge;
      for (let y = coreEdge; inside(y + dir) && Math.abs(y - coreEdge) <= 40; y += dir) {
        if (at(y + dir) - r[y]! > at(best + dir) - r[best]!) best = y;
      }
      return { edge: best, contrast: contentContrast(best + dir), slow: true };
    }
    let best = x;
    for (let y = x; inside(y + dir) && Math.abs(y - x) <= 4; y += dir) {
      if (at(y + dir) - r[y]! > at(best + dir) - r[best]!) best = y;
    }
    // JPEG ringing: a strong edge disturbs the whole 16 px block (8 px luma DCT, 16 px with 4:2:0
    // chroma) it sits in, so a small first step may be ringing ahead of the real edge. If a much
    // larger rise follows within the same block, that rise is the edge.
    const rise = (y: number) => at(y + dir) - r[y]!;
    for (let y = best + dir; inside(y + dir) && Math.abs(y - best) <= 16; y += dir) {
      const blockStart = dir > 0 ? Math.floor((y + 1) / 16) * 16 - 2 : Math.ceil(y / 16) * 16 + 1;
      const sameBlock = dir > 0 ? x >= blockStart : x <= blockStart;
      if (sameBlock && rise(y) > 3 * rise(best) && rise(y) > 12) best = y;
    }
    return { edge: best, contrast: contentContrast(best + dir), slow: Math.abs(best - coreEdge) > 20 };

    function contentContrast(first: number): number {
      const lo = Math.max(0, Math.min(first, first + 7 * dir));
      const hi = Math.min(n - 1, Math.max(first, first + 7 * dir));
      return median(r.subarray(lo, hi + 1)) - rmin;
    }
  };
  const left = edge(-1, cs);
  const right = edge(1, ce);
  // A stray 1-3 px line at the sheet edge (a border some generators draw) still makes a margin.
  const touchesStart = left.edge <= 3;
  const touchesEnd = right.edge >= n - 4;

  // A gutter is uniform along its whole length (low rmin) and steps up clearly on both sides. A
  // valley many times deeper than its floor is a gutter even when JPEG chroma subsampling has
  // smeared a thin coloured gutter (raising rmin); flat patches of a photo are never that deep.
  const contrasts = [touchesStart ? Infinity : left.contrast, touchesEnd ? Infinity : right.contrast];
  const contrast = Math.min(...contrasts);
  const depth = Number.isFinite(contrast) ? contrast / Math.max(rmin, 1) : 0;
  const uniformity = clamp01((22 - rmin) / 14 + 0.5 * clamp01((depth - 4) / 6));
  const edgeQuality = clamp01((contrast - 1.5) / 3);
  const slowPenalty = (left.slow && !touchesStart) || (right.slow && !touchesEnd) ? 0.6 : 1;
  return {
    start: left.edge,
    end: right.edge,
    rmin,
    clarity: uniformity * edgeQuality * slowPenalty,
    contrast,
    touchesStart,
    touchesEnd,
  };
}

function findRuns(r: Float64Array): Run[] {
  const n = r.length;
  let floor = Infinity;
  for (let i = 0; i < n; i++) floor = Math.min(floor, r[i]!);
  const med = median(r);
  const threshold = floor + Math.max(4, 0.35 * (med - floor));
  const runs: Run[] = [];
  let x = 0;
  while (x < n) {
    if (r[x]! > threshold) {
      x++;
      continue;
    }
    let e = x;
    while (e + 1 < n && r[e + 1]! <= threshold) e++;
    runs.push(refineRun(r, x, e));
    x = e + 1;
  }
  // Refinement can make neighbouring valleys overlap; keep the clearer one.
  runs.sort((p, q) => p.start - q.start);
  const merged: Run[] = [];
  for (const run of runs) {
    const last = merged[merged.length - 1];
    if (last && run.start <= last.end + 1) {
      if (run.clarity > last.clarity) merged[merged.length - 1] = run;
    } else merged.push(run);
  }
  return merged;
}

function combinations<T>(items: T[], k: number, visit: (pick: T[]) => void, start = 0, acc: T[] = []): void {
  if (acc.length === k) {
    visit(acc.slice());
    return;
  }
  for (let i = start; i <= items.length - (k - acc.length); i++) {
    acc.push(items[i]!);
    combinations(items, k, visit, i + 1, acc);
    acc.pop();
  }
}

/**
 * A valley touching the sheet edge is a margin when it is as gutter-coloured as the flattest lines
 * and truly flat: a white backdrop reaching the edge of a margin-less sheet, or a dark band at the
 * bottom of a photo, is a valley too but sits well above that level.
 */
function marginLike(run: Run, floor: number, length: number): boolean {
  // Sheet margins are narrow (0-80 px on 1696); a flat band wider than 8% is part of a picture.
  const width = run.touchesStart ? run.end + 1 : length - run.start;
  return run.rmin <= floor + Math.max(2, floor) && run.rmin <= 8 && width <= 0.08 * length;
}

/**
 * Where the cells begin when no margin run was found: a margin of a pixel or two is smeared by JPEG
 * into lines that are only part-way to the content, so skip leading lines well below the content level.
 */
function borderStart(r: Float64Array, dir: 1 | -1): number {
  const n = r.length;
  const idx = (k: number) => (dir > 0 ? k : n - 1 - k);
  const inner: number[] = [];
  for (let k = 6; k <= 20 && k < n; k++) inner.push(r[idx(k)]!);
  const content = median(inner);
  let skip = 0;
  for (let k = 0; k < 6 && k < n; k++) if (r[idx(k)]! < 0.75 * content) skip = k + 1;
  return skip;
}

function analyseAxis(r: Float64Array, cells: number, noun: "columns" | "rows", floor: number): AxisResult {
  const n = r.length;
  const runs = findRuns(r);
  // Outer margins: a gutter-coloured valley touching the sheet edge.
  const first = runs[0];
  const last = runs[runs.length - 1];
  const startMargin = first && first.touchesStart && marginLike(first, floor, n) ? first : undefined;
  const endMargin = last && last.touchesEnd && last !== startMargin && marginLike(last, floor, n) ? last : undefined;
  const startSkip = startMargin ? 0 : borderStart(r, 1);
  const endSkip = endMargin ? 0 : borderStart(r, -1);
  const lo = startMargin ? startMargin.end + 1 : startSkip;
  const hi = endMargin ? endMargin.start : n - endSkip; // exclusive
  const startGuard = !!startMargin || startSkip > 0;
  const endGuard = !!endMargin || endSkip > 0;
  const gutterLevel = median(runs.filter((g) => g.clarity > 0.3).map((g) => g.rmin)) || Math.min(...r);

  if (hi - lo < cells * 8) {
    return {
      spans: [],
      guarded: [],
      confidence: 0,
      problem: `the sheet has no content area between its margins along the ${noun}`,
      gutterLevel,
    };
  }
  const pitch = (hi - lo) / cells;
  if (cells === 1) {
    return { spans: [[lo, hi]], guarded: [[startGuard, endGuard]], confidence: 1, gutterLevel };
  }

  // Inner gutters share the margins' colour; a valley well above that level is a flat patch of
  // content (a backdrop column), so its clarity fades with the distance.
  const colourMatch = (g: Run) =>
    clamp01(1 - (g.rmin - floor - Math.max(4, 2 * floor, Number.isFinite(g.contrast) ? 0.15 * g.contrast : 0)) / 12);
  const inner = runs
    .filter((g) => g !== startMargin && g !== endMargin && g.start > lo + 0.25 * pitch && g.end < hi - 0.25 * pitch)
    .map((g) => ({ ...g, clarity: g.clarity * colourMatch(g) }))
    .filter((g) => g.clarity > 0.02)
    .sort((p, q) => q.clarity - p.clarity)
    .slice(0, 16)
    .sort((p, q) => p.start - q.start);

  const need = cells - 1;
  const label = (i: number) => `between ${noun} ${i + 1} and ${i + 2}`;
  if (inner.length < need) {
    // Name the first expected gutter position nothing was found near.
    let missing = 0;
    for (let i = 0; i < need; i++) {
      const expected = lo + (i + 1) * pitch;
      if (!inner.some((g) => Math.abs((g.start + g.end) / 2 - expected) < 0.3 * pitch)) {
        missing = i;
        break;
      }
    }
    return { spans: [], guarded: [], confidence: 0, problem: `no gutter found ${label(missing)}`, gutterLevel };
  }

  let best: { pick: Run[]; cost: number } | undefined;
  combinations(inner, need, (pick) => {
    let cost = 0;
    pick.forEach((g, i) => {
      const dev = ((g.start + g.end) / 2 - (lo + (i + 1) * pitch)) / pitch;
      cost += 12 * dev * dev + (1 - g.clarity);
    });
    if (!best || cost < best.cost) best = { pick, cost };
  });
  const pick = best!.pick;

  const spans: Array<[number, number]> = [];
  const guarded: Array<[boolean, boolean]> = [];
  let s = lo;
  for (let i = 0; i <= need; i++) {
    const g = pick[i];
    const e = g ? g.start : hi;
    spans.push([s, e]);
    guarded.push([i === 0 ? startGuard : true, g ? true : endGuard]);
    if (g) s = g.end + 1;
  }

  const sizes = spans.map(([a, b]) => b - a);
  const mean = sizes.reduce((x, y) => x + y, 0) / sizes.length;
  const dev = Math.max(...sizes.map((x) => Math.abs(x - mean) / mean));
  const regularity = clamp01(1 - (dev - 0.06) / 0.2);
  let weakest = 0;
  pick.forEach((g, i) => {
    if (g.clarity < pick[weakest]!.clarity) weakest = i;
  });
  const clarity = pick[weakest]!.clarity;
  const confidence = clarity * regularity;
  let problem: string | undefined;
  if (regularity < 1 && regularity <= clarity) {
    problem = `the ${noun} found are unevenly sized (${sizes.join(", ")} px)`;
  } else if (clarity < 1) {
    problem = `gutters ${label(weakest)} are unclear`;
  }
  return { spans, guarded, confidence, problem, gutterLevel };
}

// ---------------------------------------------------------------------------------------------
// Per-cell clean-up

/** RMS distance to `g` of one column (x fixed, y in [y0, y1)) or one row (y fixed, x in [x0, x1)). */
function localLine(img: RgbImage, g: readonly number[], vertical: boolean, at: number, from: number, to: number): number {
  const { data, width } = img;
  let acc = 0;
  let count = 0;
  for (let k = from; k < to; k++) {
    const i = vertical ? (k * width + at) * 3 : (at * width + k) * 3;
    const dr = data[i]! - g[0]!, dg = data[i + 1]! - g[1]!, db = data[i + 2]! - g[2]!;
    acc += dr * dr + dg * dg + db * db;
    count++;
  }
  return count ? Math.sqrt(acc / (3 * count)) : Infinity;
}

/**
 * Shrinks a box while its outermost line is still gutter-like within this cell. Catches cells that
 * sit a few pixels off the sheet-wide grid lines, which the global profiles cannot see.
 */
function trimCell(img: RgbImage, g: readonly number[], box: Box, level: number, maxTrim: number): Box {
  let { x, y, width: w, height: h } = box;
  const gutterLike = (v: number) => v <= Math.max(level * 1.6 + 1.5, level + 3);
  for (let pass = 0; pass < maxTrim; pass++) {
    let changed = false;
    if (w > 8 && gutterLike(localLine(img, g, true, x, y, y + h))) { x++; w--; changed = true; }
    if (w > 8 && gutterLike(localLine(img, g, true, x + w - 1, y, y + h))) { w--; changed = true; }
    if (h > 8 && gutterLike(localLine(img, g, false, y, x, x + w))) { y++; h--; changed = true; }
    if (h > 8 && gutterLike(localLine(img, g, false, y + h - 1, x, x + w))) { h--; changed = true; }
    if (!changed) break;
  }
  return { x, y, width: w, height: h };
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Pixels shaved off every side that borders a gutter: JPEG ringing and chroma blur reach ~1 px. */
const SAFETY_INSET = 1;

export function detectGrid(img: RgbImage, rows: number, cols: number): GridDetection {
  const st = lineStats(img);
  const g = gutterColour(st);
  const rCol = distanceProfile(st.colSum, st.colSq, st.colN, g);
  const rRow = distanceProfile(st.rowSum, st.rowSq, st.rowN, g);
  const floor = Math.min(Math.min(...rCol), Math.min(...rRow));
  const xs = analyseAxis(rCol, cols, "columns", floor);
  const ys = analyseAxis(rRow, rows, "rows", floor);
  const confidence = Math.round(Math.min(xs.confidence, ys.confidence) * 100) / 100;
  const weaker = xs.confidence <= ys.confidence ? xs : ys;
  const boxes: Box[] = [];
  if (xs.spans.length === cols && ys.spans.length === rows) {
    const level = Math.max(xs.gutterLevel, ys.gutterLevel);
    for (let ri = 0; ri < rows; ri++) {
      for (let ci = 0; ci < cols; ci++) {
        const [x0, x1] = xs.spans[ci]!;
        const [y0, y1] = ys.spans[ri]!;
        const [gl, gr] = xs.guarded[ci]!;
        const [gt, gb] = ys.guarded[ri]!;
        const box: Box = {
          x: x0 + (gl ? SAFETY_INSET : 0),
          y: y0 + (gt ? SAFETY_INSET : 0),
          width: x1 - x0 - (gl ? SAFETY_INSET : 0) - (gr ? SAFETY_INSET : 0),
          height: y1 - y0 - (gt ? SAFETY_INSET : 0) - (gb ? SAFETY_INSET : 0),
        };
        boxes.push(trimCell(img, g, box, level, 6));
      }
    }
  }
  return {
    boxes,
    confidence,
    problem: weaker.problem ?? (confidence < 1 ? "the grid is only partly clear" : undefined),
    gutterColor: [Math.round(g[0]), Math.round(g[1]), Math.round(g[2])],
  };
}

/**
 * Even split of the area inside uniform outer margins. With `trimGutters` (the sheet shows some
 * grid), each cell then loses gutter-coloured lines along its borders (at most 8% per side), so a
 * regular sheet still yields clean frames; on a plain photo nothing is trimmed, since its "gutter
 * colour" is only its flattest backdrop.
 */
export function equalGrid(img: RgbImage, rows: number, cols: number, trimGutters = true): Box[] {
  const st = lineStats(img);
  const g = gutterColour(st);
  const colProfile = distanceProfile(st.colSum, st.colSq, st.colN, g);
  const rowProfile = distanceProfile(st.rowSum, st.rowSq, st.rowN, g);
  const floor = Math.min(Math.min(...colProfile), Math.min(...rowProfile));
  const bounds = (r: Float64Array): [number, number, number] => {
    const runs = findRuns(r).filter((run) => run.clarity > 0.3);
    const first = runs.find((run) => run.touchesStart && marginLike(run, floor, r.length));
    const last = runs.find((run) => run.touchesEnd && run !== first && marginLike(run, floor, r.length));
    const lo = first ? first.end + 1 + SAFETY_INSET : 0;
    const hi = last ? last.start - SAFETY_INSET : r.length;
    const level = runs.length ? median(runs.map((run) => run.rmin)) : 0;
    // A margin that eats most of the sheet is not a margin; keep the whole sheet then.
    return hi - lo > r.length * 0.5 ? [lo, hi, level] : [0, r.length, level];
  };
  const [x0, x1, lx] = bounds(colProfile);
  const [y0, y1, ly] = bounds(rowProfile);
  const level = Math.max(lx, ly, 1);
  const boxes: Box[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const bx0 = x0 + Math.round((c * (x1 - x0)) / cols);
      const bx1 = x0 + Math.round(((c + 1) * (x1 - x0)) / cols);
      const by0 = y0 + Math.round((r * (y1 - y0)) / rows);
      const by1 = y0 + Math.round(((r + 1) * (y1 - y0)) / rows);
      const box = { x: bx0, y: by0, width: bx1 - bx0, height: by1 - by0 };
      const maxTrim = trimGutters ? Math.floor(Math.min(box.width, box.height) * 0.08) : 0;
      boxes.push(trimCell(img, g, box, level, maxTrim));
    }
  }
  return boxes;
}

export interface CropOptions {
  rows: number;
  cols: number;
  mode: CropMode;
}

export interface CroppedFrame {
  name: string;
  path: string;
  width: number;
  height: number;
}

export interface CropResult {
  boxes: Box[];
  confidence: number;
  sheet: { width: number; height: number };
  frameSize: { width: number; height: number };
  frames: CroppedFrame[];
}

/** The box's pixels as a packed RGB buffer. */
function cutBox(img: RgbImage, box: Box): Buffer {
  const rowBytes = box.width * 3;
  const out = Buffer.allocUnsafe(rowBytes * box.height);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.y + y) * img.width + box.x) * 3;
    img.data.copy(out, y * rowBytes, from, from + rowBytes);
  }
  return out;
}

/**
 * Detects (or evenly splits) the grid and writes `frame-1..N.png` (row-major) into `outDir`, all
 * resized to the median cell size with a centred cover fit: no black bars reach the clips.
 */
export async function cropSheet(file: string, outDir: string, opts: CropOptions): Promise<CropResult> {
  const img = await loadRgb(file);
  const { rows, cols, mode } = opts;
  if (img.width < cols * 16 || img.height < rows * 16) {
    throw new InputError(`The sheet is ${img.width}×${img.height} px, too small for a ${rows}×${cols} grid`);
  }
  const detection = detectGrid(img, rows, cols);
  let boxes: Box[];
  if (mode === "detect") {
    if (detection.confidence < MIN_CONFIDENCE || detection.boxes.length !== rows * cols) {
      throw new InputError(
        `Could not find the ${rows}×${cols} grid with confidence (${detection.confidence.toFixed(2)}): ` +
          `${detection.problem ?? "the gutters are unclear"}. Choose an equal split or revise the contact sheet.`,
      );
    }
    boxes = detection.boxes;
  } else {
    boxes = equalGrid(img, rows, cols, detection.confidence >= 0.25);
  }

  const frameSize = {
    width: Math.round(median(boxes.map((b) => b.width))),
    height: Math.round(median(boxes.map((b) => b.height))),
  };
  const frames = await Promise.all(
    boxes.map(async (box, i) => {
      const name = `frame-${i + 1}`;
      const out = path.join(outDir, `${name}.png`);
      // Cutting in JS is a few row copies; a sharp extract from the whole raw sheet costs ~10 ms each.
      let frame = sharp(cutBox(img, box), { raw: { width: box.width, height: box.height, channels: 3 } });
      if (box.width !== frameSize.width || box.height !== frameSize.height) {
        frame = frame.resize(frameSize.width, frameSize.height, { fit: "cover", position: "centre" });
      }
      await frame
        // Stored (level 0) PNG: photographic frames barely deflate anyway (~3% at level 1, ~25% at
        // the default 6), and this halves the job time. An 830 px frame is ~2 MB, far below Kling's 10 MB.
        .png({ compressionLevel: 0, adaptiveFiltering: false })
        .toFile(out);
      return { name, path: out, ...frameSize };
    }),
  );
  return {
    boxes,
    confidence: detection.confidence,
    sheet: { width: img.width, height: img.height },
    frameSize,
    frames,
  };
}
