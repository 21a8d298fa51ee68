/**
 * Finds the grid of a contact sheet in raw pixels (SPEC stage 3): the boxes of its cells, with a
 * confidence and, when it is low, the reason a reviewer sees. The stages, each its own module:
 * line profiles and the gutter colour (profile.ts, gutter-colour.ts), gutter runs in a profile
 * (runs.ts, margins.ts), the cells along one axis (axis.ts, fit.ts), each cell's own edges, boxes
 * and the confidence they give (cells.ts). Every tuned number is in params.ts.
 */
import { cellBoxes, refineGrid, trimCell } from "./cells.ts";
import { fitGrid, type GridFit } from "./fit.ts";
import { gutterColours } from "./gutter-colour.ts";
import { marginLike } from "./margins.ts";
import { median } from "./math.ts";
import { CLEAR_RUN, MAX_TRIM, MIN_CONFIDENCE, MIN_CONTENT_FRACTION, SAFETY_INSET } from "./params.ts";
import { distanceProfile, lineStats, noiseVariance, type LineStats } from "./profile.ts";
import { findRuns } from "./runs.ts";
import type { Box, GridDetection, RgbImage } from "./types.ts";

export { median } from "./math.ts";
export { MIN_CONFIDENCE } from "./params.ts";
export { LineStatsBuilder, type LineStats } from "./profile.ts";
export type { Box, GridDetection, RgbImage } from "./types.ts";

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
  return {
    boxes: xCells && yCells ? cellBoxes(xCells, yCells, rows, cols) : [],
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
    const runs = findRuns(r).filter((run) => run.clarity > CLEAR_RUN);
    const first = runs.find((run) => run.touchesStart && marginLike(r, run, floor));
    const last = runs.find((run) => run.touchesEnd && run !== first && marginLike(r, run, floor));
    const lo = first ? first.end + 1 + SAFETY_INSET : 0;
    const hi = last ? last.start - SAFETY_INSET : r.length;
    const level = runs.length ? median(runs.map((run) => run.rmin)) : 0;
    // A margin that eats most of the sheet is not a margin; keep the whole sheet then.
    return hi - lo > r.length * MIN_CONTENT_FRACTION ? [lo, hi, level] : [0, r.length, level];
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
      const maxTrim = trimGutters ? Math.floor(Math.min(box.width, box.height) * MAX_TRIM) : 0;
      boxes.push(trimCell(img, g, box, level, maxTrim));
    }
  }
  return boxes;
}
