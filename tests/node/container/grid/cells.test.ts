/** Stage 4: each cell's own edges, how clearly a strip shows its gutter, and the boxes. */
import { describe, expect, it } from "vitest";
import type { AxisResult } from "../../../../container/grid/axis.ts";
import { cellBoxes, refineAxis, separation, stepFromContent, trimCell } from "../../../../container/grid/cells.ts";
import { gridImage, image, profile } from "./synthetic.ts";

const axis = (spans: Array<[number, number]>): AxisResult => ({
  spans,
  guarded: spans.map((): [boolean, boolean] => [true, true]),
  confidence: 1,
  gutterLevel: 0,
  clarities: [1],
  regularity: 1,
});

describe("grid cells", () => {
  it("a cell drawn 2 px off the shared line gets its own edge; its neighbours keep the shared line", () => {
    // 2×2 cells of textured content on white gutters; the top-right cell starts 2 px right of the
    // bottom-right one, so the shared line (78) is where the bottom one starts.
    const rects = [
      { x: 8, y: 8 },
      { x: 80, y: 8 },
      { x: 8, y: 78 },
      { x: 78, y: 78 },
    ];
    const img = image(146, 146, (x, y) =>
      rects.some((r) => x >= r.x && x < r.x + 60 - (r.x === 80 ? 2 : 0) && y >= r.y && y < r.y + 60) ? [100 + ((x * 7 + y * 3) % 20), 90, 80] : [255, 255, 255],
    );
    const { cells, clarity } = refineAxis(
      img,
      [255, 255, 255],
      0,
      true,
      axis([
        [8, 68],
        [78, 138],
      ]),
      axis([
        [8, 68],
        [78, 138],
      ]),
      0,
    );
    expect(cells[0]!.map((c) => [c.start, c.end])).toEqual([
      [8, 68],
      [80, 138],
    ]);
    expect(cells[1]!.map((c) => [c.start, c.end])).toEqual([
      [8, 68],
      [78, 138],
    ]);
    expect(clarity).toEqual([1]);
  });

  it("JPEG-smeared gutter line at a margin-less edge: a cell drawn a pixel in from the sheet's edge starts after it", () => {
    // Mid-grey gutter (130); the first cell starts 1 px in, and JPEG has smeared that gutter column
    // to 110, part way to the cell's 60: no line reads gutter-like, yet it is not the cell's.
    const img = image(100, 60, (x) => (x === 0 ? [110, 110, 110] : x < 45 || x >= 55 ? [60, 60, 60] : [130, 130, 130]));
    const xs: AxisResult = {
      ...axis([
        [0, 45],
        [55, 100],
      ]),
      guarded: [
        [false, true],
        [true, false],
      ],
    };
    const { cells } = refineAxis(img, [130, 130, 130], 0, true, xs, { ...axis([[0, 60]]), guarded: [[false, false]] }, 0);
    expect(cells[0]![0]).toMatchObject({ start: 1, guardStart: true });
    // The last cell reaches the sheet's edge itself: nothing is skipped there.
    expect(cells[0]![1]).toMatchObject({ end: 100, guardEnd: false });
  });

  it("a strip's gutter is clear when both sides stand above its lines, and not when one side does not", () => {
    expect(separation(profile([20, 14], [0, 8], [20, 14]), 14, 22, 0, 4)).toBe(1);
    // One side only 0.2 levels above the gutter: less than the half level a clear edge needs.
    expect(separation(profile([20, 14], [0, 8], [0.2, 14]), 14, 22, 0, 4)).toBeCloseTo(0.4);
    // A "gutter" at 10 levels is not gutter-like.
    expect(separation(profile([20, 14], [10, 8], [20, 14]), 14, 22, 0, 4)).toBe(0);
  });

  it("a faint studio edge is found from the cell's steady content inward, even inside the shared gutter", () => {
    const p = profile([0, 20], [3, 30]);
    const more = (lo: number, hi: number) => p.subarray(Math.max(0, lo), Math.min(p.length, hi));
    expect(stepFromContent(p, 0, 10, 25, 1, 0, more)).toBe(20);
    // Content that is not steady (a figure's edge in it) gives nothing.
    const busy = profile([0, 20], [3, 20], [40, 20]);
    expect(stepFromContent(busy, 0, 10, 25, 1, 0, (lo, hi) => busy.subarray(Math.max(0, lo), Math.min(busy.length, hi)))).toBeUndefined();
  });

  it("boxes are shrunk by the safety inset on the sides that border a gutter or margin only", () => {
    const boxes = cellBoxes([[{ start: 10, end: 110, guardStart: true, guardEnd: false }]], [[{ start: 5, end: 55, guardStart: false, guardEnd: true }]], 1, 1);
    expect(boxes).toEqual([{ x: 11, y: 5, width: 99, height: 49 }]);
  });

  it("an equal split's box loses the gutter lines along its borders", () => {
    const { img, cells } = gridImage({
      cols: 2,
      rows: 1,
      cellW: 40,
      cellH: 40,
      gutter: 6,
      margin: 4,
      gutterColour: [255, 255, 255],
      content: () => [100, 100, 100],
    });
    expect(trimCell(img, [255, 255, 255], { x: 0, y: 0, width: 47, height: 48 }, 0, 8)).toEqual(cells[0]);
  });
});
