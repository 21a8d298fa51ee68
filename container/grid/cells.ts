/**
 * Each cell's own edges (stage 4), its box, and the grid's confidence once they are found. The
 * shared lines found sheet-wide are where the gutter is gutter in every row (or column) of cells; a
 * cell drawn a few pixels off, or a pixel askew, starts somewhere near that line. So each boundary
 * is looked at again from the pixels of one row of cells only (one column of cells for the rows),
 * within EDGE_REACH of the shared line, with the same edge logic as the sheet-wide runs.
 */
import { axisConfidence, type AxisResult, type Noun } from "./axis.ts";
import type { GridFit } from "./fit.ts";
import { borderStart } from "./margins.ts";
import { clamp01, median, quantile } from "./math.ts";
import {
  BAND_HOLD,
  CONTENT_BAND,
  CONTENT_CLEAR_WOBBLES,
  CONTENT_FLOOR_FACTOR,
  CONTENT_INNER_FRACTION,
  CONTENT_MIN_STEP,
  CONTENT_STEADY,
  CORNER_SKIP,
  EDGE_REACH,
  FAINT_JPEG_CONTENT_LEVEL,
  FAINT_LEVELS,
  GUTTER_LEVEL_QUANTILE,
  GUTTER_LIKE_MIN,
  JPEG_LUMA_BLOCK,
  LEVEL_LINES,
  MIN_CELL_PX,
  MIN_CONTENT_LINES,
  OFFSET_REACH,
  SAFETY_INSET,
  SEPARATION_BAND,
  SEPARATION_GAP,
  SEPARATION_NEAR,
  SEPARATION_WOBBLES,
  SHARED_FAINT_MAX,
  SLOPE_FRACTION,
  SOFT_EDGE_LINES,
  STUDIO_MIN_GAP,
  STUDIO_RUN,
  STUDIO_SAMPLES,
  TRIM_FACTOR,
  TRIM_MIN,
  TRIM_SLACK,
} from "./params.ts";
import { localLine, noiseWobble, stripProfile } from "./profile.ts";
import { measuredCore, refineRun, type Run } from "./runs.ts";
import type { Box, Rgb, RgbImage } from "./types.ts";

export interface CellSpan {
  start: number;
  /** Exclusive. */
  end: number;
  guardStart: boolean;
  guardEnd: boolean;
}

/** One row (column) of cells whose boundaries along the other axis are being refined. */
interface Strips {
  img: RgbImage;
  g: Rgb;
  noise: number;
  vertical: boolean;
  /** The sheet's length along the axis. */
  n: number;
  level: number;
  gutterLike: number;
  /** The strip's extent across the axis (the cells' span less their corners). */
  a0: number;
  a1: number;
  wobble: number;
}

/** One boundary's strip profile `p` (sheet lines [from, to)) and the cells on each side of it. */
interface Boundary {
  p: Float64Array;
  from: number;
  to: number;
  before?: CellSpan;
  after?: CellSpan;
}

/** The valley a boundary's edges are walked from: strip lines [va, vb], and whether it is a faint margin. */
interface Valley {
  va: number;
  vb: number;
  faint: boolean;
}

/**
 * How clearly one strip shows a gutter between the cells' edges found in it (gutter lines [e0, s1)
 * of profile `p`): the gutter at a gutter-like level, and on each side the cell's first lines all
 * above the gutter's lines next to them. A person sees a faint studio two levels off a white gutter
 * as an edge because it holds along the whole strip, however the gutter's lines wobble with JPEG
 * ringing from a strong edge on its other side; 0 when a side is not clearly apart.
 */
