/**
 * CIEDE2000 against the 34 test pairs published with its implementation notes (Sharma, Wu & Dalal,
 * Color Res. Appl. 30(1):21–30, 2005, Table 1), to their four decimals; and the sRGB → Lab
 * conversion against known values.
 */
import { describe, expect, it } from "vitest";
import { colourName, deltaE00, labToRgb, rgbBufferToLab, rgbToLab } from "../../../../common/colour.ts";

// L1, a1, b1, L2, a2, b2, ΔE00
const SHARMA: [number, number, number, number, number, number, number][] = [
  [50.0, 2.6772, -79.7751, 50.0, 0.0, -82.7485, 2.0425],
  [50.0, 3.1571, -77.2803, 50.0, 0.0, -82.7485, 2.8615],
  [50.0, 2.8361, -74.02, 50.0, 0.0, -82.7485, 3.4412],
  [50.0, -1.3802, -84.2814, 50.0, 0.0, -82.7485, 1.0],
  [50.0, -1.1848, -84.8006, 50.0, 0.0, -82.7485, 1.0],
  [50.0, -0.9009, -85.5211, 50.0, 0.0, -82.7485, 1.0],
  [50.0, 0.0, 0.0, 50.0, -1.0, 2.0, 2.3669],
  [50.0, -1.0, 2.0, 50.0, 0.0, 0.0, 2.3669],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0009, 7.1792],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.001, 7.1792],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0011, 7.2195],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0012, 7.2195],
  [50.0, -0.001, 2.49, 50.0, 0.0009, -2.49, 4.8045],
  [50.0, -0.001, 2.49, 50.0, 0.001, -2.49, 4.8045],
  [50.0, -0.001, 2.49, 50.0, 0.0011, -2.49, 4.7461],
  [50.0, 2.5, 0.0, 50.0, 0.0, -2.5, 4.3065],
  [50.0, 2.5, 0.0, 73.0, 25.0, -18.0, 27.1492],
  [50.0, 2.5, 0.0, 61.0, -5.0, 29.0, 22.8977],
  [50.0, 2.5, 0.0, 56.0, -27.0, -3.0, 31.903],
  [50.0, 2.5, 0.0, 58.0, 24.0, 15.0, 19.4535],
  [50.0, 2.5, 0.0, 50.0, 3.1736, 0.5854, 1.0],
  [50.0, 2.5, 0.0, 50.0, 3.2972, 0.0, 1.0],
  [50.0, 2.5, 0.0, 50.0, 1.8634, 0.5757, 1.0],
  [50.0, 2.5, 0.0, 50.0, 3.2592, 0.335, 1.0],
  [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
  [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.263],
  [61.2901, 3.7196, -5.3901, 61.4292, 2.248, -4.962, 1.8731],
  [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
  [22.7233, 20.0904, -46.694, 23.0331, 14.973, -42.5619, 2.0373],
  [36.4612, 47.858, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
  [90.8027, -2.0831, 1.441, 91.1528, -1.6435, 0.0447, 1.4441],
  [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
  [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
  [2.0776, 0.0795, -1.135, 0.9033, -0.0636, -0.5514, 0.9082],
];

describe("CIEDE2000", () => {
  it("matches all 34 of Sharma, Wu and Dalal's test pairs to four decimals, both ways round", () => {
    for (const [i, [l1, a1, b1, l2, a2, b2, expected]] of SHARMA.entries()) {
      expect(deltaE00(l1, a1, b1, l2, a2, b2), `pair ${i + 1}`).toBeCloseTo(expected, 4);
      expect(deltaE00(l2, a2, b2, l1, a1, b1), `pair ${i + 1} reversed`).toBeCloseTo(expected, 4);
    }
  });

  it("is zero for a colour against itself and 100 from black to white", () => {
    expect(deltaE00(40, 30, -20, 40, 30, -20)).toBe(0);
    expect(deltaE00(0, 0, 0, 100, 0, 0)).toBeCloseTo(100, 6);
  });
});

describe("sRGB to CIELAB (D65)", () => {
  it("gives the known values of white, black, and the primaries", () => {
    const close = (got: number[], want: number[]) => {
      for (const [i, v] of got.entries()) expect(v).toBeCloseTo(want[i]!, 1);
    };
    close(rgbToLab(255, 255, 255), [100, 0, 0]);
    close(rgbToLab(0, 0, 0), [0, 0, 0]);
    close(rgbToLab(255, 0, 0), [53.24, 80.09, 67.2]);
    close(rgbToLab(0, 255, 0), [87.73, -86.18, 83.18]);
    close(rgbToLab(0, 0, 255), [32.3, 79.19, -107.86]);
  });

  it("converts packed buffers the same as one colour at a time", () => {
    const rgb = new Uint8Array([10, 20, 30, 200, 100, 50, 10, 20, 30]);
    const lab = rgbBufferToLab(rgb);
    expect([...lab.subarray(0, 3)].map((v) => v.toFixed(3))).toEqual(rgbToLab(10, 20, 30).map((v) => Math.fround(v).toFixed(3)));
    expect([...lab.subarray(6, 9)]).toEqual([...lab.subarray(0, 3)]);
  });

  it("names colours in words", () => {
    expect(colourName(rgbToLab(110, 70, 40))).toBe("brown");
    expect(colourName(rgbToLab(20, 30, 80))).toBe("navy");
    expect(colourName(rgbToLab(250, 250, 250))).toBe("white");
  });
});

describe("CIELAB back to sRGB", () => {
  it("round-trips 8-bit colours", () => {
    const colours: [number, number, number][] = [
      [0, 0, 0],
      [255, 255, 255],
      [12, 200, 99],
      [140, 90, 60],
      [31, 41, 59],
    ];
    for (const rgb of colours) {
      const [L, a, b] = rgbToLab(rgb[0], rgb[1], rgb[2]);
      expect(labToRgb(L, a, b)).toEqual([...rgb]);
    }
  });
});
