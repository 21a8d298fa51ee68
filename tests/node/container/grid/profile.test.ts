/** Stage 1: line statistics, distance profiles, noise and the gutter colour. */
import { describe, expect, it } from "vitest";
import { gutterColours } from "../../../../container/grid/gutter-colour.ts";
import { biasProfile, distanceProfile, lineStats, LineStatsBuilder, noiseVariance, noiseWobble, stripProfile } from "../../../../container/grid/profile.ts";
import { gridImage, image } from "./synthetic.ts";

describe("grid profile: line statistics", () => {
  it("taken band by band (while decoding) equal those taken at once", () => {
    const img = image(37, 29, (x, y) => [(x * 7 + y) % 256, (x * y) % 256, (3 * y) % 256]);
    const whole = lineStats(img);
    const bands = new LineStatsBuilder(img.width, img.height);
    bands.add(img.data, 0, 10);
    bands.add(img.data, 10, 11);
    bands.add(img.data, 11, img.height);
    expect(bands.stats).toEqual(whole);
  });

  it("a line of the gutter colour is at 0, a line a few levels off is that far, and its own spread counts", () => {
    const img = image(8, 6, (x) => (x < 2 ? [200, 200, 200] : x < 4 ? [203, 203, 203] : x % 2 ? [190, 190, 190] : [210, 210, 210]));
    const st = lineStats(img);
    const d = distanceProfile(st.colSum, st.colSq, st.colN, [200, 200, 200], 0);
    expect(d[0]).toBeCloseTo(0);
    expect(d[2]).toBeCloseTo(3);
    // Columns alternate 190 / 210: each is 10 off, whatever the mean of the pair.
    expect(d[4]).toBeCloseTo(10);
    expect(d[5]).toBeCloseTo(10);
    // The bias profile is only the mean colour's distance.
    expect(biasProfile(st.colSum, st.colN, [200, 200, 200])[2]).toBeCloseTo(3);
  });

  it("subtracting the sheet's noise variance leaves a noisy gutter line at 0", () => {
    // A column alternating ±2 around the gutter colour: variance 4.
    const img = image(4, 40, (_x, y) => (y % 2 ? [102, 102, 102] : [98, 98, 98]));
    const st = lineStats(img);
    // Columns are sampled on even rows only, so take the row profile (every other pixel of a row).
    const rows = distanceProfile(st.rowSum, st.rowSq, st.rowN, [100, 100, 100], 4);
    expect(Math.max(...rows)).toBeCloseTo(0);
  });

  it("noise is measured within short stretches of the flattest lines: a backdrop's edge along a line is not noise", () => {
    // Column 3 steps from 0 to 200 half way (on a 32 px stretch boundary): a huge variance, no noise.
    const img = image(8, 64, (_x, y) => (y < 32 ? [0, 0, 0] : [200, 200, 200]));
    expect(noiseVariance(img, [{ axis: 0, index: 3, variance: 10_000 }])).toBe(0);
    expect(noiseWobble(16, 100)).toBeGreaterThan(noiseWobble(16, 1000));
    expect(noiseWobble(0, 100)).toBe(0);
  });

  it("a strip's profile is the same measure as the sheet-wide one, over the strip's pixels only", () => {
    const img = image(10, 10, (x, y) => (y < 5 ? [x * 10, 0, 0] : [0, 0, 0]));
    const p = stripProfile(img, [0, 0, 0], 0, true, 2, 6, 0, 5);
    expect(Array.from(p).map((v) => Math.round(v * 100) / 100)).toEqual([2, 3, 4, 5].map((x) => Math.round(Math.sqrt((x * 10) ** 2 / 3) * 100) / 100));
  });
});

describe("grid profile: the gutter colour", () => {
  it("is the colour of the lines that are flat both ways", () => {
    const { img } = gridImage({
      cols: 3,
      rows: 2,
      cellW: 40,
      cellH: 30,
      gutter: 4,
      margin: 3,
      gutterColour: [20, 140, 140],
      content: (cx, cy, x) => [100 + cx * 30, 60 + cy * 50, (x * 3) % 256],
    });
    const [first] = gutterColours(lineStats(img));
    expect(first!.colour.map(Math.round)).toEqual([20, 140, 140]);
  });

  it("white gutter beside a white studio: the studio's flat rows, three levels off, are not the gutter", () => {
    // Cells: a seamless studio at 252, flat along its top rows, with a dark figure lower down.
    const { img } = gridImage({
      cols: 3,
      rows: 2,
      cellW: 50,
      cellH: 60,
      gutter: 6,
      margin: 0,
      gutterColour: [255, 255, 255],
      content: (_cx, _cy, x, y) => (y > 30 && x > 15 && x < 35 ? [60, 40, 30] : [252, 252, 251]),
    });
    const [first] = gutterColours(lineStats(img));
    expect(first!.colour[0]).toBeGreaterThan(254);
  });
});
