/**
 * Easing curves for the reel's speed ramp (SPEC section 2), shared by the Worker, the media
 * service and the web UI. Pure and dependency-free so it runs in workerd, Node and browsers.
 *
 * Output frame k of n shows source time `ease(k / (n - 1)) * duration`; see `sourceFrameIndices`.
 */

export type EasingFn = (t: number) => number;
export type BezierPoints = [number, number, number, number];
export type EasingSpec = string | { bezier: BezierPoints };

export const DEFAULT_EASING = "dramaticSwoop";

// --- Penner family (formulas as on easings.net, which the predecessor used) ---

const C1 = 1.70158;
const C2 = C1 * 1.525;
const C3 = C1 + 1;
const C4 = (2 * Math.PI) / 3;
const C5 = (2 * Math.PI) / 4.5;

function outBounce(t: number): number {
  const n1 = 7.5625;
  const d1 = 2.75;
  if (t < 1 / d1) return n1 * t * t;
  if (t < 2 / d1) return n1 * (t - 1.5 / d1) ** 2 + 0.75;
  if (t < 2.5 / d1) return n1 * (t - 2.25 / d1) ** 2 + 0.9375;
  return n1 * (t - 2.625 / d1) ** 2 + 0.984375;
}

const PENNER = {
  linear: (t: number) => t,
  easeInQuad: (t: number) => t * t,
  easeOutQuad: (t: number) => 1 - (1 - t) * (1 - t),
  easeInOutQuad: (t: number) => (t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2),
  easeInCubic: (t: number) => t * t * t,
  easeOutCubic: (t: number) => 1 - (1 - t) ** 3,
  easeInOutCubic: (t: number) => (t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2),
  easeInQuart: (t: number) => t * t * t * t,
  easeOutQuart: (t: number) => 1 - (1 - t) ** 4,
  easeInOutQuart: (t: number) => (t < 0.5 ? 8 * t * t * t * t : 1 - (-2 * t + 2) ** 4 / 2),
  easeInQuint: (t: number) => t * t * t * t * t,
  easeOutQuint: (t: number) => 1 - (1 - t) ** 5,
  easeInOutQuint: (t: number) => (t < 0.5 ? 16 * t * t * t * t * t : 1 - (-2 * t + 2) ** 5 / 2),
  easeInSine: (t: number) => 1 - Math.cos((t * Math.PI) / 2),
  easeOutSine: (t: number) => Math.sin((t * Math.PI) / 2),
  easeInOutSine: (t: number) => -(Math.cos(Math.PI * t) - 1) / 2,
  // Expo is pinned at the ends: the formula alone gives 2^-10, not 0, at t = 0.
  easeInExpo: (t: number) => (t === 0 ? 0 : 2 ** (10 * t - 10)),
  easeOutExpo: (t: number) => (t === 1 ? 1 : 1 - 2 ** (-10 * t)),
  easeInOutExpo: (t: number) => (t === 0 ? 0 : t === 1 ? 1 : t < 0.5 ? 2 ** (20 * t - 10) / 2 : (2 - 2 ** (-20 * t + 10)) / 2),
  easeInCirc: (t: number) => 1 - Math.sqrt(1 - t * t),
  easeOutCirc: (t: number) => Math.sqrt(1 - (t - 1) * (t - 1)),
  easeInOutCirc: (t: number) => (t < 0.5 ? (1 - Math.sqrt(1 - (2 * t) ** 2)) / 2 : (Math.sqrt(1 - (-2 * t + 2) ** 2) + 1) / 2),
  easeInBack: (t: number) => C3 * t * t * t - C1 * t * t,
  easeOutBack: (t: number) => 1 + C3 * (t - 1) ** 3 + C1 * (t - 1) ** 2,
  easeInOutBack: (t: number) => (t < 0.5 ? ((2 * t) ** 2 * ((C2 + 1) * 2 * t - C2)) / 2 : ((2 * t - 2) ** 2 * ((C2 + 1) * (t * 2 - 2) + C2) + 2) / 2),
  easeInElastic: (t: number) => (t === 0 ? 0 : t === 1 ? 1 : -(2 ** (10 * t - 10)) * Math.sin((t * 10 - 10.75) * C4)),
  easeOutElastic: (t: number) => (t === 0 ? 0 : t === 1 ? 1 : 2 ** (-10 * t) * Math.sin((t * 10 - 0.75) * C4) + 1),
  easeInOutElastic: (t: number) =>
    t === 0
      ? 0
      : t === 1
        ? 1
        : t < 0.5
          ? -(2 ** (20 * t - 10) * Math.sin((20 * t - 11.125) * C5)) / 2
          : (2 ** (-20 * t + 10) * Math.sin((20 * t - 11.125) * C5)) / 2 + 1,
  easeInBounce: (t: number) => 1 - outBounce(1 - t),
  easeOutBounce: outBounce,
  easeInOutBounce: (t: number) => (t < 0.5 ? (1 - outBounce(1 - 2 * t)) / 2 : (1 + outBounce(2 * t - 1)) / 2),
} satisfies Record<string, EasingFn>;

