/** Stage 3: one axis's cells from its profile: margins, the evenest gutters, and confidence. */
import { describe, expect, it } from "vitest";
import { analyseAxis, axisConfidence, regularityOf } from "../../../../container/grid/axis.ts";
import { profile } from "./synthetic.ts";

const analyse = (r: Float64Array, cells: number) => analyseAxis(r, new Float64Array(r.length), cells, "columns", 0, 0);

describe("grid axis", () => {
  it("three even columns between margins: each cell between the gutters, every side guarded", () => {
    const axis = analyse(profile([0, 10], [30, 100], [0, 8], [30, 100], [0, 8], [30, 100], [0, 10]), 3);
    expect(axis).toMatchObject({
      spans: [
        [10, 110],
        [118, 218],
        [226, 326],
      ],
      guarded: [
        [true, true],
        [true, true],
        [true, true],
      ],
      confidence: 1,
      regularity: 1,
    });
    expect(axis.problem).toBeUndefined();
  });

  it("a missing gutter is named where it was expected", () => {
    const axis = analyse(profile([0, 10], [30, 100], [0, 8], [30, 208], [0, 10]), 3);
    expect(axis).toMatchObject({ spans: [], confidence: 0, problem: "no gutter found between columns 2 and 3" });
  });

  it("cells far from even are reported with their sizes", () => {
    const axis = analyse(profile([0, 10], [30, 60], [0, 8], [30, 140], [0, 8], [30, 100], [0, 10]), 3);
    expect(axis.confidence).toBe(0);
    expect(axis.problem).toBe("the columns found are unevenly sized (60, 140, 100 px)");
  });

  it("a flat backdrop band off the gutter's colour loses to the real gutter, even nearer the even spacing", () => {
    // The backdrop (20 levels off, lines 130-137) sits nearer the middle than the gutter (144-151).
    const axis = analyse(profile([0, 10], [30, 120], [20, 8], [30, 6], [0, 8], [30, 120], [0, 10]), 2);
    expect(axis.spans).toEqual([
      [10, 144],
      [152, 272],
    ]);
  });

  it("confidence is the weakest gutter's clarity times regularity, and names that gutter", () => {
    expect(
      axisConfidence(
        [
          [0, 10],
          [12, 22],
          [24, 34],
        ],
        [1, 0.4],
        1,
        "rows",
      ),
    ).toMatchObject({ confidence: 0.4, problem: "gutters between rows 2 and 3 are unclear" });
    expect(
      regularityOf([
        [0, 100],
        [108, 208],
      ]),
    ).toBe(1);
    expect(
      regularityOf([
        [0, 60],
        [68, 208],
      ]),
    ).toBe(0);
  });
});