export function separation(p: Float64Array, e0: number, s1: number, wobble: number, gutterLike: number): number {
  if (s1 - e0 < 1 || e0 < SEPARATION_BAND || s1 + SEPARATION_BAND > p.length) return 0;
  // The edge lines themselves are part way up: each side is judged one line in.
  const inner = s1 - e0 >= 3 ? p.subarray(e0 + 1, s1 - 1) : p.subarray(e0, s1);
  if (median(inner) > gutterLike) return 0;
  // Every line of the gutter and every line of the cell are averages over the strip, so a gap of
  // half a level between the nearest of them, beyond three times their sampling error, is an edge.
  const side = (gutter: Float64Array, content: Float64Array) =>
    clamp01((Math.min(...content) - Math.max(...gutter) - SEPARATION_WOBBLES * wobble) / SEPARATION_GAP);
  const near = (a: number, b: number) => inner.subarray(Math.max(0, a), Math.min(inner.length, b));
  // The gutter's lines nearest each side: up to four, and no more than its half on that side (the
  // other half may ring with a strong edge across it).
  const k = Math.max(1, Math.min(SEPARATION_NEAR, inner.length >> 1));
  return Math.min(
    side(near(0, k), p.subarray(e0 - SEPARATION_BAND, e0 - 1)),
    side(near(inner.length - k, inner.length), p.subarray(s1 + 1, s1 + SEPARATION_BAND)),
  );
}

/**
 * A faint cell edge found from the cell's side of strip profile `p` (starting at sheet line
 * `origin`; shared gutter lines [va, vb]; `more(lo, hi)` gives the same profile for strip lines
 * beyond it): where the cell's content beyond any offset and the edge's own JPEG block is steady
 * and clearly off the gutter, the cell begins after the last line (walking in from that content)
 * that is below half way between the two. Every line that walk crosses is content, so the cell may
 * reach as far into the shared gutter as it does (a shared gutter found too wide takes in a faint
 * band of the cells). Returns the strip index of the cell's first line (`side` 1, the cell after
 * the gutter) or of the first line past its last (`side` -1), or undefined when the content is not
 * steady or no line is below half.
 */
export function stepFromContent(
  p: Float64Array,
  origin: number,
  va: number,
  vb: number,
  side: 1 | -1,
  wobble: number,
  more: (lo: number, hi: number) => Float64Array,
): number | undefined {
  const reach = 2 * OFFSET_REACH;
  const content = side > 0 ? more(vb + reach + 1, vb + reach + 1 + CONTENT_BAND) : more(va - reach - CONTENT_BAND, va - reach);
  if (content.length < MIN_CONTENT_LINES) return undefined;
  const c = median(content);
  const g = quantile(Array.from(p.subarray(va, vb + 1)), GUTTER_LEVEL_QUANTILE);
  if (c - g < CONTENT_MIN_STEP + CONTENT_CLEAR_WOBBLES * wobble || Math.max(...content) - Math.min(...content) > CONTENT_STEADY * (c - g)) return undefined;
  const walk = (fraction: number) => {
    const level = g + fraction * (c - g);
    if (side > 0) {
      let x = Math.min(p.length - 1, vb + reach);
      while (x > va && p[x]! >= level) x--;
      return p[x]! < level ? x + 1 : undefined;
    }
    let x = Math.max(0, va - reach - 1);
    while (x < vb && p[x]! >= level) x++;
    return p[x]! < level ? x : undefined;
  };
  // Half way; but a faint step found to begin on an 8 px block boundary is JPEG's, as in halfWayUp:
  // the block the edge lies in is coded as little more than its mean, so its lines on the gutter's
  // side sit part way up, and the edge is where the lines are three quarters up.
  const edge = walk(0.5);
  return edge !== undefined && c - g < FAINT_LEVELS && (origin + edge) % JPEG_LUMA_BLOCK === 0 ? walk(FAINT_JPEG_CONTENT_LEVEL) : edge;
}

/**
 * At a margin-less edge where the cell's own content reads gutter-like too (a studio a few levels
 * off a white gutter), a cell drawn a few pixels in from the edge leaves a line or two at the
 * gutter's level before it. Too few for a core to measure a step against, so the cell begins where
 * the lines are half way up from them to the studio beyond.
 */