// --- Named cubic-bezier presets (CSS semantics) ---

export const BEZIER_PRESETS = {
  ease: [0.25, 0.1, 0.25, 1],
  easeIn: [0.42, 0, 1, 1],
  easeOut: [0, 0, 0.58, 1],
  easeInOut: [0.42, 0, 0.58, 1],
  dramaticSwoop: [0.85, 0, 0.15, 1],
  gentleSwoop: [0.7, 0, 0.3, 1],
  cinematic: [0.77, 0, 0.175, 1],
  luxurious: [0.19, 1, 0.22, 1],
  materialStandard: [0.4, 0, 0.2, 1],
  materialDecelerate: [0, 0, 0.2, 1],
  materialAccelerate: [0.4, 0, 1, 1],
} as const satisfies Record<string, readonly [number, number, number, number]>;

// --- Hybrids: accelerate with one curve, decelerate with another ---

function asymmetric(easeIn: EasingFn, easeOut: EasingFn): EasingFn {
  return (t) => (t < 0.5 ? 0.5 * easeIn(2 * t) : 0.5 + 0.5 * easeOut(2 * t - 1));
}

const HYBRIDS = {
  easeInExpoOutCubic: asymmetric(PENNER.easeInExpo, PENNER.easeOutCubic),
  easeInQuartOutQuad: asymmetric(PENNER.easeInQuart, PENNER.easeOutQuad),
  easeInCircOutQuad: asymmetric(PENNER.easeInCirc, PENNER.easeOutQuad),
} satisfies Record<string, EasingFn>;

export type EasingName = keyof typeof PENNER | keyof typeof BEZIER_PRESETS | keyof typeof HYBRIDS;

/** Every named easing, in a stable order (Penner, bezier presets, hybrids). */
export const EASING_NAMES: readonly EasingName[] = Object.freeze([
  ...(Object.keys(PENNER) as EasingName[]),
  ...(Object.keys(BEZIER_PRESETS) as EasingName[]),
  ...(Object.keys(HYBRIDS) as EasingName[]),
]);

/** Curves that can move backwards in time (overshoot or oscillate), so frame picks are not monotonic. */
export const NON_MONOTONIC_EASINGS: readonly EasingName[] = Object.freeze((Object.keys(PENNER) as EasingName[]).filter((n) => /Back|Elastic|Bounce/.test(n)));

// --- Cubic bezier solver ---

const EPSILON = 1e-6;

/**
 * CSS-style cubic-bezier from (0,0) to (1,1) with control points (x1,y1), (x2,y2).
 * Solves x(s) = t for s with Newton-Raphson, falling back to bisection when the slope is flat,
 * so the result is precise to 1e-6 in x for every valid curve.
 */
export function cubicBezier(x1: number, y1: number, x2: number, y2: number): EasingFn {
  assertBezier([x1, y1, x2, y2]);
  if (x1 === y1 && x2 === y2) return (t) => t;
  const cx = 3 * x1;
  const bx = 3 * (x2 - x1) - cx;
  const ax = 1 - cx - bx;
  const cy = 3 * y1;
  const by = 3 * (y2 - y1) - cy;
  const ay = 1 - cy - by;
  const sampleX = (s: number) => ((ax * s + bx) * s + cx) * s;
  const sampleY = (s: number) => ((ay * s + by) * s + cy) * s;
  const slopeX = (s: number) => (3 * ax * s + 2 * bx) * s + cx;

  const solve = (x: number): number => {
    let s = x;
    for (let i = 0; i < 8; i++) {
      const err = sampleX(s) - x;
      if (Math.abs(err) < EPSILON) return s;
      const d = slopeX(s);
      if (Math.abs(d) < 1e-7) break;
      s -= err / d;
    }
    // x(s) is monotonic on [0,1] because x1, x2 are in [0,1], so bisection always converges.
    let lo = 0;
    let hi = 1;
    s = x;
    for (let i = 0; i < 64; i++) {
      const v = sampleX(s);
      if (Math.abs(v - x) < EPSILON) return s;
      if (v < x) lo = s;
      else hi = s;
      s = (lo + hi) / 2;
    }
    return s;
  };

  return (t) => {
    if (t <= 0) return 0;
    if (t >= 1) return 1;
    return sampleY(solve(t));
  };
}

