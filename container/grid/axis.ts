/**
 * One axis (stage 3): the cells along x (columns) or y (rows) from that axis's profile. Margins
 * bound the content area; of the inner gutter runs, the rows-1 / cols-1 that best fit an even
 * spacing win. Confidence is the weakest chosen gutter's clarity times how evenly sized the cells are.
 */
import { borderStart, marginLike } from "./margins.ts";
import { clamp01, median } from "./math.ts";
import {
  CLEAR_RUN,
  COLOUR_MATCH_CONTRAST,
  COLOUR_MATCH_MIN,
  COLOUR_MATCH_SPAN,
  CORNER_SKIP,
  GUTTER_ZONE,
  MAX_CANDIDATES,
  MIN_CANDIDATE_CLARITY,
  MIN_CELL_PX,
  MISSING_ZONE,
  REGULARITY_SLACK,
  REGULARITY_SPAN,
  SPACING_WEIGHT,
  SPLIT_EDGE_LINES,
  SPLIT_SLACK,
} from "./params.ts";
import { noiseWobble, stripProfile } from "./profile.ts";
import { findRuns, measuredCore, refineRun, type Run } from "./runs.ts";
import type { Rgb, RgbImage } from "./types.ts";

export type Noun = "columns" | "rows";

export interface AxisResult {
  /** Cell spans [start, end) along the axis, before the safety inset. */
  spans: Array<[number, number]>;
  /** Whether each span's start/end borders a detected gutter or margin (and so gets inset). */
  guarded: Array<[boolean, boolean]>;
  confidence: number;
  problem?: string;
  gutterLevel: number;
  /** How clearly each chosen inner gutter is one, sheet-wide, and how evenly sized the cells are. */
  clarities: number[];
  regularity: number;
}

/** The content area between the outer margins (gutter-coloured valleys touching the sheet edge). */
interface ContentArea {
  lo: number;
  /** Exclusive. */
  hi: number;
  startGuard: boolean;
  endGuard: boolean;
  margins: Run[];
}

function contentArea(r: Float64Array, bias: Float64Array, runs: Run[], floor: number, wobble: number): ContentArea {
  const first = runs[0];
  const last = runs[runs.length - 1];
  const startMargin = first?.touchesStart && marginLike(r, first, floor, wobble, bias) ? first : undefined;
  const endMargin = last?.touchesEnd && last !== startMargin && marginLike(r, last, floor, wobble, bias) ? last : undefined;
  const startSkip = startMargin ? 0 : borderStart(r, 1);
  const endSkip = endMargin ? 0 : borderStart(r, -1);
  return {
    lo: startMargin ? startMargin.end + 1 : startSkip,
    hi: endMargin ? endMargin.start : r.length - endSkip,
    startGuard: !!startMargin || startSkip > 0,
    endGuard: !!endMargin || endSkip > 0,
    margins: [startMargin, endMargin].filter((m): m is Run => !!m),
  };
}

/**
 * The inner gutter candidates, in order along the axis. Inner gutters share the margins' colour; a
 * valley well above that level is a flat patch of content (a backdrop column), so its clarity fades
 * with the distance.
 */
function innerCandidates(runs: Run[], area: ContentArea, pitch: number, floor: number): Run[] {
  const colourMatch = (g: Run) =>
    clamp01(
      1 - (g.rmin - floor - Math.max(COLOUR_MATCH_MIN, 2 * floor, Number.isFinite(g.contrast) ? COLOUR_MATCH_CONTRAST * g.contrast : 0)) / COLOUR_MATCH_SPAN,
    );
  return runs
    .filter((g) => !area.margins.includes(g) && g.start > area.lo + GUTTER_ZONE * pitch && g.end < area.hi - GUTTER_ZONE * pitch)
    .map((g) => ({ ...g, clarity: g.clarity * colourMatch(g) }))
    .filter((g) => g.clarity > MIN_CANDIDATE_CLARITY)
    .sort((p, q) => q.clarity - p.clarity)
    .slice(0, MAX_CANDIDATES)
    .sort((p, q) => p.start - q.start);
}