function studioEdge(s: Strips, b: Boundary, atEdge: (j: number) => number): void {
  const { p } = b;
  const content = median(Array.from({ length: STUDIO_SAMPLES }, (_, k) => p[atEdge(Math.min(p.length - 1, 2 * OFFSET_REACH + k))]!));
  const base = Math.min(p[atEdge(0)]!, s.level);
  let gap = 0;
  while (gap <= OFFSET_REACH && p[atEdge(gap)]! < base + 0.5 * (content - base)) gap++;
  if (gap === 0 || gap > OFFSET_REACH || content - base < STUDIO_MIN_GAP) return;
  if (b.after) [b.after.start, b.after.guardStart] = [b.from + gap, true];
  else [b.before!.end, b.before!.guardEnd] = [b.to - gap, true];
}

/**
 * At a margin-less edge, a cell drawn a pixel or two in from the sheet's edge leaves a line or two
 * of gutter there that JPEG smears toward the cell's content, so no line reads gutter-like and no
 * margin was found sheet-wide (its neighbours reach the edge). As sheet-wide (borderStart), leading
 * lines well below the content's level are that smeared gutter: the cell begins after them.
 */
function smearedEdge(b: Boundary): void {
  const skip = borderStart(b.p, b.after ? 1 : -1);
  if (skip === 0) return;
  if (b.after) [b.after.start, b.after.guardStart] = [b.from + skip, true];
  else [b.before!.end, b.before!.guardEnd] = [b.to - skip, true];
}

/**
 * The valley at the sheet's edge: a margin (or a cell drawn a few pixels in from a margin-less edge)
 * is a run of gutter-like lines from the edge itself. Undefined when there is nothing to refine.
 */
function sheetEdgeValley(s: Strips, b: Boundary): Valley | undefined {
  const { p, before, after, from } = b;
  const atEdge = (j: number) => (after ? j : p.length - 1 - j);
  let run = 0;
  while (run < p.length && p[atEdge(run)]! <= s.gutterLike) run++;
  // Without a margin found sheet-wide, only a cell set in by a few pixels: a white backdrop
  // reaching a margin-less sheet's edge is content, not margin.
  const guarded = after ? after.guardStart : before!.guardEnd;
  if (run >= p.length - 1 && guarded) {
    // The whole strip reads as gutter-like: a faint white backdrop against a white margin.
    // The margin found sheet-wide is the valley, and the edge logic finds the faint step.
    return after ? { va: 0, vb: after.start - 1 - from, faint: true } : { va: before!.end - from, vb: p.length - 1, faint: true };
  }
  if (!guarded && run > STUDIO_RUN) {
    studioEdge(s, b, atEdge);
    return undefined;
  }
  if (!guarded && run === 0) {
    smearedEdge(b);
    return undefined;
  }
  if (run === 0 || run >= p.length - 1) return undefined;
  return after ? { va: 0, vb: run - 1, faint: false } : { va: p.length - run, vb: p.length - 1, faint: false };
}

/**
 * Moving a cell's edge out past the shared line (a faint white edge the sheet-wide profile missed)
 * needs every line crossed, sheet lines [lo, hi), to stand clearly above this strip's gutter; and
 * only where the shared line itself has faint content past it (level `shared`): beside a strong
 * edge the shared line is sure, and what lies beyond it is JPEG ringing, not a cell.
 */
function clearlyContent(s: Strips, b: Boundary, local: Run, faint: boolean, lo: number, hi: number, inner: number, shared: number, cellSide: 1 | -1): boolean {
  const { p, from } = b;
  if (shared > SHARED_FAINT_MAX) return false;
  // Against a margin that reads gutter-like end to end, the walk itself found the faint step
  // from the margin's own steadiness; a multiple of its floor would refuse a studio 1-2 levels off.
  const content = Math.max(faint ? 0 : CONTENT_FLOOR_FACTOR * local.rmin, local.rmin + CONTENT_MIN_STEP + s.wobble, CONTENT_INNER_FRACTION * inner);
  for (let j = lo; j < hi; j++) if (p[j - from]! < content) return false;
  // And a band of content holds its level past the cell's own softened edge (two lines), where
  // JPEG ringing from that edge, filling the rest of its 8 px block of white margin, wobbles.
  const band = cellSide < 0 ? p.subarray(lo + SOFT_EDGE_LINES - from, hi - from) : p.subarray(lo - from, hi - SOFT_EDGE_LINES - from);
  return band.length < 3 || Math.max(...band) - Math.min(...band) <= BAND_HOLD * (Math.min(...band) - local.rmin);
}

