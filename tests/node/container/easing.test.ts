import { describe, expect, it } from "vitest";
import { BEZIER_PRESETS, DEFAULT_EASING, EASING_NAMES, cubicBezier, isEasingSpec, resolveEasing, sourceFrameIndices } from "../../../common/easing.ts";

describe("easing library", () => {
  it("has the 45 names of the predecessor: 31 Penner, 11 bezier presets, 3 hybrids", () => {
    expect(EASING_NAMES).toHaveLength(45);
    expect(new Set(EASING_NAMES).size).toBe(45);
    for (const name of ["linear", "easeInOutSine", "easeOutBack", "easeInOutElastic", "easeOutBounce", "dramaticSwoop", "luxurious", "easeInCircOutQuad"]) {
      expect(EASING_NAMES).toContain(name);
    }
    expect(DEFAULT_EASING).toBe("dramaticSwoop");
    expect(BEZIER_PRESETS.dramaticSwoop).toEqual([0.85, 0, 0.15, 1]);
    expect(BEZIER_PRESETS.cinematic).toEqual([0.77, 0, 0.175, 1]);
  });

  it("every curve starts at 0 and ends at 1", () => {
    for (const name of EASING_NAMES) {
      const f = resolveEasing(name);
      expect(f(0), name).toBeCloseTo(0, 9);
      expect(f(1), name).toBeCloseTo(1, 6);
    }
  });

  it("solves cubic beziers to 1e-6 (x(s) = t, y(s) returned)", () => {
    const [x1, y1, x2, y2] = [0.85, 0, 0.15, 1];
    const f = cubicBezier(x1, y1, x2, y2);
    // Sample the curve parametrically and compare with the solver at the sampled x.
    for (let i = 1; i < 200; i++) {
      const s = i / 200;
      const x = 3 * (1 - s) ** 2 * s * x1 + 3 * (1 - s) * s * s * x2 + s ** 3;
      const y = 3 * (1 - s) ** 2 * s * y1 + 3 * (1 - s) * s * s * y2 + s ** 3;
      expect(Math.abs(f(x) - y)).toBeLessThan(1e-5);
    }
    expect(f(0.5)).toBeCloseTo(0.5, 9); // symmetric swoop
    expect(resolveEasing("ease")(0.25)).toBeCloseTo(0.40851059, 6); // CSS `ease` at 25% (independent bisection)
  });

  it("hybrids accelerate with one curve and decelerate with another", () => {
    const f = resolveEasing("easeInExpoOutCubic");
    expect(f(0.25)).toBeCloseTo(0.5 * resolveEasing("easeInExpo")(0.5), 12);
    expect(f(0.75)).toBeCloseTo(0.5 + 0.5 * resolveEasing("easeOutCubic")(0.5), 12);
  });

  it("refuses unknown names and invalid beziers instead of falling back to linear", () => {
    expect(() => resolveEasing("easeInOutWobble")).toThrow(/Unknown easing "easeInOutWobble"/);
    expect(() => resolveEasing({ bezier: [1.2, 0, 0.5, 1] })).toThrow(/x1 and x2 must be between 0 and 1/);
    expect(() => resolveEasing({ bezier: [0.2, 0, Number.NaN, 1] } as never)).toThrow(/finite/);
    expect(() => resolveEasing({ bezier: [0.2, 0, 0.5] } as never)).toThrow();
    expect(isEasingSpec("toString")).toBe(false);
    expect(isEasingSpec({ bezier: [0.1, -0.5, 0.9, 1.5] })).toBe(true); // y may overshoot
    expect(isEasingSpec("cinematic")).toBe(true);
  });
});

describe("sourceFrameIndices", () => {
  it("maps output frame k to the nearest source frame at ease(k/(n-1)) × duration", () => {
    const sourceFrames = 121;
    const sourceFps = 24;
    const idx = sourceFrameIndices({ easing: "linear", outFrames: 90, sourceFrames, sourceFps });
    expect(idx).toHaveLength(90);
    expect(idx[0]).toBe(0);
    expect(idx[89]).toBe(120); // clamped to the last decodable frame, never past the end
    for (const [k, v] of idx.entries()) expect(v).toBe(Math.min(120, Math.round((k / 89) * (sourceFrames / sourceFps) * sourceFps)));
  });

  it("dramaticSwoop lingers at both ends (near-frozen hard cuts)", () => {
    const idx = sourceFrameIndices({ easing: "dramaticSwoop", outFrames: 90, sourceFrames: 121, sourceFps: 24 });
    const firstQuarterSecond = idx.filter((i) => i <= 6).length;
    const lastQuarterSecond = idx.filter((i) => i >= 114).length;
    expect(firstQuarterSecond).toBeGreaterThanOrEqual(20);
    expect(lastQuarterSecond).toBeGreaterThanOrEqual(20);
    for (let k = 1; k < idx.length; k++) expect(idx[k]!).toBeGreaterThanOrEqual(idx[k - 1]!);
  });

  it("clamps overshooting and oscillating curves into [0, frames-1]", () => {
    for (const easing of ["easeInBack", "easeOutBack", "easeInOutElastic", "easeOutBounce"]) {
      const idx = sourceFrameIndices({ easing, outFrames: 60, sourceFrames: 40, sourceFps: 30 });
      expect(Math.min(...idx)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...idx)).toBeLessThanOrEqual(39);
      expect(idx[59]).toBe(39);
    }
    const bounce = sourceFrameIndices({ easing: "easeOutBounce", outFrames: 60, sourceFrames: 40, sourceFps: 30 });
    expect(bounce.some((v, k) => k > 0 && v < bounce[k - 1]!)).toBe(true); // really goes backwards
  });

  it("accepts a custom bezier and a single output frame", () => {
    expect(sourceFrameIndices({ easing: { bezier: [0.5, 0, 0.5, 1] }, outFrames: 3, sourceFrames: 10, sourceFps: 10 })).toEqual([0, 5, 9]);
    expect(sourceFrameIndices({ easing: "linear", outFrames: 1, sourceFrames: 5, sourceFps: 10 })).toEqual([0]);
    expect(() => sourceFrameIndices({ easing: "nope", outFrames: 3, sourceFrames: 5, sourceFps: 10 })).toThrow();
  });
});
