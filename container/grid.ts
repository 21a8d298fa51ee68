/**
 * Finds the grid of a contact sheet in raw pixels (SPEC stage 3): the boxes of its cells, with a
 * confidence and, when it is low, the reason a reviewer sees.
 *
 * Detection works on line profiles: for every column (and row) we measure how far the whole line is
 * from the gutter colour, as an RMS distance that also counts the line's own variance. Gutters and
 * margins are lines that are uniform AND gutter-coloured from end to end, so they form deep valleys;
 * cell content (even a white studio backdrop next to a white gutter) sits measurably above them.
 * Valleys are grouped into runs; each run's edges are placed at the first clear, lasting step up
 * (stepping over JPEG ringing), and the rows-1 / cols-1 runs that best fit an even spacing win.
 * Confidence combines how gutter-like the chosen runs are with how regular the cells are. Each cell's
 * own edges are then found again from its own pixels near the shared lines, and boxes are shrunk by
 * a pixel so blur on the gutter side never gets into a frame.
 */

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

export interface GridDetection {
  boxes: Box[];
  confidence: number;
  /** Why confidence is what it is, phrased for a reviewer; set when something is weak. */
  problem?: string;
  gutterColor: [number, number, number];
}

/** Below this, "detect" mode refuses to guess (the reviewer can choose an equal split). */
export const MIN_CONFIDENCE = 0.5;

// ---------------------------------------------------------------------------------------------
// Line statistics

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
      let sr = 0, sg = 0, sb = 0, qr = 0, qg = 0, qb = 0;
      const row = y * w * 3;
      if (y % 2) {
        for (let i = row, end = row + w * 3; i < end; i += 6) {
          const r = data[i]!, g = data[i + 1]!, b = data[i + 2]!;
          sr += r; sg += g; sb += b;
          qr += r * r; qg += g * g; qb += b * b;
        }
      } else {
        // Rows the columns are sampled on: one pass for both, each even pixel also counted for the row.
        for (let x3 = 0, i = row; x3 < w * 3; x3 += 3, i += 3) {
          const r = data[i]!, g = data[i + 1]!, b = data[i + 2]!;
          const rr = r * r, gg = g * g, bb = b * b;
          colSum[x3] += r; colSum[x3 + 1] += g; colSum[x3 + 2] += b;
          colSq[x3] += rr; colSq[x3 + 1] += gg; colSq[x3 + 2] += bb;
          if (x3 % 6 === 0) {
            sr += r; sg += g; sb += b;
            qr += rr; qg += gg; qb += bb;
          }
        }
      }
      const y3 = y * 3;
      rowSum[y3] = sr; rowSum[y3 + 1] = sg; rowSum[y3 + 2] = sb;
      rowSq[y3] = qr; rowSq[y3 + 1] = qg; rowSq[y3 + 2] = qb;
    }
  }
}

function lineStats(img: RgbImage): LineStats {
  const builder = new LineStatsBuilder(img.width, img.height);
  builder.add(img.data, 0, img.height);
  return builder.stats;
}

/**
 * Per line: RMS distance of its pixels to colour `g` (variance + offset of the mean), less the
 * sheet's pixel noise (`noise`, a variance), so what remains is structure a person would see.
 */
function distanceProfile(sum: ArrayLike<number>, sq: ArrayLike<number>, n: number, g: readonly number[], noise: number): Float64Array {
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
function biasProfile(sum: ArrayLike<number>, n: number, g: readonly number[]): Float64Array {
  const out = new Float64Array(sum.length / 3);
  for (let i = 0; i < out.length; i++) {
    let acc = 0;
    for (let c = 0; c < 3; c++) acc += (sum[i * 3 + c]! / n - g[c]!) ** 2;
    out[i] = Math.sqrt(acc / 3);
  }
  return out;
}

/**
 * The gutter colour: the mean colour of the most uniform lines. Gutters and margins run the full
 * width or height of the sheet, so they are the flattest lines there are; lines found on both axes
 * are preferred because a grid has gutters both ways.
 */
interface GutterEstimate {
  colour: [number, number, number];
  /** The flattest lines of that colour (axis 0: a column, 1: a row), flattest first. */
  lines: Array<{ axis: 0 | 1; index: number; variance: number }>;
}

function gutterColours(st: LineStats, count = 3): GutterEstimate[] {
  type Line = { axis: 0 | 1; index: number; std: number; mean: [number, number, number] };
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
      lines.push({ axis, index: i, std: Math.sqrt(v / 3), mean });
    }
  };
  push(st.colSum, st.colSq, st.colN, 0);
  push(st.rowSum, st.rowSq, st.rowN, 1);
  lines.sort((a, b) => a.std - b.std);
  const sMin = lines[0]!.std;
  const axisMin = ([0, 1] as const).map((axis) => lines.find((l) => l.axis === axis)?.std ?? Infinity);
  const flat = lines.filter((l) => l.std <= sMin * 2 + 2).slice(0, 2000);
  const dist = (p: number[], q: number[]) => Math.abs(p[0]! - q[0]!) + Math.abs(p[1]! - q[1]!) + Math.abs(p[2]! - q[2]!);
  // Clustering, flattest line first: a line further than a small radius from every seed so far
  // seeds a cluster, which keeps a backdrop a few levels off the gutter colour (white studio next to
  // white gutters) out of the estimate. Each line then joins its nearest seed, not the first within
  // reach: a white gutter's lines (254-255, clipped noise) lie about a radius from a flatter backdrop
  // 3 levels below, and handing the nearer half of them to the backdrop gave it "both axes".
  const seeds: Line[] = [];
  for (const l of flat) if (seeds.every((s) => dist(l.mean, s.mean) > 9)) seeds.push(l);
  const groups = seeds.map((): Line[] => []);
  for (const l of flat) {
    let k = 0;
    for (let j = 1; j < seeds.length; j++) if (dist(l.mean, seeds[j]!.mean) < dist(l.mean, seeds[k]!.mean)) k = j;
    groups[k]!.push(l);
  }
  const clusters: Array<{ score: number; members: Line[] }> = [];
  for (const members of groups) {
    // Counted: the lines about as flat as the flattest on the sheet. A backdrop's lines cross the
    // gutters, so however many there are, few of them are that flat.
    const flattest = members.filter((l) => l.std <= sMin * 2 + 0.5);
    // First, though, a grid's colour runs both ways, each way about as flat as that axis's flattest
    // line, so the fewer of the two counts decides: gutter rows crossing cells drawn a few pixels
    // off are less flat than gutter columns, and a seamless studio flat along a hundred rows at the
    // top of its cells has a line or two that way (where a cell's edge meets the white).
    const [c0, c1] = ([0, 1] as const).map((axis) => members.filter((l) => l.axis === axis && l.std <= axisMin[axis]! * 2 + 0.5).length);
    clusters.push({ score: Math.min(c0!, c1!) + flattest.length * 1e-4 + members.length * 1e-9, members });
  }
  clusters.sort((a, b) => b.score - a.score);
  const estimates = clusters.slice(0, 24).map(({ members }) => {
    // The colour from the cluster's flattest lines only: rows of a white backdrop a few levels off a
    // white gutter fall within the radius and outnumber the gutter lines, but each of them also
    // crosses gutters, so they are never as flat; averaging them in would put the "gutter" colour
    // between the two and hide the step.
    const core = members.filter((l) => l.std <= members[0]!.std * 1.2 + 0.1);
    const from = core.length >= 3 ? core : members;
    const acc = [0, 0, 0];
    let weight = 0;
    for (const l of from) {
      // Without a core, flatter lines count more.
      const wgt = from === core ? 1 : 1 / (1 + l.std * l.std);
      weight += wgt;
      for (let c = 0; c < 3; c++) acc[c] += l.mean[c]! * wgt;
    }
    return {
      colour: [acc[0]! / weight, acc[1]! / weight, acc[2]! / weight] as [number, number, number],
      lines: members.slice(0, 8).map((l) => ({ axis: l.axis, index: l.index, variance: l.std * l.std })),
    };
  });
  // The next candidates are other colours, not shades of the first: a dark studio's gradient makes
  // several dark clusters, and the mid-grey gutter between them comes after all of them.
  const picked: GutterEstimate[] = [];
  for (const e of estimates) {
    if (picked.length >= count) break;
    if (picked.every((p) => dist(p.colour, e.colour) >= 30)) picked.push(e);
  }
  return picked;
}