/** Which sides the walk gave, and which it lost (it ran off the strip: no step inside it). */
interface Taken {
  tookStart: boolean;
  tookEnd: boolean;
  lostStart: boolean;
  lostEnd: boolean;
}

/**
 * The edges the walk found, where they are believable. A cell's own edge is not further in from the
 * shared line than a drawn cell is off its line (the shared line is where its neighbours end, each
 * at most OFFSET_REACH off): a walk that goes further has gone into the picture, through its own
 * gutter-coloured border (a product shot's pure-white edge), which no measure of these pixels tells
 * from the gutter.
 */
function takeWalkedEdges(s: Strips, b: Boundary, local: Run, faint: boolean): Taken {
  const { p, from, to, before, after } = b;
  const levelOf = (lo: number, hi: number) => median(p.subarray(Math.max(0, lo), Math.min(p.length, hi)));
  const t: Taken = { tookStart: false, tookEnd: false, lostStart: local.start <= 0 && from > 0, lostEnd: local.end >= p.length - 1 && to < s.n };
  if (before && !t.lostStart && before.end - (from + local.start) <= 2 * OFFSET_REACH) {
    let end = from + local.start;
    const inner = levelOf(local.start - LEVEL_LINES, local.start);
    const shared = levelOf(before.end - from - LEVEL_LINES, before.end - from);
    t.tookStart = !(end > before.end && !clearlyContent(s, b, local, faint, before.end, end, inner, shared, -1));
    if (!t.tookStart) end = before.end;
    before.end = Math.max(before.start + MIN_CELL_PX, end);
    before.guardEnd = true;
  }
  if (after && !t.lostEnd && from + local.end + 1 - after.start <= 2 * OFFSET_REACH) {
    let start = from + local.end + 1;
    const inner = levelOf(local.end + 1, local.end + 1 + LEVEL_LINES);
    const shared = levelOf(after.start - from, after.start - from + LEVEL_LINES);
    t.tookEnd = !(start < after.start && !clearlyContent(s, b, local, faint, start, after.start, inner, shared, 1));
    if (!t.tookEnd) start = after.start;
    after.start = Math.min(after.end - MIN_CELL_PX, start);
    after.guardStart = true;
  }
  return t;
}

/**
 * A walk that went further in than a drawn cell is off its line may have placed the edge half way
 * up the picture's own slope beyond a softer cell edge (a figure's shading starting two lines in):
 * the cell then ends where the lines first rise clearly off the gutter, if that is within reach of
 * the shared line. Otherwise the shared line stands.
 */
function slopeEdges(s: Strips, b: Boundary, local: Run, t: Taken): void {
  const { p, from, before, after } = b;
  const clearly = (edge: number) => local.rmin + Math.max(CONTENT_MIN_STEP + s.wobble, SLOPE_FRACTION * (p[edge]! - local.rmin));
  if (before && !t.tookStart && !t.lostStart && before.end - from - local.start > 2 * OFFSET_REACH) {
    const shared = before.end - from;
    let j = shared - 1;
    while (j > local.start && p[j]! < clearly(local.start)) j--;
    if (shared - (j + 1) <= 2 * OFFSET_REACH) [before.end, before.guardEnd, t.tookStart] = [from + j + 1, true, true];
  }
  if (after && !t.tookEnd && !t.lostEnd && from + local.end + 1 - after.start > 2 * OFFSET_REACH) {
    const shared = after.start - from;
    let j = shared;
    while (j < local.end && p[j]! < clearly(local.end)) j++;
    if (j - shared <= 2 * OFFSET_REACH) [after.start, after.guardStart, t.tookEnd] = [from + j, true, true];
  }
}

/**
 * Between two cells, a side whose edge the walk did not give is looked for from the cell's own
 * steady studio inward (a studio two levels off a white gutter, beside a gutter whose lines wobble
 * with JPEG ringing from a strong edge on its other side).
 */
