/** Stage 2: valleys of a profile as gutter runs, their edges and clarity, and margins. */
import { describe, expect, it } from "vitest";
import { borderStart, marginLike } from "../../../../container/grid/margins.ts";
import { findRuns, measuredCore, refineRun, type Run } from "../../../../container/grid/runs.ts";
import { profile } from "./synthetic.ts";

describe("grid runs: edges", () => {
  it("a clean valley is one clear run from its first to its last gutter line", () => {
    expect(findRuns(profile([30, 40], [0, 10], [30, 40]))).toEqual([
      { start: 40, end: 49, rmin: 0, clarity: 1, contrast: 30, touchesStart: false, touchesEnd: false },
    ]);
  });

  it("a step softened over a line is placed half way up, not at its foot", () => {
    const [run] = findRuns(profile([30, 40], [0, 10], [15, 1], [30, 39]));
    expect(run!.end).toBe(49);
  });

  it("JPEG ringing ahead of a strong edge, in the same 16 px block, is stepped over", () => {
    // Lines 60-62 ring (2-3 levels) before the cell's real edge at 63.
    const [run] = findRuns(profile([60, 40], [0, 20], [2, 1], [3, 1], [2.5, 1], [60, 40]));
    expect(run!.end).toBe(62);
  });

  it("a strong edge JPEG softened over several lines, with ringing dipping just before it, is the edge", () => {
    // Sheet lines 822-831 are content, 832-846 gutter; 847-852 ring (up to 4 levels, dipping at
    // 852) in the 16 px block 848-863 that the cell's edge at 855 lies in, rising over five lines.
    const p = profile(
      [35, 10],
      [0.5, 15],
      [0.9, 1],
      [2.2, 1],
      [2.3, 1],
      [4.1, 1],
      [3.3, 1],
      [2.7, 1],
      [6.7, 1],
      [16.5, 1],
      [24.2, 1],
      [30.2, 1],
      [34.7, 1],
      [36.5, 1],
      [36.9, 15],
    );
    const origin = 822;
    expect(origin + refineRun(p, 12, 20, { origin }).end + 1).toBe(855);
  });

  it("a strip of backdrop holding its level before a figure is the cell, not ringing", () => {
    // A first step to 5-6 levels that holds for seven lines, then the figure: the cell starts at the step.
    const [run] = findRuns(profile([60, 40], [0, 20], [5, 1], [6, 6], [60, 40]));
    expect(run!.end).toBe(59);
  });

  it("faint edge on an 8 px JPEG block boundary: the lines part way up are the block's, not the cell's", () => {
    // A 3-level step whose foot (line 23) ends an 8 px block when the profile starts on a block
    // boundary: the block after it is coded as its mean, so the edge is where lines are nearly up.
    const p = profile([30, 10], [0.2, 14], [1.5, 1], [2.5, 1], [3, 1], [3.2, 1], [3.3, 1], [3.4, 20]);
    expect(refineRun(p, 15, 20, { origin: 0, coreTolerance: 0.3 }).end).toBe(26);
    // The same lines a line later on the sheet: no block boundary, the edge is half way up.
    expect(refineRun(p, 15, 20, { origin: 1, coreTolerance: 0.3 }).end).toBe(24);
  });

  it("a valley flat to the sheet's edge touches it, with no contrast on that side", () => {
    const [run] = findRuns(profile([0, 12], [30, 100]));
    expect(run).toMatchObject({ start: 0, end: 11, touchesStart: true, touchesEnd: false, contrast: 30 });
  });

  it("flat patches of a photo are valleys, but not clear ones", () => {
    const runs = findRuns(Float64Array.from({ length: 200 }, (_, i) => 40 + 20 * Math.sin(i / 7)));
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run.clarity).toBeLessThan(0.3);
  });

  it("a core measured from the valley's own wobble lies between 0.3 and the fixed 1.5 levels", () => {
    expect(measuredCore(profile([0, 5], [0.1, 5]), 0, 9)).toBe(0.3);
    expect(measuredCore(profile([0, 1], [5, 1], [0, 1], [5, 1]), 0, 3)).toBe(1.5);
  });
});

describe("grid runs: margins", () => {
  const margin: Run = { start: 0, end: 9, rmin: 1, clarity: 1, contrast: 29, touchesStart: true, touchesEnd: false };
  const r = profile([1, 10], [30, 150]);

  it("a flat gutter-coloured valley at the sheet's edge is a margin", () => {
    expect(marginLike(r, margin, 0)).toBe(true);
    expect(marginLike(r, margin, 0, 0, profile([1, 10], [30, 150]))).toBe(true);
  });

  it("margin that reads gutter-like but is not the gutter's colour: a studio a few levels off is content", () => {
    // Its lines are flat (rmin 1) but their mean colour is 4 levels off the gutter's.
    expect(marginLike(r, margin, 0, 0, profile([4, 10], [30, 150]))).toBe(false);
  });

  it("a flat band wider than 8 % of the sheet is part of a picture, not a margin", () => {
    expect(marginLike(profile([1, 20], [30, 80]), { ...margin, end: 19 }, 0)).toBe(false);
  });

  it("without a margin, a JPEG-smeared border line or two is skipped", () => {
    expect(borderStart(profile([5, 2], [40, 100]), 1)).toBe(2);
    expect(borderStart(profile([40, 100], [5, 1]), -1)).toBe(1);
    expect(borderStart(profile([40, 100]), 1)).toBe(0);
  });
});
