/**
 * Gutter runs (stage 2): the valleys of a line profile, each with precise edges and a clarity. The
 * core of a valley is where the profile stays near its minimum. Walking outward, the edge is the
 * first step up that persists for a few lines and clearly exceeds the wobble seen so far; the
 * steepest rise just after it is where the content begins. This steps over JPEG ringing (a gentle
 * rise up to a block wide next to strong edges) yet still stops at the faint step of a white
 * backdrop against a white gutter.
 */
import { clamp01, median, quantile } from "./math.ts";
import {
  BEYOND_LINES,
  BLOCK_RISE_LINES,
  BLOCK_RISE_MIN,
  BLOCK_RISE_RATIO,
  CONTRAST_LINES,
  CORE_FLOOR_FRACTION,
  CORE_TOLERANCE,
  CORE_WOBBLES,
  DEPTH_BONUS,
  DEPTH_MIN,
  DEPTH_SPAN,
  DIP_TOLERANCE,
  EDGE_CONTRAST_MIN,
  EDGE_CONTRAST_SPAN,
  FAINT_ABOVE_CORE,
  FAINT_CONTRAST_MIN,
  FAINT_JPEG_LEVEL,
  FAINT_LEVELS,
  FAINT_SPREADS,
  FAINT_STEP_MIN,
  FLANK_FOOT,
  FLANK_REACH,
  FLANK_TOP,
  FLAT_CHANGE,
  FLAT_FRACTION,
  FLATNESS_OFFSET,
  FLATNESS_SPAN,
  JPEG_BLOCK,
  JPEG_LUMA_BLOCK,
  LEVEL_OFF_LINES,
  MARGIN_FRACTION,
  MEASURED_CORE_MIN,
  MEASURED_CORE_SPREADS,
  MIN_STEADY_LINES,
  MIN_STEP,
  MIN_STEP_RANGE,
  PLATEAU_MIN_SPAN,
  PLATEAU_SKIP,
  PLATEAU_SPREAD,
  RISE_WINDOW,
  ROBUST_SIGMA,
  RUN_THRESHOLD_FRACTION,
  RUN_THRESHOLD_MIN,
  SLOW_EDGE_LINES,
  SLOW_FLANK,
  SLOW_PENALTY,
  SOFT_STEP_LINES,
  STEADY_FLOOR,
  STEADY_QUANTILE,
  STEADY_RATIO_MIN,
  STEADY_RATIO_SPAN,
  STEP_GROWTH,
  STEP_GROWTH_OFFSET,
  STEP_PERSIST,
  STRAY_BORDER,
  UNIFORM_RMIN,
  UNIFORM_SPAN,
  WALK_REACH,
} from "./params.ts";