function contentEdges(s: Strips, b: Boundary, v: Valley, t: Taken): void {
  const { p, from, before, after } = b;
  if (!before || !after) return;
  const more = (lo: number, hi: number) => {
    const [l, h] = [Math.max(0, from + lo), Math.min(s.n, from + hi)];
    return h > l ? stripProfile(s.img, s.g, s.noise, s.vertical, l, h, s.a0, s.a1) : new Float64Array(0);
  };
  const end = t.tookStart ? undefined : stepFromContent(p, from, v.va, v.vb, -1, s.wobble, more);
  if (end !== undefined) [before.end, before.guardEnd] = [Math.max(before.start + MIN_CELL_PX, from + end), true];
  const start = t.tookEnd ? undefined : stepFromContent(p, from, v.va, v.vb, 1, s.wobble, more);
  if (start !== undefined) [after.start, after.guardStart] = [Math.min(after.end - MIN_CELL_PX, from + start), true];
}

/** Refines the edges beside boundary k of `cells` (0: the sheet's start; cells.length: its end); returns its separation. */
function refineBoundary(s: Strips, cells: CellSpan[], k: number): number | undefined {
  const before = cells[k - 1];
  const after = cells[k];
  // The strip across this boundary: from inside the cell before it to inside the cell after it.
  const from = Math.max(0, before ? before.end - EDGE_REACH : 0);
  const to = Math.min(s.n, after ? after.start + EDGE_REACH : s.n);
  if (to - from < 3) return undefined;
  const b: Boundary = { p: stripProfile(s.img, s.g, s.noise, s.vertical, from, to, s.a0, s.a1), from, to, before, after };
  // Between two cells, the shared gutter lines, in strip coordinates.
  const v = before && after ? { va: before.end - from, vb: after.start - 1 - from, faint: false } : sheetEdgeValley(s, b);
  if (!v || v.vb < v.va) return undefined;
  // Against a margin whose lines all read gutter-like, the edge is faint, and the margin's own
  // steadiness sets how far its core reaches (a fixed 1.5 levels takes in the edge's first line).
  const local = refineRun(b.p, v.va, v.vb, {
    wobble: s.wobble,
    origin: from,
    ...(v.faint ? { coreTolerance: measuredCore(b.p, v.va, v.vb), faint: true } : {}),
  });
  if (local.rmin > s.gutterLike) return undefined; // no gutter here after all: keep the shared line
  const taken = takeWalkedEdges(s, b, local, v.faint);
  if (!v.faint) {
    slopeEdges(s, b, local, taken);
    contentEdges(s, b, v, taken);
  }
  return before && after ? separation(b.p, before.end - from, after.start - from, s.wobble, s.gutterLike) : undefined;
}

/**
 * Each cell's own edges along one axis. Returns spans[cross][cell], and for each inner boundary how
 * clearly a gutter shows in every strip across it (its weakest strip), which is what a person sees:
 * a gutter clear from end to end, however faint one of its sides.
 */
export function refineAxis(
  img: RgbImage,
  g: Rgb,
  noise: number,
  vertical: boolean,
  axis: AxisResult,
  cross: AxisResult,
  level: number,
): { cells: CellSpan[][]; clarity: number[] } {
  const n = vertical ? img.width : img.height;
  // Per inner boundary, how clearly each strip across it shows the gutter (see separation).
  const seen = axis.spans.slice(1).map((): number[] => []);
  const gutterLike = Math.max(2 * level, level + GUTTER_LIKE_MIN) + noiseWobble(noise, Math.max(1, cross.spans[0]![1] - cross.spans[0]![0] - 2 * CORNER_SKIP));
  const out: CellSpan[][] = [];
  for (const [c0, c1] of cross.spans) {
    const a0 = Math.min(c0 + CORNER_SKIP, c1 - 1);
    const a1 = Math.max(c1 - CORNER_SKIP, a0 + 1);
    const strips: Strips = { img, g, noise, vertical, n, level, gutterLike, a0, a1, wobble: noiseWobble(noise, a1 - a0) };
    const cells: CellSpan[] = axis.spans.map(([start, end], i) => ({ start, end, guardStart: axis.guarded[i]![0], guardEnd: axis.guarded[i]![1] }));
    for (let k = 0; k <= cells.length; k++) {
      const clear = refineBoundary(strips, cells, k);
      if (clear !== undefined) seen[k - 1]!.push(clear);
    }
    out.push(cells);
  }
  const clarity = seen.map((c) => (c.length === cross.spans.length ? Math.min(...c) : 0));
  return { cells: out, clarity };
}