function assertBezier(points: readonly unknown[]): asserts points is BezierPoints {
  if (points.length !== 4 || !points.every((p) => typeof p === "number" && Number.isFinite(p))) {
    throw new Error(`Invalid cubic-bezier: expected four finite numbers [x1, y1, x2, y2], got ${JSON.stringify(points)}`);
  }
  const [x1, , x2] = points as number[];
  if (x1 < 0 || x1 > 1 || x2 < 0 || x2 > 1) {
    throw new Error(`Invalid cubic-bezier [${points.join(", ")}]: x1 and x2 must be between 0 and 1 (time cannot run backwards)`);
  }
}

const NAMED: Record<string, EasingFn> = { ...PENNER, ...HYBRIDS };
for (const [name, p] of Object.entries(BEZIER_PRESETS)) NAMED[name] = cubicBezier(p[0], p[1], p[2], p[3]);

/**
 * Turns a name or `{ bezier: [x1, y1, x2, y2] }` into a curve. Throws on anything unknown:
 * the predecessor silently fell back to linear, which produced reels nobody asked for.
 */
export function resolveEasing(spec: EasingSpec): EasingFn {
  if (typeof spec === "string") {
    const fn = Object.hasOwn(NAMED, spec) ? NAMED[spec] : undefined;
    if (!fn) {
      throw new Error(`Unknown easing "${spec}". Use one of: ${EASING_NAMES.join(", ")}, or { bezier: [x1, y1, x2, y2] }`);
    }
    return fn;
  }
  if (spec && typeof spec === "object" && Array.isArray((spec as { bezier?: unknown }).bezier)) {
    const points = (spec as { bezier: unknown[] }).bezier;
    assertBezier(points);
    return cubicBezier(points[0], points[1], points[2], points[3]);
  }
  throw new Error(`Invalid easing ${JSON.stringify(spec)}: expected a name or { bezier: [x1, y1, x2, y2] }`);
}

/** True when `resolveEasing(value)` would succeed. */
export function isEasingSpec(value: unknown): value is EasingSpec {
  try {
    resolveEasing(value as EasingSpec);
    return true;
  } catch {
    return false;
  }
}

/** True when the curve never moves backwards, so a stitcher can stream frames holding only the current one. */
export function isMonotonicEasing(spec: EasingSpec): boolean {
  if (typeof spec === "string") return !(NON_MONOTONIC_EASINGS as readonly string[]).includes(spec);
  const [, y1, , y2] = spec.bezier;
  // A bezier with y control points outside [0,1] overshoots and comes back.
  return y1 >= 0 && y1 <= 1 && y2 >= 0 && y2 <= 1;
}

export interface SourceFrameOptions {
  easing: EasingSpec | EasingFn;
  /** Output frames for this clip: n = round(clipSeconds * fps). */
  outFrames: number;
  /** Frames the decoder actually produced for the source clip. */
  sourceFrames: number;
  sourceFps: number;
}

/**
 * Which source frame each output frame shows. Output frame k of n shows source time
 * t = ease(k / (n - 1)) * duration with duration = sourceFrames / sourceFps; the frame shown is the one
 * nearest t (index round(t * sourceFps)), clamped to [0, sourceFrames - 1] so the last output is the
 * last decodable frame and overshooting curves never seek past the end.
 */
export function sourceFrameIndices(opts: SourceFrameOptions): number[] {
  const { outFrames, sourceFrames, sourceFps } = opts;
  if (!Number.isInteger(outFrames) || outFrames < 1) throw new Error(`outFrames must be a positive integer, got ${outFrames}`);
  if (!Number.isInteger(sourceFrames) || sourceFrames < 1) {
    throw new Error(`sourceFrames must be a positive integer, got ${sourceFrames}`);
  }
  if (!(sourceFps > 0) || !Number.isFinite(sourceFps)) throw new Error(`sourceFps must be positive, got ${sourceFps}`);
  const ease = typeof opts.easing === "function" ? opts.easing : resolveEasing(opts.easing);
  const duration = sourceFrames / sourceFps;
  const last = sourceFrames - 1;
  const out: number[] = new Array(outFrames);
  for (let k = 0; k < outFrames; k++) {
    const p = outFrames === 1 ? 0 : k / (outFrames - 1);
    const t = ease(p) * duration;
    // Nearest frame, ties up; the tiny bias absorbs float noise so 2.4999999999 (really 2.5) rounds like 2.5.
    const idx = Math.round(t * sourceFps + 1e-9);
    out[k] = Math.min(Math.max(idx, 0), last);
  }
  return out;
}