/** The first expected gutter position nothing was found near. */
function firstMissing(inner: Run[], need: number, lo: number, pitch: number): number {
  for (let i = 0; i < need; i++) {
    const expected = lo + (i + 1) * pitch;
    if (!inner.some((g) => Math.abs((g.start + g.end) / 2 - expected) < MISSING_ZONE * pitch)) return i;
  }
  return 0;
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

/** The `need` candidates nearest an even spacing, clearer ones preferred. */
function evenestPick(inner: Run[], need: number, lo: number, pitch: number): Run[] {
  let best: { pick: Run[]; cost: number } | undefined;
  combinations(inner, need, (pick) => {
    let cost = 0;
    pick.forEach((g, i) => {
      const dev = ((g.start + g.end) / 2 - (lo + (i + 1) * pitch)) / pitch;
      cost += SPACING_WEIGHT * dev * dev + (1 - g.clarity);
    });
    if (!best || cost < best.cost) best = { pick, cost };
  });
  return best!.pick;
}

/** How evenly sized the cells are: 1 within REGULARITY_SLACK of their mean size. */
export function regularityOf(spans: Array<[number, number]>): number {
  const sizes = spans.map(([a, b]) => b - a);
  const mean = sizes.reduce((x, y) => x + y, 0) / sizes.length;
  const dev = Math.max(...sizes.map((x) => Math.abs(x - mean) / mean));
  return clamp01(1 - (dev - REGULARITY_SLACK) / REGULARITY_SPAN);
}

const failed = (problem: string, gutterLevel: number): AxisResult => ({
  spans: [],
  guarded: [],
  confidence: 0,
  problem,
  gutterLevel,
  clarities: [],
  regularity: 0,
});

/**
 * One axis's cells from its distance profile `r` (and `bias`, each line's mean colour's distance to
 * the gutter colour). `wideOver`: see findRuns.
 */
export function analyseAxis(r: Float64Array, bias: Float64Array, cells: number, noun: Noun, floor: number, wobble: number, wideOver = Infinity): AxisResult {
  const runs = findRuns(r, wobble, wideOver);
  const area = contentArea(r, bias, runs, floor, wobble);
  const { lo, hi, startGuard, endGuard } = area;
  const gutterLevel = median(runs.filter((g) => g.clarity > CLEAR_RUN).map((g) => g.rmin)) || Math.min(...r);
  if (hi - lo < cells * MIN_CELL_PX) return failed(`the sheet has no content area between its margins along the ${noun}`, gutterLevel);
  const pitch = (hi - lo) / cells;
  if (cells === 1) return { spans: [[lo, hi]], guarded: [[startGuard, endGuard]], confidence: 1, gutterLevel, clarities: [], regularity: 1 };
  const inner = innerCandidates(runs, area, pitch, floor);
  const need = cells - 1;
  if (inner.length < need) {
    const missing = firstMissing(inner, need, lo, pitch);
    return failed(`no gutter found between ${noun} ${missing + 1} and ${missing + 2}`, gutterLevel);
  }
  const pick = evenestPick(inner, need, lo, pitch);
  const spans: Array<[number, number]> = [];
  const guarded: Array<[boolean, boolean]> = [];
  let s = lo;
  for (let i = 0; i <= need; i++) {
    const g = pick[i];
    spans.push([s, g ? g.start : hi]);
    guarded.push([i === 0 ? startGuard : true, g ? true : endGuard]);
    if (g) s = g.end + 1;
  }
  return {
    spans,
    guarded,
    gutterLevel,
    ...axisConfidence(
      spans,
      pick.map((g) => g.clarity),
      regularityOf(spans),
      noun,
    ),
  };
}

/** An axis's confidence: its weakest gutter's clarity times how evenly sized its cells are. */
export function axisConfidence(spans: Array<[number, number]>, clarities: number[], regularity: number, noun: Noun) {
  let weakest = 0;
  clarities.forEach((c, i) => {
    if (c < clarities[weakest]!) weakest = i;
  });
  const clarity = clarities.length ? clarities[weakest]! : 1;
  let problem: string | undefined;
  if (regularity < 1 && regularity <= clarity) {
    problem = `the ${noun} found are unevenly sized (${spans.map(([a, b]) => b - a).join(", ")} px)`;
  } else if (clarity < 1) {
    problem = `gutters between ${noun} ${weakest + 1} and ${weakest + 2} are unclear`;
  }
  return { confidence: clarity * regularity, problem, clarities, regularity };
}

/** Gutter widths along an axis, between its cells. */
export const gutterWidths = (a: AxisResult) => a.spans.slice(1).map(([s0], i) => s0 - a.spans[i]![1]);

/**
 * A gutter still far wider than the sheet's others after the retry has taken in a faint band of the
 * cells on one side of it, and JPEG ringing beside a strong edge in one of those cells can hide the
 * faint step in the sheet-wide profile (a white studio two levels off the gutter, under the chroma
 * stripes of a figure's edge in the cell above). Across the lines it spans, each row of cells (each
 * column, for row gutters) is measured on its own and a line counts as close to the gutter as its
 * clearest strip shows; the gutter is then found again in that profile, and kept if it comes out
 * no wider than `limit`.
 */
export function splitWideGutters(img: RgbImage, g: Rgb, noise: number, vertical: boolean, axis: AxisResult, cross: AxisResult, limit: number): AxisResult {
  const n = vertical ? img.width : img.height;
  const spans = axis.spans.map(([a, b]): [number, number] => [a, b]);
  for (let i = 0; i + 1 < spans.length; i++) {
    if (spans[i + 1]![0] - spans[i]![1] <= limit) continue;
    // The gutter's lines and a few lines of the strong edges beyond them.
    const from = Math.max(0, spans[i]![1] - SPLIT_EDGE_LINES);
    const to = Math.min(n, spans[i + 1]![0] + SPLIT_EDGE_LINES);
    const m = new Float64Array(to - from).fill(Infinity);
    let shortest = Infinity;
    for (const [c0, c1] of cross.spans) {
      const a0 = Math.min(c0 + CORNER_SKIP, c1 - 1);
      const a1 = Math.max(c1 - CORNER_SKIP, a0 + 1);
      shortest = Math.min(shortest, a1 - a0);
      const p = stripProfile(img, g, noise, vertical, from, to, a0, a1);
      for (let k = 0; k < m.length; k++) m[k] = Math.min(m[k]!, p[k]!);
    }
    const a = spans[i]![1] - from;
    const b = spans[i + 1]![0] - 1 - from;
    const run = refineRun(m, a, b, { wobble: noiseWobble(noise, shortest), coreTolerance: measuredCore(m, a, b), origin: from });
    if (run.end - run.start + 1 > limit || run.start < a - SPLIT_SLACK || run.end > b + SPLIT_SLACK) continue;
    spans[i]![1] = from + run.start;
    spans[i + 1]![0] = from + run.end + 1;
  }
  return { ...axis, spans };
}
