/** Outer margins: which valley at the sheet's edge is a margin, and where cells begin without one. */
import { median } from "./math.ts";
import { BORDER_CONTENT_TO, BORDER_LEVEL, BORDER_SKIP_MAX, MARGIN_FRACTION, MARGIN_LEVEL_MIN, MARGIN_OFF_COLOUR, MARGIN_RMIN_MAX } from "./params.ts";
import type { Run } from "./runs.ts";

/**
 * A valley touching the sheet edge is a margin when it is as gutter-coloured as the flattest lines
 * and truly flat: a white backdrop reaching the edge of a margin-less sheet, or a dark band at the
 * bottom of a photo, is a valley too but sits well above that level.
 */
export function marginLike(r: Float64Array, run: Run, floor: number, wobble = 0, bias?: Float64Array): boolean {
  // Sheet margins are narrow (0-80 px on 1696); a flat band wider than 8% is part of a picture.
  const width = run.touchesStart ? run.end + 1 : r.length - run.start;
  const limit = floor + Math.max(MARGIN_LEVEL_MIN, floor) + wobble;
  // And the gutter's colour on average along most of its lines, not only the deepest, or far
  // nearer it than to the content beyond: on a margin-less sheet, a cell drawn a pixel or two in
  // from the edge leaves a line or two of gutter before a studio a few levels off, which is no
  // margin; JPEG shifts a saturated margin's colour a level or two, but next to content a hundred off.
  const offColour = bias ? median(bias.subarray(run.start, run.end + 1)) : 0;
  return (
    run.rmin <= limit &&
    offColour <= Math.max(limit, MARGIN_OFF_COLOUR * run.contrast) &&
    run.rmin <= MARGIN_RMIN_MAX + wobble &&
    width <= MARGIN_FRACTION * r.length
  );
}

/**
 * Where the cells begin when no margin run was found: a margin of a pixel or two is smeared by JPEG
 * into lines that are only part-way to the content, so skip leading lines well below the content level.
 */
export function borderStart(r: Float64Array, dir: 1 | -1): number {
  const n = r.length;
  const idx = (k: number) => (dir > 0 ? k : n - 1 - k);
  const inner: number[] = [];
  for (let k = BORDER_SKIP_MAX; k <= BORDER_CONTENT_TO && k < n; k++) inner.push(r[idx(k)]!);
  const content = median(inner);
  let skip = 0;
  for (let k = 0; k < BORDER_SKIP_MAX && k < n; k++) if (r[idx(k)]! < BORDER_LEVEL * content) skip = k + 1;
  return skip;
}
