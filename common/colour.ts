/**
 * Colour arithmetic for the quality checks (container/check/), the drift set that tests them and the
 * simulator's drift: sRGB (D65) to CIELAB and back, the CIEDE2000 colour difference (ΔE00) from the
 * published formula (Sharma, Wu & Dalal, "The CIEDE2000 Color-Difference Formula: Implementation
 * Notes, Supplementary Test Data, and Mathematical Observations", Color Res. Appl. 30(1), 2005; tested
 * against their 34 pairs in tests/node/container/check/colour.test.ts), and plain names for colours so
 * a reason can say "brown" rather than "L 38, a 12, b 20".
 */

export type Lab = [number, number, number];

/** sRGB channel (0–255) to linear light, as a table: the checks convert millions of pixels. */
const LINEAR = new Float64Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  LINEAR[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

// D65 white of the sRGB matrix.
const XN = 0.95047;
const YN = 1.0;
const ZN = 1.08883;
const EPS = 216 / 24389;
const KAPPA = 24389 / 27;

function f(t: number): number {
  return t > EPS ? Math.cbrt(t) : (KAPPA * t + 16) / 116;
}

/** One 8-bit sRGB colour to CIELAB (D65). */
export function rgbToLab(r: number, g: number, b: number): Lab {
  const R = LINEAR[r | 0]!;
  const G = LINEAR[g | 0]!;
  const B = LINEAR[b | 0]!;
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / XN;
  const y = (0.2126729 * R + 0.7151522 * G + 0.072175 * B) / YN;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / ZN;
  const fx = f(x);
  const fy = f(y);
  const fz = f(z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

function finv(t: number): number {
  return t ** 3 > EPS ? t ** 3 : (116 * t - 16) / KAPPA;
}

function encode(c: number): number {
  const v = c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
  return Math.max(0, Math.min(255, Math.round(v * 255)));
}

/** CIELAB (D65) to 8-bit sRGB, clipped to the gamut. */
export function labToRgb(L: number, a: number, b: number): [number, number, number] {
  const fy = (L + 16) / 116;
  const fx = fy + a / 500;
  const fz = fy - b / 200;
  const x = finv(fx) * XN;
  const y = (L > KAPPA * EPS ? fy ** 3 : L / KAPPA) * YN;
  const z = finv(fz) * ZN;
  return [
    encode(3.2404542 * x - 1.5371385 * y - 0.4985314 * z),
    encode(-0.969266 * x + 1.8760108 * y + 0.041556 * z),
    encode(0.0556434 * x - 0.2040259 * y + 1.0572252 * z),
  ];
}

/** Packed 8-bit RGB pixels to packed Lab (Float32, three values a pixel), without allocating per pixel. */
export function rgbBufferToLab(rgb: Uint8Array | Buffer, pixels = rgb.length / 3): Float32Array {
  const out = new Float32Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const R = LINEAR[rgb[i * 3]!]!;
    const G = LINEAR[rgb[i * 3 + 1]!]!;
    const B = LINEAR[rgb[i * 3 + 2]!]!;
    const fx = f((0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / XN);
    const fy = f((0.2126729 * R + 0.7151522 * G + 0.072175 * B) / YN);
    const fz = f((0.0193339 * R + 0.119192 * G + 0.9503041 * B) / ZN);
    out[i * 3] = 116 * fy - 16;
    out[i * 3 + 1] = 500 * (fx - fy);
    out[i * 3 + 2] = 200 * (fy - fz);
  }
  return out;
}

const DEG = Math.PI / 180;
const POW25_7 = 25 ** 7;

/** CIEDE2000 (kL = kC = kH = 1), following Sharma et al.'s implementation notes step by step. */
export function deltaE00(l1: number, a1: number, b1: number, l2: number, a2: number, b2: number): number {
  const c1 = Math.hypot(a1, b1);
  const c2 = Math.hypot(a2, b2);
  const cBar = (c1 + c2) / 2;
  const cBar7 = cBar ** 7;
  const g = 0.5 * (1 - Math.sqrt(cBar7 / (cBar7 + POW25_7)));
  const a1p = (1 + g) * a1;
  const a2p = (1 + g) * a2;
  const c1p = Math.hypot(a1p, b1);
  const c2p = Math.hypot(a2p, b2);
  const hue = (b: number, a: number) => {
    if (b === 0 && a === 0) return 0;
    const h = Math.atan2(b, a) / DEG;
    return h < 0 ? h + 360 : h;
  };
  const h1p = hue(b1, a1p);
  const h2p = hue(b2, a2p);

  const dLp = l2 - l1;
  const dCp = c2p - c1p;
  let dhp = 0;
  if (c1p * c2p !== 0) {
    dhp = h2p - h1p;
    if (dhp > 180) dhp -= 360;
    else if (dhp < -180) dhp += 360;
  }
  const dHp = 2 * Math.sqrt(c1p * c2p) * Math.sin((dhp / 2) * DEG);

  const lBarP = (l1 + l2) / 2;
  const cBarP = (c1p + c2p) / 2;
  let hBarP = h1p + h2p;
  if (c1p * c2p !== 0) {
    if (Math.abs(h1p - h2p) <= 180) hBarP = (h1p + h2p) / 2;
    else if (h1p + h2p < 360) hBarP = (h1p + h2p + 360) / 2;
    else hBarP = (h1p + h2p - 360) / 2;
  }
  const t =
    1 -
    0.17 * Math.cos((hBarP - 30) * DEG) +
    0.24 * Math.cos(2 * hBarP * DEG) +
    0.32 * Math.cos((3 * hBarP + 6) * DEG) -
    0.2 * Math.cos((4 * hBarP - 63) * DEG);
  const dTheta = 30 * Math.exp(-(((hBarP - 275) / 25) ** 2));
  const cBarP7 = cBarP ** 7;
  const rc = 2 * Math.sqrt(cBarP7 / (cBarP7 + POW25_7));
  const lm = (lBarP - 50) ** 2;
  const sl = 1 + (0.015 * lm) / Math.sqrt(20 + lm);
  const sc = 1 + 0.045 * cBarP;
  const sh = 1 + 0.015 * cBarP * t;
  const rt = -Math.sin(2 * dTheta * DEG) * rc;
  const dl = dLp / sl;
  const dc = dCp / sc;
  const dh = dHp / sh;
  return Math.sqrt(dl * dl + dc * dc + dh * dh + rt * dc * dh);
}

export const deltaE00Lab = (p: Lab, q: Lab): number => deltaE00(p[0], p[1], p[2], q[0], q[1], q[2]);

/** A plain name for a colour ("dark brown", "navy", "off-white"), for reasons a producer reads. */
export function colourName([L, a, b]: Lab): string {
  const chroma = Math.hypot(a, b);
  const hue = (Math.atan2(b, a) / DEG + 360) % 360;
  if (chroma < 8) {
    if (L > 90) return "white";
    if (L > 78) return "off-white";
    if (L < 20) return "black";
    if (L < 38) return "charcoal";
    return L > 60 ? "light grey" : "grey";
  }
  // CIELAB hue angles: red near 40°, yellow near 100°, green near 140°, blue near 300°.
  let name: string;
  if (hue < 20 || hue >= 350) name = L > 70 ? "pink" : "red";
  else if (hue < 50) name = L < 55 && chroma < 45 ? "brown" : "red";
  else if (hue < 75) name = L < 60 ? "brown" : chroma < 30 ? "beige" : "orange";
  else if (hue < 105) name = L < 55 ? "olive-brown" : chroma < 30 ? "beige" : "yellow";
  else if (hue < 160) name = L < 45 ? "olive" : "green";
  else if (hue < 220) name = "teal";
  else if (hue < 315) name = L < 35 ? "navy" : "blue";
  else name = L > 65 ? "pink" : "purple";
  if (name === "navy" || name === "beige") return name;
  if (L < 30) return `dark ${name}`;
  if (L > 75) return `light ${name}`;
  return name;
}