/**
 * Per-pixel noise variance, from the flattest gutter lines: the variance within short stretches of
 * each line (32 px), which is noise (JPEG-smoothed or not), while structure such as a gradient or a
 * backdrop's edge shows as stretches with different means and is not counted. Subtracting it from
 * every line's distance lets a noisy sheet's gutters read as flat as a clean sheet's; a plain photo,
 * whose flattest lines are smooth, is left as it was.
 */
function noiseVariance(img: RgbImage, lines: GutterEstimate["lines"]): number {
  const { data, width: w, height: h } = img;
  const SEG = 32;
  const estimates: number[] = [];
  for (const line of lines) {
    const len = line.axis === 0 ? h : w;
    const stride = line.axis === 0 ? w * 3 : 3;
    const base = line.axis === 0 ? line.index * 3 : line.index * w * 3;
    let within = 0;
    let segments = 0;
    for (let s0 = 0; s0 + SEG <= len; s0 += SEG) {
      let v = 0;
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        let sq = 0;
        for (let k = s0, i = base + s0 * stride + c; k < s0 + SEG; k++, i += stride) {
          const x = data[i]!;
          sum += x;
          sq += x * x;
        }
        v += sq / SEG - (sum / SEG) ** 2;
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
function noiseWobble(noise: number, n: number): number {
  return 1.5 * Math.sqrt(noise * Math.sqrt(2 / Math.max(1, n)));
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
  /** How clearly each chosen inner gutter is one, sheet-wide, and how evenly sized the cells are. */
  clarities: number[];
  regularity: number;
}

export function median(values: ArrayLike<number>): number {
  const a = Array.from(values).sort((x, y) => x - y);
  if (a.length === 0) return 0;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

function quantile(values: number[], q: number): number {
  const a = values.slice().sort((x, y) => x - y);
  return a.length ? a[Math.min(a.length - 1, Math.floor(q * a.length))]! : 0;
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
interface RunOptions {
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

function refineRun(r: Float64Array, a: number, b: number, { wobble = 0, coreTolerance = 1.5, origin = 0, faint = false }: RunOptions = {}): Run {
  const n = r.length;
  let xm = a;
  for (let x = a; x <= b; x++) if (r[x]! < r[xm]!) xm = x;
  const rmin = r[xm]!;
  const coreAround = (tol: number): [number, number] => {
    let lo = xm;
    let hi = xm;
    while (lo > 0 && r[lo - 1]! <= rmin + tol) lo--;
    while (hi < n - 1 && r[hi + 1]! <= rmin + tol) hi++;
    return [lo, hi];
  };
  const tight = Math.max(coreTolerance, 0.5 * rmin, 2 * wobble);
  const [cs, ce] = coreAround(tight);
  // How flat the gutter itself is, line to line: a white backdrop against a white gutter is a step
  // of a level or two, small in colour but many times this, so steps are judged against it. (JPEG
  // ringing beside an edge makes the core less flat, which keeps the threshold above the ringing.)
  let flatness = 0;
  for (let x = cs + 1; x <= ce; x++) flatness += Math.abs(r[x]! - r[x - 1]!);
  flatness = ce > cs ? flatness / (ce - cs) : 1;
  // The same, from the gutter's steadiest part (the lower quartile of its line-to-line changes):
  // JPEG ringing next to a strong edge, or cells a few pixels off the shared line, disturb only the
  // lines at the gutter's sides, and should not make a faint step look weak.
  const steadiness = ce - cs >= 4 ? quantile(Array.from({ length: ce - cs }, (_, k) => Math.abs(r[cs + k + 1]! - r[cs + k]!)), 0.25) : flatness;
  const minStep = clamp01((flatness - 0.05) / 0.4) * 1.9 + 0.6;
  // For a faint edge: the core's level and how far its lines stray from it (a robust spread).
  const coreLevel = faint ? median(r.subarray(cs, ce + 1)) : rmin;
  // The step: six robust spreads, or clearly above every line of the core, whichever is less (the
  // lines of a gutter next to a strong edge wobble with JPEG ringing, not at random).
  const faintStep = faint
    ? Math.max(0.3, Math.min(6 * 1.48 * median(Array.from(r.subarray(cs, ce + 1), (v) => Math.abs(v - coreLevel))), Math.max(...r.subarray(cs, ce + 1)) - coreLevel + 0.5))
    : Infinity;

  const at = (x: number) => r[x < 0 ? 0 : x >= n ? n - 1 : x]!;
  const edge = (dir: 1 | -1, coreEdge: number): { edge: number; contrast: number; slow: boolean } => {
    const inside = (x: number) => x >= 0 && x <= n - 1;
    if (!inside(coreEdge + dir)) return { edge: coreEdge, contrast: Infinity, slow: false };
    const significant = (x: number) => {
      const next = Math.min(at(x + dir), at(x + 2 * dir), at(x + 3 * dir));
      if (faint && next - coreLevel >= faintStep && r[x]! - coreLevel < faintStep / 2) return true;
      const threshold = Math.max(minStep, 0.5 * (r[x]! - rmin) + minStep - 0.5) + wobble;
      if (next - r[x]! >= threshold) return true;
      // A step softened over two lines (JPEG, resampling): the line after x is on its way up.
      const after = Math.min(at(x + 2 * dir), at(x + 3 * dir), at(x + 4 * dir));
      return at(x + dir) >= r[x]! && after - r[x]! >= threshold;
    };
    // A walk gives up after 40 lines, except toward a sheet edge close enough for what lies between
    // to be a margin (up to 8 % of the sheet): a noisy margin's core may be a line or two wide.
    const toSheetEdge = dir > 0 ? n - 1 - coreEdge : coreEdge;
    const reach = toSheetEdge <= 0.08 * n ? toSheetEdge : 40;
    let x = coreEdge;
    let found = false;
    for (let steps = 0; steps <= reach && inside(x + dir); steps++, x += dir) {
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
      // No clean step: fall back to the steepest rise near the core. It is a slow edge (a gradient,
      // not a border) unless the rise from the core's level to the level beyond it is done within a
      // few lines: a faint step softened by JPEG, each line of it below the step threshold.
      let best = coreEdge;
      for (let y = coreEdge; inside(y + dir) && Math.abs(y - coreEdge) <= 40; y += dir) {
        if (at(y + dir) - r[y]! > at(best + dir) - r[best]!) best = y;
      }
      const beyond = median(Array.from({ length: 7 }, (_, k) => at(best + (k + 2) * dir)));
      let foot = best;
      while (inside(foot - dir) && Math.abs(foot - best) < 8 && r[foot]! > rmin + 0.25 * (beyond - rmin)) foot -= dir;
      let top = best + dir;
      while (inside(top + dir) && Math.abs(top - best) < 8 && r[top]! < rmin + 0.75 * (beyond - rmin)) top += dir;
      return { edge: halfWayUp(best), contrast: contentContrast(best + dir), slow: beyond - rmin < minStep || Math.abs(top - foot) > 6 };
    }
    let best = x;
    for (let y = x; inside(y + dir) && Math.abs(y - x) <= 4; y += dir) {
      if (at(y + dir) - r[y]! > at(best + dir) - r[best]!) best = y;
    }
    // JPEG ringing: a strong edge disturbs the whole 16 px block (8 px luma DCT, 16 px with 4:2:0
    // chroma) it sits in, so a small first step may be ringing ahead of the real edge. If a much
    // larger rise follows within the same block, that rise is the edge, unless what lies between is
    // a level plateau: ringing fades and wobbles, a strip of backdrop (a white studio's last lines
    // before a figure) holds its level, over four lines or more, once the first step's own softened
    // lines (two) are past.
    const rise = (y: number) => at(y + dir) - r[y]!;
    const plateau = (from: number, to: number) => {
      if ((to - from) * dir < 3) return false;
      let lo = Infinity, hi = -Infinity;
      for (let y = from; y !== to + dir; y += dir) {
        lo = Math.min(lo, r[y]!);
        hi = Math.max(hi, r[y]!);
      }
      return hi - lo <= 0.35 * (lo - r[best]!);
    };
    for (let y = best + dir; inside(y + dir) && Math.abs(y - best) <= 16; y += dir) {
      // Blocks are aligned to the sheet, not to this profile: `origin` is where r[0] lies on the sheet.
      const blockStart = (dir > 0 ? Math.floor((origin + y + 1) / 16) * 16 - 2 : Math.ceil((origin + y) / 16) * 16 + 1) - origin;
      const sameBlock = dir > 0 ? x >= blockStart : x <= blockStart;
      if (sameBlock && rise(y) > 3 * rise(best) && rise(y) > 12 && !plateau(best + 3 * dir, y)) best = y;
    }
    best = halfWayUp(best);
    return { edge: best, contrast: contentContrast(best + dir), slow: Math.abs(best - coreEdge) > 20 };

    /**
     * A step softened by JPEG or resampling rises over several lines; the edge is where it is half
     * way up (from its foot to the top of its flank), as a person would place it, not at its foot.
     */
    function halfWayUp(foot: number): number {
      // The top of the flank: where the rise ends, or levels off for two lines (a strip of backdrop
      // before a figure's edge is not part of the cell's edge).
      let top = foot;
      for (let y = foot + dir, flat = 0; inside(y) && Math.abs(y - foot) <= 8 && r[y]! >= r[top]! - 0.5 && flat < 2; y += dir) {
        flat = Math.abs(r[y]! - r[y - dir]!) <= Math.max(0.5, 0.1 * (r[top]! - r[foot]!)) && top !== foot ? flat + 1 : 0;
        if (r[y]! > r[top]!) top = y;
      }
      // A faint step (a few levels) that begins on an 8 px block boundary is JPEG's: a block with
      // the edge somewhere inside it is coded as little more than its mean, so its first lines sit
      // part way up wherever the edge is. The edge is then where the lines are nearly at the top.
      const onBoundary = (origin + Math.min(foot, foot + dir) + 1) % 8 === 0;
      const faintJpeg = onBoundary && r[top]! - r[foot]! < 4;
      // Its top is the block's highest line, past any dip: ringing on clipped white rises and
      // falls ahead of the edge within the block.
      if (faintJpeg) for (let y = foot + dir; inside(y) && Math.abs(y - foot) <= 8; y += dir) if (r[y]! > r[top]!) top = y;
      const level = r[foot]! + (faintJpeg ? 0.9 : 0.5) * (r[top]! - r[foot]!);
      let e = foot;
      while (e !== top && at(e + dir) < level) e += dir;
      return e;
    }

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
  // A faint edge still counts when it stands far above the gutter's own flatness, or (found as a
  // faint edge) twice the step that takes it above every line of the gutter.
  const edgeQuality = Math.max(
    clamp01((contrast - 1.5) / 3),
    clamp01((contrast / Math.max(steadiness, 0.05) - 10) / 20) * clamp01(contrast - 0.8),
    faint ? clamp01(contrast / faintStep - 1) * clamp01(contrast - 0.8) : 0,
  );
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

/**
 * A core tolerance measured from a valley's own line-to-line wobble (its steadiest quarter), for
 * valleys whose lines are steadier than the fixed 1.5 levels assume: there a faint cell edge is
 * a step of a level or less.
 */
function measuredCore(r: Float64Array, a: number, b: number): number {
  const diffs: number[] = [];
  for (let k = a + 1; k <= b; k++) diffs.push(Math.abs(r[k]! - r[k - 1]!));
  return Math.min(1.5, Math.max(0.3, 4 * quantile(diffs, 0.25)));
}

/**
 * `wideOver`: valleys wider than this many lines get a core tolerance measured from the valley's own
 * line-to-line wobble instead of the fixed 1.5 levels (see detectGrid).
 */
function findRuns(r: Float64Array, wobble = 0, wideOver = Infinity): Run[] {
  const n = r.length;
  let floor = Infinity;
  for (let i = 0; i < n; i++) floor = Math.min(floor, r[i]!);
  const med = median(r);
  const threshold = floor + Math.max(4 + wobble, 0.35 * (med - floor));
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
function marginLike(r: Float64Array, run: Run, floor: number, wobble = 0, bias?: Float64Array): boolean {
  // Sheet margins are narrow (0-80 px on 1696); a flat band wider than 8% is part of a picture.
  const width = run.touchesStart ? run.end + 1 : r.length - run.start;
  const limit = floor + Math.max(2, floor) + wobble;
  // And the gutter's colour on average along most of its lines, not only the deepest, or far
  // nearer it than to the content beyond: on a margin-less sheet, a cell drawn a pixel or two in
  // from the edge leaves a line or two of gutter before a studio a few levels off, which is no
  // margin; JPEG shifts a saturated margin's colour a level or two, but next to content a hundred off.
  const offColour = bias ? median(bias.subarray(run.start, run.end + 1)) : 0;
  return run.rmin <= limit && offColour <= Math.max(limit, 0.1 * run.contrast) && run.rmin <= 8 + wobble && width <= 0.08 * r.length;
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

/**
 * One axis's cells from its distance profile `r` (and `bias`, each line's mean colour's distance to
 * the gutter colour).
 */
function analyseAxis(r: Float64Array, bias: Float64Array, cells: number, noun: "columns" | "rows", floor: number, wobble: number, wideOver = Infinity): AxisResult {
  const n = r.length;
  const runs = findRuns(r, wobble, wideOver);
  // Outer margins: a gutter-coloured valley touching the sheet edge.
  const first = runs[0];
  const last = runs[runs.length - 1];
  const startMargin = first && first.touchesStart && marginLike(r, first, floor, wobble, bias) ? first : undefined;
  const endMargin = last && last.touchesEnd && last !== startMargin && marginLike(r, last, floor, wobble, bias) ? last : undefined;
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
      clarities: [],
      regularity: 0,
    };
  }
  const pitch = (hi - lo) / cells;
  if (cells === 1) {
    return { spans: [[lo, hi]], guarded: [[startGuard, endGuard]], confidence: 1, gutterLevel, clarities: [], regularity: 1 };
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
    return { spans: [], guarded: [], confidence: 0, problem: `no gutter found ${label(missing)}`, gutterLevel, clarities: [], regularity: 0 };
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
  return { spans, guarded, gutterLevel, ...axisConfidence(spans, pick.map((g) => g.clarity), regularity, noun) };
}

/** An axis's confidence: its weakest gutter's clarity times how evenly sized its cells are. */
function axisConfidence(spans: Array<[number, number]>, clarities: number[], regularity: number, noun: "columns" | "rows") {
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
// Each cell's own edges, and the grid

/** Pixels shaved off every side that borders a gutter: JPEG ringing and chroma blur reach ~1 px. */
const SAFETY_INSET = 1;
/** How far a cell's own edge is searched beyond the shared grid line, in px. */
const EDGE_REACH = 14;
/** How far a drawn cell's edge can sit off the shared grid line, in px (image models: up to ±3). */
const OFFSET_REACH = 4;
/** Lines skipped at each end of a cell's side, so a neighbour's offset corner stays out of its profile. */
const CORNER_SKIP = 8;

/**
 * Distance profile of a strip of the sheet, from that strip's pixels only: per column x in
 * [from, to) over rows [a0, a1) (`vertical`), or per row y in [from, to) over columns [a0, a1).
 * The same measure as the sheet-wide profiles, so the same edge logic applies to one cell's side.
 */
function stripProfile(img: RgbImage, g: readonly number[], noise: number, vertical: boolean, from: number, to: number, a0: number, a1: number): Float64Array {
  const { data, width } = img;
  const len = to - from;
  const acc = new Float64Array(len);
  const g0 = g[0]!, g1 = g[1]!, g2 = g[2]!;
  if (vertical) {
    for (let y = a0; y < a1; y++) {
      let i = (y * width + from) * 3;
      for (let k = 0; k < len; k++, i += 3) {
        const dr = data[i]! - g0, dg = data[i + 1]! - g1, db = data[i + 2]! - g2;
        acc[k] += dr * dr + dg * dg + db * db;
      }
    }
  } else {
    for (let k = 0; k < len; k++) {
      let sum = 0;
      for (let i = ((from + k) * width + a0) * 3, end = ((from + k) * width + a1) * 3; i < end; i += 3) {
        const dr = data[i]! - g0, dg = data[i + 1]! - g1, db = data[i + 2]! - g2;
        sum += dr * dr + dg * dg + db * db;
      }
      acc[k] = sum;
    }
  }
  const n = Math.max(1, a1 - a0) * 3;
  for (let k = 0; k < len; k++) acc[k] = Math.sqrt(Math.max(0, acc[k]! / n - noise));
  return acc;
}

/**
 * How clearly one strip shows a gutter between the cells' edges found in it (gutter lines [e0, s1)
 * of profile `p`): the gutter at a gutter-like level, and on each side the cell's first lines all
 * above the gutter's lines next to them. A person sees a faint studio two levels off a white gutter
 * as an edge because it holds along the whole strip, however the gutter's lines wobble with JPEG
 * ringing from a strong edge on its other side; 0 when a side is not clearly apart.
 */
function separation(p: Float64Array, e0: number, s1: number, wobble: number, gutterLike: number): number {
  if (s1 - e0 < 1 || e0 < 9 || s1 + 9 > p.length) return 0;
  // The edge lines themselves are part way up: each side is judged one line in.
  const inner = s1 - e0 >= 3 ? p.subarray(e0 + 1, s1 - 1) : p.subarray(e0, s1);
  if (median(inner) > gutterLike) return 0;
  // Every line of the gutter and every line of the cell are averages over the strip, so a gap of
  // half a level between the nearest of them, beyond three times their sampling error, is an edge.
  const side = (gutter: Float64Array, content: Float64Array) => clamp01((Math.min(...content) - Math.max(...gutter) - 3 * wobble) / 0.5);
  const near = (a: number, b: number) => inner.subarray(Math.max(0, a), Math.min(inner.length, b));
  // The gutter's lines nearest each side: up to four, and no more than its half on that side (the
  // other half may ring with a strong edge across it).
  const k = Math.max(1, Math.min(4, inner.length >> 1));
  return Math.min(side(near(0, k), p.subarray(e0 - 9, e0 - 1)), side(near(inner.length - k, inner.length), p.subarray(s1 + 1, s1 + 9)));
}

/**
 * A faint cell edge found from the cell's side of strip profile `p` (starting at sheet line
 * `origin`; shared gutter lines [va, vb];
 * `more(lo, hi)` gives the same profile for strip lines beyond it): where the cell's content beyond
 * any offset and the edge's own JPEG block is steady and clearly off the gutter, the cell begins
 * after the last line (walking in from that content) that is below half way between the two. Every
 * line that walk crosses is content, so the cell may reach as far into the shared gutter as it does
 * (a shared gutter found too wide takes in a faint band of the cells). Returns the strip index of the
 * cell's first line (`side` 1, the cell after the gutter) or of the first line past its last (`side`
 * -1), or undefined when the content is not steady or no line is below half.
 */
function stepFromContent(p: Float64Array, origin: number, va: number, vb: number, side: 1 | -1, wobble: number, more: (lo: number, hi: number) => Float64Array): number | undefined {
  const reach = 2 * OFFSET_REACH;
  const content = side > 0 ? more(vb + reach + 1, vb + reach + 13) : more(va - reach - 12, va - reach);
  if (content.length < 4) return undefined;
  const c = median(content);
  const g = quantile(Array.from(p.subarray(va, vb + 1)), 0.25);
  if (c - g < 1 + 3 * wobble || Math.max(...content) - Math.min(...content) > 0.5 * (c - g)) return undefined;
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
  return edge !== undefined && c - g < 4 && (origin + edge) % 8 === 0 ? walk(0.75) : edge;
}

interface CellSpan {
  start: number;
  /** Exclusive. */
  end: number;
  guardStart: boolean;
  guardEnd: boolean;
}

/**
 * Each cell's own edges along one axis. The shared lines found sheet-wide are where the gutter is
 * gutter in every row (or column) of cells; a cell drawn a few pixels off, or a pixel askew, starts
 * somewhere near that line. So each boundary is looked at again from the pixels of one row of cells
 * only (one column of cells for the rows), within EDGE_REACH of the shared line, with the same edge
 * logic as the sheet-wide runs. Returns spans[cross][cell], and for each inner boundary how clearly
 * a gutter shows in every strip across it (its weakest strip), which is what a person sees: a
 * gutter clear from end to end, however faint one of its sides.
 */
function refineAxis(
  img: RgbImage,
  g: readonly number[],
  noise: number,
  vertical: boolean,
  axis: AxisResult,
  cross: AxisResult,
  level: number,
): { cells: CellSpan[][]; clarity: number[] } {
  const n = vertical ? img.width : img.height;
  // Per inner boundary, how clearly each strip across it shows the gutter (see separation).
  const seen = axis.spans.slice(1).map((): number[] => []);
  const gutterLike = Math.max(2 * level, level + 4) + noiseWobble(noise, Math.max(1, cross.spans[0]![1] - cross.spans[0]![0] - 2 * CORNER_SKIP));
  const out: CellSpan[][] = [];
  for (const [c0, c1] of cross.spans) {
    const a0 = Math.min(c0 + CORNER_SKIP, c1 - 1);
    const a1 = Math.max(c1 - CORNER_SKIP, a0 + 1);
    const cells: CellSpan[] = axis.spans.map(([start, end], i) => ({
      start,
      end,
      guardStart: axis.guarded[i]![0],
      guardEnd: axis.guarded[i]![1],
    }));
    for (let k = 0; k <= cells.length; k++) {
      const before = cells[k - 1];
      const after = cells[k];
      // The strip across this boundary: from inside the cell before it to inside the cell after it.
      const from = Math.max(0, before ? before.end - EDGE_REACH : 0);
      const to = Math.min(n, after ? after.start + EDGE_REACH : n);
      if (to - from < 3) continue;
      const p = stripProfile(img, g, noise, vertical, from, to, a0, a1);
      let va: number;
      let vb: number;
      let faintEdge = false;
      if (before && after) {
        // The shared gutter lines, in strip coordinates.
        va = before.end - from;
        vb = after.start - 1 - from;
        if (vb < va) continue;
      } else {
        // The sheet's edge: a margin (or a cell drawn a few pixels in from a margin-less edge) is a
        // run of gutter-like lines from the edge itself.
        const atEdge = (j: number) => (after ? j : p.length - 1 - j);
        let run = 0;
        while (run < p.length && p[atEdge(run)]! <= gutterLike) run++;
        // Without a margin found sheet-wide, only a cell set in by a few pixels: a white backdrop
        // reaching a margin-less sheet's edge is content, not margin.
        const guarded = after ? after.guardStart : before!.guardEnd;
        if (run >= p.length - 1 && guarded) {
          // The whole strip reads as gutter-like: a faint white backdrop against a white margin.
          // The margin found sheet-wide is the valley, and the edge logic finds the faint step.
          [va, vb] = after ? [0, after.start - 1 - from] : [before!.end - from, p.length - 1];
          faintEdge = true;
        } else if (!guarded && run > 4) {
          // A margin-less edge where the cell's own content reads gutter-like too (a studio a few
          // levels off a white gutter): a cell drawn a few pixels in from the edge leaves a line or
          // two at the gutter's level before it. Too few for a core to measure a step against, so
          // the cell begins where the lines are half way up from them to the studio beyond.
          const content = median(Array.from({ length: 12 }, (_, k) => p[atEdge(Math.min(p.length - 1, 2 * OFFSET_REACH + k))]!));
          const base = Math.min(p[atEdge(0)]!, level);
          let gap = 0;
          while (gap <= OFFSET_REACH && p[atEdge(gap)]! < base + 0.5 * (content - base)) gap++;
          if (gap === 0 || gap > OFFSET_REACH || content - base < 1) continue;
          if (after) [after.start, after.guardStart] = [from + gap, true];
          else [before!.end, before!.guardEnd] = [to - gap, true];
          continue;
        } else {
          if (run === 0 || run >= p.length - 1) continue;
          [va, vb] = after ? [0, run - 1] : [p.length - run, p.length - 1];
        }
      }
      // Against a margin whose lines all read gutter-like, the edge is faint, and the margin's own
      // steadiness sets how far its core reaches (a fixed 1.5 levels takes in the edge's first line).
      const wobble = noiseWobble(noise, a1 - a0);
      const local = refineRun(p, va, vb, { wobble, origin: from, ...(faintEdge ? { coreTolerance: measuredCore(p, va, vb), faint: true } : {}) });
      if (local.rmin > gutterLike) continue; // no gutter here after all: keep the shared line
      // The shared line is where every cell beside it has ended, so a cell's own edge is normally
      // further in. Moving out past the shared line (a faint white edge the sheet-wide profile missed)
      // needs every line crossed to stand clearly above this strip's gutter.
      // Only where the shared line itself has faint content past it: beside a strong edge the
      // shared line is sure, and what lies beyond it is JPEG ringing, not a cell.
      const levelOf = (lo: number, hi: number) => median(p.subarray(Math.max(0, lo), Math.min(p.length, hi)));
      const clearlyContent = (lo: number, hi: number, inner: number, shared: number, cellSide: 1 | -1) => {
        if (shared > 24) return false;
        // Against a margin that reads gutter-like end to end, the walk itself found the faint step
        // from the margin's own steadiness; a multiple of its floor would refuse a studio 1-2 levels off.
        const content = Math.max(faintEdge ? 0 : 3 * local.rmin, local.rmin + 1 + wobble, 0.6 * inner);
        for (let j = lo; j < hi; j++) if (p[j - from]! < content) return false;
        // And a band of content holds its level past the cell's own softened edge (two lines), where
        // JPEG ringing from that edge, filling the rest of its 8 px block of white margin, wobbles.
        const band = cellSide < 0 ? p.subarray(lo + 2 - from, hi - from) : p.subarray(lo - from, hi - 2 - from);
        return band.length < 3 || Math.max(...band) - Math.min(...band) <= 0.5 * (Math.min(...band) - local.rmin);
      };
      // A walk that ran off the strip found no step inside it: this cell's edge is too faint to see
      // that way (see stepFromContent below).
      const lostStart = local.start <= 0 && from > 0;
      const lostEnd = local.end >= p.length - 1 && to < n;
      let tookStart = false;
      let tookEnd = false;
      // Nor is a cell's own edge further in from the shared line than a drawn cell is off its line
      // (the shared line is where its neighbours end, each at most OFFSET_REACH off): a walk that
      // goes further has gone into the picture, through its own gutter-coloured border (a product
      // shot's pure-white edge), which no measure of these pixels tells from the gutter.
      if (before && !lostStart && before.end - (from + local.start) <= 2 * OFFSET_REACH) {
        let end = from + local.start;
        tookStart = !(end > before.end && !clearlyContent(before.end, end, levelOf(local.start - 6, local.start), levelOf(before.end - from - 6, before.end - from), -1));
        if (!tookStart) end = before.end;
        before.end = Math.max(before.start + 8, end);
        before.guardEnd = true;
      }
      if (after && !lostEnd && from + local.end + 1 - after.start <= 2 * OFFSET_REACH) {
        let start = from + local.end + 1;
        tookEnd = !(start < after.start && !clearlyContent(start, after.start, levelOf(local.end + 1, local.end + 7), levelOf(after.start - from, after.start - from + 6), 1));
        if (!tookEnd) start = after.start;
        after.start = Math.min(after.end - 8, start);
        after.guardStart = true;
      }
      // A walk that went further in than a drawn cell is off its line may have placed the edge half
      // way up the picture's own slope beyond a softer cell edge (a figure's shading starting two
      // lines in): the cell then ends where the lines first rise clearly off the gutter, if that is
      // within reach of the shared line. Otherwise the shared line stands (see above).
      if (!faintEdge) {
        const clearly = (edge: number) => local.rmin + Math.max(1 + wobble, 0.25 * (p[edge]! - local.rmin));
        if (before && !tookStart && !lostStart && before.end - from - local.start > 2 * OFFSET_REACH) {
          const shared = before.end - from;
          let j = shared - 1;
          while (j > local.start && p[j]! < clearly(local.start)) j--;
          if (shared - (j + 1) <= 2 * OFFSET_REACH) [before.end, before.guardEnd, tookStart] = [from + j + 1, true, true];
        }
        if (after && !tookEnd && !lostEnd && from + local.end + 1 - after.start > 2 * OFFSET_REACH) {
          const shared = after.start - from;
          let j = shared;
          while (j < local.end && p[j]! < clearly(local.end)) j++;
          if (j - shared <= 2 * OFFSET_REACH) [after.start, after.guardStart, tookEnd] = [from + j, true, true];
        }
      }
      // Between two cells, a side whose edge the walk did not give is looked for from the cell's
      // own steady studio inward (a studio two levels off a white gutter, beside a gutter whose
      // lines wobble with JPEG ringing from a strong edge on its other side).
      if (before && after && !faintEdge) {
        const more = (lo: number, hi: number) => {
          const [l, h] = [Math.max(0, from + lo), Math.min(n, from + hi)];
          return h > l ? stripProfile(img, g, noise, vertical, l, h, a0, a1) : new Float64Array(0);
        };
        const end = tookStart ? undefined : stepFromContent(p, from, va, vb, -1, wobble, more);
        if (end !== undefined) [before.end, before.guardEnd] = [Math.max(before.start + 8, from + end), true];
        const start = tookEnd ? undefined : stepFromContent(p, from, va, vb, 1, wobble, more);
        if (start !== undefined) [after.start, after.guardStart] = [Math.min(after.end - 8, from + start), true];
      }
      if (before && after) seen[k - 1]!.push(separation(p, before.end - from, after.start - from, wobble, gutterLike));
    }
    out.push(cells);
  }
  const clarity = seen.map((c) => (c.length === cross.spans.length ? Math.min(...c) : 0));
  return { cells: out, clarity };
}

interface GridFit {
  g: [number, number, number];
  noise: number;
  xs: AxisResult;
  ys: AxisResult;
  confidence: number;
}

/** The grid's shared lines on both axes, for one candidate gutter colour. */
function fitGrid(img: RgbImage, st: LineStats, gutter: GutterEstimate, rows: number, cols: number): GridFit {
  const g = gutter.colour;
  const noise = noiseVariance(img, gutter.lines);
  const rCol = distanceProfile(st.colSum, st.colSq, st.colN, g, noise);
  const rRow = distanceProfile(st.rowSum, st.rowSq, st.rowN, g, noise);
  const floor = Math.min(Math.min(...rCol), Math.min(...rRow));
  const bCol = biasProfile(st.colSum, st.colN, g);
  const bRow = biasProfile(st.rowSum, st.rowN, g);
  let xs = analyseAxis(rCol, bCol, cols, "columns", floor, noiseWobble(noise, st.colN));
  let ys = analyseAxis(rRow, bRow, rows, "rows", floor, noiseWobble(noise, st.rowN));
  // A sheet's gutters are drawn one width. One found far wider than the narrowest has taken in the
  // faint edge of the cells beside it (a white backdrop a level or two off a white gutter, which the
  // fixed core tolerance does not tell apart): that axis is looked at again with each wide valley's
  // core set from its own steadiness, and kept if that brings the gutters to one width or is no less confident.
  const widths = (a: AxisResult) => a.spans.slice(1).map(([s0], i) => s0 - a.spans[i]![1]);
  const all = [...widths(xs), ...widths(ys)];
  if (all.length) {
    const limit = 2 * Math.min(...all) + 6;
    const retry = (a: AxisResult, redo: () => AxisResult) => {
      if (!widths(a).some((w) => w > limit)) return a;
      const b = redo();
      if (b.spans.length !== a.spans.length) return a;
      // Gutters now all about one width: the faint edges are found, and the grid is at least as
      // plausible as before (the faint step itself may score low on its own).
      if (!widths(b).some((w) => w > limit)) return b.confidence >= a.confidence ? b : { ...b, confidence: a.confidence, problem: a.problem };
      return b.confidence >= a.confidence - 0.05 ? b : a;
    };
    xs = retry(xs, () => analyseAxis(rCol, bCol, cols, "columns", floor, noiseWobble(noise, st.colN), limit));
    ys = retry(ys, () => analyseAxis(rRow, bRow, rows, "rows", floor, noiseWobble(noise, st.rowN), limit));
    if (xs.spans.length === cols && ys.spans.length === rows) {
      xs = splitWideGutters(img, g, noise, true, xs, ys, limit);
      ys = splitWideGutters(img, g, noise, false, ys, xs, limit);
    }
  }
  return { g, noise, xs, ys, confidence: Math.round(Math.min(xs.confidence, ys.confidence) * 100) / 100 };
}

/**
 * A gutter still far wider than the sheet's others after the retry has taken in a faint band of the
 * cells on one side of it, and JPEG ringing beside a strong edge in one of those cells can hide the
 * faint step in the sheet-wide profile (a white studio two levels off the gutter, under the chroma
 * stripes of a figure's edge in the cell above). Across the lines it spans, each row of cells (each
 * column, for row gutters) is measured on its own and a line counts as close to the gutter as its
 * clearest strip shows; the gutter is then found again in that profile, and kept if it comes out
 * no wider than `limit`.
 */
function splitWideGutters(img: RgbImage, g: readonly number[], noise: number, vertical: boolean, axis: AxisResult, cross: AxisResult, limit: number): AxisResult {
  const n = vertical ? img.width : img.height;
  const spans = axis.spans.map(([a, b]): [number, number] => [a, b]);
  for (let i = 0; i + 1 < spans.length; i++) {
    if (spans[i + 1]![0] - spans[i]![1] <= limit) continue;
    // The gutter's lines and a few lines of the strong edges beyond them.
    const from = Math.max(0, spans[i]![1] - 4);
    const to = Math.min(n, spans[i + 1]![0] + 4);
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
    if (run.end - run.start + 1 > limit || run.start < a - 2 || run.end > b + 2) continue;
    spans[i]![1] = from + run.start;
    spans[i + 1]![0] = from + run.end + 1;
  }
  return { ...axis, spans };
}

/**
 * Each cell's own edges for a fitted grid, and the grid's confidence with each gutter as clear as it
 * is along its whole length: a gutter the sheet-wide profile found faint (one side a studio two
 * levels off a white gutter, the other blurred by cells drawn a few pixels off) is confident when
 * every strip across it shows it with both edges.
 */
function refineGrid(img: RgbImage, fit: GridFit) {
  const { g, noise } = fit;
  const level = Math.max(fit.xs.gutterLevel, fit.ys.gutterLevel);
  const x = refineAxis(img, g, noise, true, fit.xs, fit.ys, level); // cells [row][col]
  const y = refineAxis(img, g, noise, false, fit.ys, fit.xs, level); // cells [col][row]
  const clearer = (axis: AxisResult, strips: number[], noun: "columns" | "rows"): AxisResult => {
    const along = axisConfidence(axis.spans, axis.clarities.map((c, i) => Math.max(c, strips[i] ?? 0)), axis.regularity, noun);
    return along.confidence > axis.confidence ? { ...axis, ...along } : axis;
  };
  const xs = clearer(fit.xs, x.clarity, "columns");
  const ys = clearer(fit.ys, y.clarity, "rows");
  const confidence = Math.round(Math.min(xs.confidence, ys.confidence) * 100) / 100;
  return { ...fit, xs, ys, confidence, xCells: x.cells, yCells: y.cells };
}

/** `stats`: the image's line statistics when they were taken already (while it was decoded). */
export function detectGrid(img: RgbImage, rows: number, cols: number, stats?: LineStats): GridDetection {
  const st = stats ?? lineStats(img);
  // The flattest colour is the gutter colour on nearly every sheet. On a noisy sheet with thin grey
  // gutters, a white backdrop clipped at 255 can be flatter than the gutters and have many more
  // lines; so while no grid is clear, the next candidate colours are tried, and the clearest grid wins.
  let fit: (GridFit & Partial<ReturnType<typeof refineGrid>>) | undefined;
  for (const gutter of gutterColours(st)) {
    const fitted = fitGrid(img, st, gutter, rows, cols);
    const next = fitted.xs.spans.length === cols && fitted.ys.spans.length === rows ? refineGrid(img, fitted) : fitted;
    if (!fit || next.confidence > fit.confidence) fit = next;
    if (fit.confidence >= MIN_CONFIDENCE) break;
  }
  const { g, xs, ys, confidence, xCells, yCells } = fit!;
  const weaker = xs.confidence <= ys.confidence ? xs : ys;
  const boxes: Box[] = [];
  if (xCells && yCells) {
    for (let ri = 0; ri < rows; ri++) {
      for (let ci = 0; ci < cols; ci++) {
        const cx = xCells[ri]![ci]!;
        const cy = yCells[ci]![ri]!;
        const x = cx.start + (cx.guardStart ? SAFETY_INSET : 0);
        const y = cy.start + (cy.guardStart ? SAFETY_INSET : 0);
        boxes.push({
          x,
          y,
          width: cx.end - (cx.guardEnd ? SAFETY_INSET : 0) - x,
          height: cy.end - (cy.guardEnd ? SAFETY_INSET : 0) - y,
        });
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
  const gutter = gutterColours(st, 1)[0]!;
  const g = gutter.colour;
  const noise = noiseVariance(img, gutter.lines);
  const colProfile = distanceProfile(st.colSum, st.colSq, st.colN, g, noise);
  const rowProfile = distanceProfile(st.rowSum, st.rowSq, st.rowN, g, noise);
  const floor = Math.min(Math.min(...colProfile), Math.min(...rowProfile));
  const bounds = (r: Float64Array): [number, number, number] => {
    const runs = findRuns(r).filter((run) => run.clarity > 0.3);
    const first = runs.find((run) => run.touchesStart && marginLike(r, run, floor));
    const last = runs.find((run) => run.touchesEnd && run !== first && marginLike(r, run, floor));
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