export interface Run {
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

export interface RunOptions {
  /** The profile's line-to-line sampling error left by the noise correction (see noiseWobble). */
  wobble?: number;
  /** How far above its minimum a line is still the valley's core. */
  coreTolerance?: number;
  /** Where r[0] lies on the sheet (JPEG blocks are aligned to the sheet). */
  origin?: number;
  /**
   * The valley is a margin whose lines all read gutter-like against a cell's faint edge: its core is
   * measured from its own steadiness, and a line counts as the edge once what follows stands clearly
   * above that core, however small the step.
   */
  faint?: boolean;
}

/** A valley being refined: its profile, floor and the step an edge must make. */
interface Valley {
  r: Float64Array;
  n: number;
  rmin: number;
  wobble: number;
  origin: number;
  faint: boolean;
  minStep: number;
  /** For a faint edge: the core's level and the step that takes a line clearly above it. */
  coreLevel: number;
  faintStep: number;
}

interface Edge {
  edge: number;
  contrast: number;
  slow: boolean;
}

const at = (v: Valley, x: number) => v.r[x < 0 ? 0 : x >= v.n ? v.n - 1 : x]!;
const inside = (v: Valley, x: number) => x >= 0 && x <= v.n - 1;
const rise = (v: Valley, y: number, dir: 1 | -1) => at(v, y + dir) - v.r[y]!;

/** The lowest of lines x + from·dir .. x + to·dir. */
function lowestAhead(v: Valley, x: number, dir: 1 | -1, from: number, to: number): number {
  let low = Infinity;
  for (let k = from; k <= to; k++) low = Math.min(low, at(v, x + k * dir));
  return low;
}

/** Whether line x is where the profile steps up (toward `dir`) for good. */
function significant(v: Valley, x: number, dir: 1 | -1): boolean {
  const next = lowestAhead(v, x, dir, 1, STEP_PERSIST);
  if (v.faint && next - v.coreLevel >= v.faintStep && v.r[x]! - v.coreLevel < v.faintStep / 2) return true;
  const threshold = Math.max(v.minStep, STEP_GROWTH * (v.r[x]! - v.rmin) + v.minStep - STEP_GROWTH_OFFSET) + v.wobble;
  if (next - v.r[x]! >= threshold) return true;
  // A step softened over two lines (JPEG, resampling): the line after x is on its way up.
  const after = lowestAhead(v, x, dir, 2, SOFT_STEP_LINES);
  return at(v, x + dir) >= v.r[x]! && after - v.r[x]! >= threshold;
}

/** Median level of the lines just past an edge, above the valley's floor. */
function contentContrast(v: Valley, first: number, dir: 1 | -1): number {
  const lo = Math.max(0, Math.min(first, first + CONTRAST_LINES * dir));
  const hi = Math.min(v.n - 1, Math.max(first, first + CONTRAST_LINES * dir));
  return median(v.r.subarray(lo, hi + 1)) - v.rmin;
}

/**
 * A step softened by JPEG or resampling rises over several lines; the edge is where it is half
 * way up (from its foot to the top of its flank), as a person would place it, not at its foot.
 */
function halfWayUp(v: Valley, foot: number, dir: 1 | -1): number {
  const { r } = v;
  // The top of the flank: where the rise ends, or levels off for two lines (a strip of backdrop
  // before a figure's edge is not part of the cell's edge).
  let top = foot;
  for (
    let y = foot + dir, flat = 0;
    inside(v, y) && Math.abs(y - foot) <= FLANK_REACH && r[y]! >= r[top]! - DIP_TOLERANCE && flat < LEVEL_OFF_LINES;
    y += dir
  ) {
    flat = Math.abs(r[y]! - r[y - dir]!) <= Math.max(FLAT_CHANGE, FLAT_FRACTION * (r[top]! - r[foot]!)) && top !== foot ? flat + 1 : 0;
    if (r[y]! > r[top]!) top = y;
  }
  // A faint step (a few levels) that begins on an 8 px block boundary is JPEG's: a block with
  // the edge somewhere inside it is coded as little more than its mean, so its first lines sit
  // part way up wherever the edge is. The edge is then where the lines are nearly at the top.
  const onBoundary = (v.origin + Math.min(foot, foot + dir) + 1) % JPEG_LUMA_BLOCK === 0;
  const faintJpeg = onBoundary && r[top]! - r[foot]! < FAINT_LEVELS;
  // Its top is the block's highest line, past any dip: ringing on clipped white rises and
  // falls ahead of the edge within the block.
  if (faintJpeg) for (let y = foot + dir; inside(v, y) && Math.abs(y - foot) <= JPEG_LUMA_BLOCK; y += dir) if (r[y]! > r[top]!) top = y;
  const level = r[foot]! + (faintJpeg ? FAINT_JPEG_LEVEL : 0.5) * (r[top]! - r[foot]!);
  let e = foot;
  while (e !== top && at(v, e + dir) < level) e += dir;
  return e;
}

/**
 * No clean step: the steepest rise near the core. It is a slow edge (a gradient, not a border)
 * unless the rise from the core's level to the level beyond it is done within a few lines: a faint
 * step softened by JPEG, each line of it below the step threshold.
 */
function steepestRise(v: Valley, coreEdge: number, dir: 1 | -1): Edge {
  const { r, rmin } = v;
  let best = coreEdge;
  for (let y = coreEdge; inside(v, y + dir) && Math.abs(y - coreEdge) <= WALK_REACH; y += dir) {
    if (rise(v, y, dir) > rise(v, best, dir)) best = y;
  }
  const beyond = median(Array.from({ length: BEYOND_LINES }, (_, k) => at(v, best + (k + 2) * dir)));
  let foot = best;
  while (inside(v, foot - dir) && Math.abs(foot - best) < FLANK_REACH && r[foot]! > rmin + FLANK_FOOT * (beyond - rmin)) foot -= dir;
  let top = best + dir;
  while (inside(v, top + dir) && Math.abs(top - best) < FLANK_REACH && r[top]! < rmin + FLANK_TOP * (beyond - rmin)) top += dir;
  return { edge: halfWayUp(v, best, dir), contrast: contentContrast(v, best + dir, dir), slow: beyond - rmin < v.minStep || Math.abs(top - foot) > SLOW_FLANK };
}

/**
 * JPEG ringing: a strong edge disturbs the whole 16 px block it sits in, so a small first step at
 * x may be ringing ahead of the real edge. If a much larger rise follows within the same block,
 * that rise is the edge, unless what lies between is a level plateau: ringing fades and wobbles, a
 * strip of backdrop (a white studio's last lines before a figure) holds its level, over four lines
 * or more, once the first step's own softened lines (two) are past.
 */
function riseInBlock(v: Valley, x: number, dir: 1 | -1): number {
  const { r, origin } = v;
  let best = x;
  for (let y = x; inside(v, y + dir) && Math.abs(y - x) <= RISE_WINDOW; y += dir) {
    if (rise(v, y, dir) > rise(v, best, dir)) best = y;
  }
  const plateau = (from: number, to: number) => {
    if ((to - from) * dir < PLATEAU_MIN_SPAN) return false;
    let lo = Infinity,
      hi = -Infinity;
    for (let y = from; y !== to + dir; y += dir) {
      lo = Math.min(lo, r[y]!);
      hi = Math.max(hi, r[y]!);
    }
    return hi - lo <= PLATEAU_SPREAD * (lo - r[best]!);
  };
  // A strong edge JPEG has softened over a few lines rises a little on each: its rise is over them.
  const blockRise = (y: number) => {
    let most = -Infinity;
    for (let k = 1; k <= BLOCK_RISE_LINES; k++) most = Math.max(most, at(v, y + k * dir) - r[y]!);
    return most;
  };
  for (let y = best + dir; inside(v, y + dir) && Math.abs(y - best) <= JPEG_BLOCK; y += dir) {
    // Blocks are aligned to the sheet, not to this profile: `origin` is where r[0] lies on the sheet.
    const blockStart = (dir > 0 ? Math.floor((origin + y + 1) / JPEG_BLOCK) * JPEG_BLOCK - 2 : Math.ceil((origin + y) / JPEG_BLOCK) * JPEG_BLOCK + 1) - origin;
    const sameBlock = dir > 0 ? x >= blockStart : x <= blockStart;
    if (sameBlock && blockRise(y) > BLOCK_RISE_RATIO * blockRise(best) && blockRise(y) > BLOCK_RISE_MIN && !plateau(best + PLATEAU_SKIP * dir, y)) {
      // The rise starts from its lowest line (ringing may dip just before it).
      best = y;
      for (let k = 1; k < BLOCK_RISE_LINES; k++) if (inside(v, y + k * dir) && r[y + k * dir]! < r[best]!) best = y + k * dir;
    }
  }
  return best;
}

/** The valley's edge on one side, walking from its core's last line `coreEdge` toward `dir`. */
function findEdge(v: Valley, coreEdge: number, dir: 1 | -1): Edge {
  const { n } = v;
  if (!inside(v, coreEdge + dir)) return { edge: coreEdge, contrast: Infinity, slow: false };
  // A walk gives up after 40 lines, except toward a sheet edge close enough for what lies between
  // to be a margin (up to 8 % of the sheet): a noisy margin's core may be a line or two wide.
  const toSheetEdge = dir > 0 ? n - 1 - coreEdge : coreEdge;
  const reach = toSheetEdge <= MARGIN_FRACTION * n ? toSheetEdge : WALK_REACH;
  let x = coreEdge;
  let found = false;
  for (let steps = 0; steps <= reach && inside(v, x + dir); steps++, x += dir) {
    if (significant(v, x, dir)) {
      found = true;
      break;
    }
  }
  // Flat all the way to the sheet edge: this valley is a margin.
  if (!found && !inside(v, x + dir)) return { edge: x, contrast: Infinity, slow: false };
  if (!found) return steepestRise(v, coreEdge, dir);
  const best = halfWayUp(v, riseInBlock(v, x, dir), dir);
  return { edge: best, contrast: contentContrast(v, best + dir, dir), slow: Math.abs(best - coreEdge) > SLOW_EDGE_LINES };
}

/** The valley's lowest line (the first, if several). */
function lowestLine(r: Float64Array, a: number, b: number): number {
  let xm = a;
  for (let x = a; x <= b; x++) if (r[x]! < r[xm]!) xm = x;
  return xm;
}

/** The valley's core: its lowest line `xm` and the lines around it within `tolerance` of it. */
function coreOf(r: Float64Array, xm: number, tolerance: number): { rmin: number; cs: number; ce: number } {
  const n = r.length;
  const rmin = r[xm]!;
  let cs = xm;
  let ce = xm;
  while (cs > 0 && r[cs - 1]! <= rmin + tolerance) cs--;
  while (ce < n - 1 && r[ce + 1]! <= rmin + tolerance) ce++;
  return { rmin, cs, ce };
}

/**
 * How flat the gutter itself is, line to line: a white backdrop against a white gutter is a step
 * of a level or two, small in colour but many times this, so steps are judged against it. (JPEG
 * ringing beside an edge makes the core less flat, which keeps the threshold above the ringing.)
 * And the same from the gutter's steadiest part (the lower quartile of its line-to-line changes):
 * JPEG ringing next to a strong edge, or cells a few pixels off the shared line, disturb only the
 * lines at the gutter's sides, and should not make a faint step look weak.
 */
function coreFlatness(r: Float64Array, cs: number, ce: number): { flatness: number; steadiness: number } {
  let flatness = 0;
  for (let x = cs + 1; x <= ce; x++) flatness += Math.abs(r[x]! - r[x - 1]!);
  flatness = ce > cs ? flatness / (ce - cs) : 1;
  const steadiness =
    ce - cs >= MIN_STEADY_LINES
      ? quantile(
          Array.from({ length: ce - cs }, (_, k) => Math.abs(r[cs + k + 1]! - r[cs + k]!)),
          STEADY_QUANTILE,
        )
      : flatness;
  return { flatness, steadiness };
}

/**
 * A faint edge's step: six robust spreads of the core, or clearly above every line of the core,
 * whichever is less (the lines of a gutter next to a strong edge wobble with JPEG ringing, not at
 * random).
 */
function faintStepOf(r: Float64Array, cs: number, ce: number, coreLevel: number): number {
  const core = r.subarray(cs, ce + 1);
  const mad = median(Array.from(core, (v) => Math.abs(v - coreLevel)));
  return Math.max(FAINT_STEP_MIN, Math.min(FAINT_SPREADS * ROBUST_SIGMA * mad, Math.max(...core) - coreLevel + FAINT_ABOVE_CORE));
}

/**
 * How clearly a run is a gutter. A gutter is uniform along its whole length (low rmin) and steps
 * up clearly on both sides. A valley many times deeper than its floor is a gutter even when JPEG
 * chroma subsampling has smeared a thin coloured gutter (raising rmin); flat patches of a photo are
 * never that deep. A faint edge still counts when it stands far above the gutter's own flatness, or
 * (found as a faint edge) twice the step that takes it above every line of the gutter.
 */
function runClarity(v: Valley, contrast: number, steadiness: number, slow: boolean): number {
  const depth = Number.isFinite(contrast) ? contrast / Math.max(v.rmin, 1) : 0;
  const uniformity = clamp01((UNIFORM_RMIN - v.rmin) / UNIFORM_SPAN + DEPTH_BONUS * clamp01((depth - DEPTH_MIN) / DEPTH_SPAN));
  const edgeQuality = Math.max(
    clamp01((contrast - EDGE_CONTRAST_MIN) / EDGE_CONTRAST_SPAN),
    clamp01((contrast / Math.max(steadiness, STEADY_FLOOR) - STEADY_RATIO_MIN) / STEADY_RATIO_SPAN) * clamp01(contrast - FAINT_CONTRAST_MIN),
    v.faint ? clamp01(contrast / v.faintStep - 1) * clamp01(contrast - FAINT_CONTRAST_MIN) : 0,
  );
  return uniformity * edgeQuality * (slow ? SLOW_PENALTY : 1);
}

/** Turns a valley [a, b] of the profile into a gutter run with precise edges. */
export function refineRun(
  r: Float64Array,
  a: number,
  b: number,
  { wobble = 0, coreTolerance = CORE_TOLERANCE, origin = 0, faint = false }: RunOptions = {},
): Run {
  const n = r.length;
  const xm = lowestLine(r, a, b);
  const { rmin, cs, ce } = coreOf(r, xm, Math.max(coreTolerance, CORE_FLOOR_FRACTION * r[xm]!, CORE_WOBBLES * wobble));
  const { flatness, steadiness } = coreFlatness(r, cs, ce);
  const minStep = clamp01((flatness - FLATNESS_OFFSET) / FLATNESS_SPAN) * MIN_STEP_RANGE + MIN_STEP;
  const coreLevel = faint ? median(r.subarray(cs, ce + 1)) : rmin;
  const faintStep = faint ? faintStepOf(r, cs, ce, coreLevel) : Infinity;
  const v: Valley = { r, n, rmin, wobble, origin, faint, minStep, coreLevel, faintStep };
  const left = findEdge(v, cs, -1);
  const right = findEdge(v, ce, 1);
  // A stray 1-3 px line at the sheet edge (a border some generators draw) still makes a margin.
  const touchesStart = left.edge <= STRAY_BORDER;
  const touchesEnd = right.edge >= n - 1 - STRAY_BORDER;
  const contrast = Math.min(touchesStart ? Infinity : left.contrast, touchesEnd ? Infinity : right.contrast);
  const slow = (left.slow && !touchesStart) || (right.slow && !touchesEnd);
  return { start: left.edge, end: right.edge, rmin, clarity: runClarity(v, contrast, steadiness, slow), contrast, touchesStart, touchesEnd };
}

/**
 * A core tolerance measured from a valley's own line-to-line wobble (its steadiest quarter), for
 * valleys whose lines are steadier than the fixed 1.5 levels assume: there a faint cell edge is
 * a step of a level or less.
 */
export function measuredCore(r: Float64Array, a: number, b: number): number {
  const diffs: number[] = [];
  for (let k = a + 1; k <= b; k++) diffs.push(Math.abs(r[k]! - r[k - 1]!));
  return Math.min(CORE_TOLERANCE, Math.max(MEASURED_CORE_MIN, MEASURED_CORE_SPREADS * quantile(diffs, STEADY_QUANTILE)));
}

/**
 * Every valley of profile `r` as a run. `wideOver`: valleys wider than this many lines get a core
 * tolerance measured from the valley's own line-to-line wobble instead of the fixed 1.5 levels.
 */
export function findRuns(r: Float64Array, wobble = 0, wideOver = Infinity): Run[] {
  const n = r.length;
  let floor = Infinity;
  for (let i = 0; i < n; i++) floor = Math.min(floor, r[i]!);
  const med = median(r);
  const threshold = floor + Math.max(RUN_THRESHOLD_MIN + wobble, RUN_THRESHOLD_FRACTION * (med - floor));
  const runs: Run[] = [];
  let x = 0;
  while (x < n) {
    if (r[x]! > threshold) {
      x++;
      continue;
    }
    let e = x;
    while (e + 1 < n && r[e + 1]! <= threshold) e++;
    let run = refineRun(r, x, e, { wobble });
    if (run.end - run.start + 1 > wideOver) run = refineRun(r, x, e, { wobble, coreTolerance: measuredCore(r, run.start, run.end) });
    runs.push(run);
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