/**
 * Each cell's own edges for a fitted grid, and the grid's confidence with each gutter as clear as it
 * is along its whole length: a gutter the sheet-wide profile found faint (one side a studio two
 * levels off a white gutter, the other blurred by cells drawn a few pixels off) is confident when
 * every strip across it shows it with both edges.
 */
export function refineGrid(img: RgbImage, fit: GridFit) {
  const { g, noise } = fit;
  const level = Math.max(fit.xs.gutterLevel, fit.ys.gutterLevel);
  const x = refineAxis(img, g, noise, true, fit.xs, fit.ys, level); // cells [row][col]
  const y = refineAxis(img, g, noise, false, fit.ys, fit.xs, level); // cells [col][row]
  const clearer = (axis: AxisResult, strips: number[], noun: Noun): AxisResult => {
    const along = axisConfidence(
      axis.spans,
      axis.clarities.map((c, i) => Math.max(c, strips[i] ?? 0)),
      axis.regularity,
      noun,
    );
    return along.confidence > axis.confidence ? { ...axis, ...along } : axis;
  };
  const xs = clearer(fit.xs, x.clarity, "columns");
  const ys = clearer(fit.ys, y.clarity, "rows");
  const confidence = Math.round(Math.min(xs.confidence, ys.confidence) * 100) / 100;
  return { ...fit, xs, ys, confidence, xCells: x.cells, yCells: y.cells };
}

/** Row-major boxes from each cell's own spans, shrunk by the safety inset on guarded sides. */
export function cellBoxes(xCells: CellSpan[][], yCells: CellSpan[][], rows: number, cols: number): Box[] {
  const boxes: Box[] = [];
  for (let ri = 0; ri < rows; ri++) {
    for (let ci = 0; ci < cols; ci++) {
      const cx = xCells[ri]![ci]!;
      const cy = yCells[ci]![ri]!;
      const x = cx.start + (cx.guardStart ? SAFETY_INSET : 0);
      const y = cy.start + (cy.guardStart ? SAFETY_INSET : 0);
      boxes.push({ x, y, width: cx.end - (cx.guardEnd ? SAFETY_INSET : 0) - x, height: cy.end - (cy.guardEnd ? SAFETY_INSET : 0) - y });
    }
  }
  return boxes;
}

/**
 * Shrinks a box while its outermost line is still gutter-like within this cell. Catches cells that
 * sit a few pixels off the sheet-wide grid lines, which the global profiles cannot see.
 */
export function trimCell(img: RgbImage, g: Rgb, box: Box, level: number, maxTrim: number): Box {
  let { x, y, width: w, height: h } = box;
  const gutterLike = (v: number) => v <= Math.max(level * TRIM_FACTOR + TRIM_SLACK, level + TRIM_MIN);
  for (let pass = 0; pass < maxTrim; pass++) {
    let changed = false;
    if (w > MIN_CELL_PX && gutterLike(localLine(img, g, true, x, y, y + h))) {
      x++;
      w--;
      changed = true;
    }
    if (w > MIN_CELL_PX && gutterLike(localLine(img, g, true, x + w - 1, y, y + h))) {
      w--;
      changed = true;
    }
    if (h > MIN_CELL_PX && gutterLike(localLine(img, g, false, y, x, x + w))) {
      y++;
      h--;
      changed = true;
    }
    if (h > MIN_CELL_PX && gutterLike(localLine(img, g, false, y + h - 1, x, x + w))) {
      h--;
      changed = true;
    }
    if (!changed) break;
  }
  return { x, y, width: w, height: h };
}
