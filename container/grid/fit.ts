/**
 * The grid's shared lines on both axes for one candidate gutter colour: each axis analysed from the
 * sheet-wide profiles, then gutters found far wider than the others looked at again.
 */
import { analyseAxis, gutterWidths, splitWideGutters, type AxisResult } from "./axis.ts";
import type { GutterEstimate } from "./gutter-colour.ts";
import { RETRY_CONFIDENCE_LOSS, WIDE_GUTTER_SLACK } from "./params.ts";
import { biasProfile, distanceProfile, noiseVariance, noiseWobble, type LineStats } from "./profile.ts";
import type { RgbImage } from "./types.ts";

export interface GridFit {
  g: [number, number, number];
  noise: number;
  xs: AxisResult;
  ys: AxisResult;
  confidence: number;
}

/**
 * A sheet's gutters are drawn one width. One found far wider than the narrowest has taken in the
 * faint edge of the cells beside it (a white backdrop a level or two off a white gutter, which the
 * fixed core tolerance does not tell apart): that axis is looked at again with each wide valley's
 * core set from its own steadiness, and kept if that brings the gutters to one width or is no less
 * confident. (The faint step itself may score low on its own.)
 */
function retryWide(a: AxisResult, limit: number, redo: () => AxisResult): AxisResult {
  if (!gutterWidths(a).some((w) => w > limit)) return a;
  const b = redo();
  if (b.spans.length !== a.spans.length) return a;
  if (!gutterWidths(b).some((w) => w > limit)) return b.confidence >= a.confidence ? b : { ...b, confidence: a.confidence, problem: a.problem };
  return b.confidence >= a.confidence - RETRY_CONFIDENCE_LOSS ? b : a;
}

export function fitGrid(img: RgbImage, st: LineStats, gutter: GutterEstimate, rows: number, cols: number): GridFit {
  const g = gutter.colour;
  const noise = noiseVariance(img, gutter.lines);
  const rCol = distanceProfile(st.colSum, st.colSq, st.colN, g, noise);
  const rRow = distanceProfile(st.rowSum, st.rowSq, st.rowN, g, noise);
  const floor = Math.min(Math.min(...rCol), Math.min(...rRow));
  const bCol = biasProfile(st.colSum, st.colN, g);
  const bRow = biasProfile(st.rowSum, st.rowN, g);
  const columns = (wideOver?: number) => analyseAxis(rCol, bCol, cols, "columns", floor, noiseWobble(noise, st.colN), wideOver);
  const rowsOf = (wideOver?: number) => analyseAxis(rRow, bRow, rows, "rows", floor, noiseWobble(noise, st.rowN), wideOver);
  let xs = columns();
  let ys = rowsOf();
  const all = [...gutterWidths(xs), ...gutterWidths(ys)];
  if (all.length) {
    const limit = 2 * Math.min(...all) + WIDE_GUTTER_SLACK;
    xs = retryWide(xs, limit, () => columns(limit));
    ys = retryWide(ys, limit, () => rowsOf(limit));
    if (xs.spans.length === cols && ys.spans.length === rows) {
      xs = splitWideGutters(img, g, noise, true, xs, ys, limit);
      ys = splitWideGutters(img, g, noise, false, ys, xs, limit);
    }
  }
  return { g, noise, xs, ys, confidence: Math.round(Math.min(xs.confidence, ys.confidence) * 100) / 100 };
}
