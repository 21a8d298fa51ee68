/**
 * The gutter colour: the mean colour of the most uniform lines. Gutters and margins run the full
 * width or height of the sheet, so they are the flattest lines there are; lines found on both axes
 * are preferred because a grid has gutters both ways.
 */
import type { FlatLine, LineStats } from "./profile.ts";
import {
  CANDIDATE_COLOUR_GAP,
  COLOUR_RADIUS,
  CORE_FACTOR,
  CORE_SLACK,
  FLAT_SLACK,
  FLATTEST_SLACK,
  GUTTER_CANDIDATES,
  MAX_CLUSTERS,
  MAX_FLAT_LINES,
  MIN_CORE_LINES,
  NOISE_LINES,
} from "./params.ts";

export interface GutterEstimate {
  colour: [number, number, number];
  /** The flattest lines of that colour, flattest first. */
  lines: FlatLine[];
}

type Line = { axis: 0 | 1; index: number; std: number; mean: [number, number, number] };

const dist = (p: number[], q: number[]) => Math.abs(p[0]! - q[0]!) + Math.abs(p[1]! - q[1]!) + Math.abs(p[2]! - q[2]!);

/** Every line's mean colour and spread (RMS over the channels), flattest first. */
function linesBySpread(st: LineStats): Line[] {
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
  return lines.sort((a, b) => a.std - b.std);
}

/**
 * Clustering, flattest line first: a line further than a small radius from every seed so far
 * seeds a cluster, which keeps a backdrop a few levels off the gutter colour (white studio next to
 * white gutters) out of the estimate. Each line then joins its nearest seed, not the first within
 * reach: a white gutter's lines (254-255, clipped noise) lie about a radius from a flatter backdrop
 * 3 levels below, and handing the nearer half of them to the backdrop gave it "both axes".
 */
function clusterByColour(flat: Line[]): Line[][] {
  const seeds: Line[] = [];
  for (const l of flat) if (seeds.every((s) => dist(l.mean, s.mean) > COLOUR_RADIUS)) seeds.push(l);
  const groups = seeds.map((): Line[] => []);
  for (const l of flat) {
    let k = 0;
    for (let j = 1; j < seeds.length; j++) if (dist(l.mean, seeds[j]!.mean) < dist(l.mean, seeds[k]!.mean)) k = j;
    groups[k]!.push(l);
  }
  return groups;
}

/**
 * How gutter-like a cluster is. Counted: the lines about as flat as the flattest on the sheet. A
 * backdrop's lines cross the gutters, so however many there are, few of them are that flat. First,
 * though, a grid's colour runs both ways, each way about as flat as that axis's flattest line, so
 * the fewer of the two counts decides: gutter rows crossing cells drawn a few pixels off are less
 * flat than gutter columns, and a seamless studio flat along a hundred rows at the top of its cells
 * has a line or two that way (where a cell's edge meets the white).
 */
function clusterScore(members: Line[], sMin: number, axisMin: number[]): number {
  const flattest = members.filter((l) => l.std <= sMin * 2 + FLATTEST_SLACK);
  const [c0, c1] = ([0, 1] as const).map((axis) => members.filter((l) => l.axis === axis && l.std <= axisMin[axis]! * 2 + FLATTEST_SLACK).length);
  // Ties broken by the count of flattest lines, then by size (weights far below one line).
  return Math.min(c0!, c1!) + flattest.length * 1e-4 + members.length * 1e-9;
}

/**
 * The colour from the cluster's flattest lines only: rows of a white backdrop a few levels off a
 * white gutter fall within the radius and outnumber the gutter lines, but each of them also crosses
 * gutters, so they are never as flat; averaging them in would put the "gutter" colour between the
 * two and hide the step. Without such a core, flatter lines count more.
 */
function clusterColour(members: Line[]): [number, number, number] {
  const core = members.filter((l) => l.std <= members[0]!.std * CORE_FACTOR + CORE_SLACK);
  const from = core.length >= MIN_CORE_LINES ? core : members;
  const acc = [0, 0, 0];
  let weight = 0;
  for (const l of from) {
    const wgt = from === core ? 1 : 1 / (1 + l.std * l.std);
    weight += wgt;
    for (let c = 0; c < 3; c++) acc[c] += l.mean[c]! * wgt;
  }
  return [acc[0]! / weight, acc[1]! / weight, acc[2]! / weight];
}

/** Up to `count` candidate gutter colours, likeliest first. */
export function gutterColours(st: LineStats, count = GUTTER_CANDIDATES): GutterEstimate[] {
  const lines = linesBySpread(st);
  const sMin = lines[0]!.std;
  const axisMin = ([0, 1] as const).map((axis) => lines.find((l) => l.axis === axis)?.std ?? Infinity);
  const flat = lines.filter((l) => l.std <= sMin * 2 + FLAT_SLACK).slice(0, MAX_FLAT_LINES);
  const clusters = clusterByColour(flat).map((members) => ({ score: clusterScore(members, sMin, axisMin), members }));
  clusters.sort((a, b) => b.score - a.score);
  const estimates = clusters.slice(0, MAX_CLUSTERS).map(({ members }) => ({
    colour: clusterColour(members),
    lines: members.slice(0, NOISE_LINES).map((l) => ({ axis: l.axis, index: l.index, variance: l.std * l.std })),
  }));
  // The next candidates are other colours, not shades of the first: a dark studio's gradient makes
  // several dark clusters, and the mid-grey gutter between them comes after all of them.
  const picked: GutterEstimate[] = [];
  for (const e of estimates) {
    if (picked.length >= count) break;
    if (picked.every((p) => dist(p.colour, e.colour) >= CANDIDATE_COLOUR_GAP)) picked.push(e);
  }
  return picked;
}
