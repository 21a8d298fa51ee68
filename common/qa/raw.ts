/**
 * Raw pixel helpers for the drift set (common/qa/): RGB canvases, RGBA sprites pasted with their
 * alpha, recolouring in CIELAB, blends and simple geometric warps. Plain typed-array arithmetic, so
 * a clip's frames are made in memory without a codec round trip per frame.
 */
import sharp from "sharp";
import { deltaE00, labToRgb, rgbToLab, type Lab } from "../colour.ts";

export interface Canvas {
  width: number;
  height: number;
  /** Packed RGB. */
  data: Uint8Array;
}

export interface Sprite {
  width: number;
  height: number;
  /** Packed RGBA. */
  data: Uint8Array;
}

export const canvas = (width: number, height: number): Canvas => ({ width, height, data: new Uint8Array(width * height * 3) });
export const cloneCanvas = (c: Canvas): Canvas => ({ width: c.width, height: c.height, data: c.data.slice() });

/** Decodes any image (or SVG) to an RGBA sprite, optionally resized to fit w×h. */
export async function sprite(input: Buffer, size?: { width?: number; height?: number }): Promise<Sprite> {
  let img = sharp(input).ensureAlpha();
  if (size) img = img.resize({ ...size, fit: "inside" });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** An image decoded to an RGB canvas of exactly w×h (cropped to fill). */
export async function canvasFrom(input: Buffer, width: number, height: number): Promise<Canvas> {
  const data = await sharp(input).removeAlpha().resize(width, height, { fit: "cover" }).raw().toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A sprite resized (and rotated by `degrees`, transparent corners) with sharp. */
export async function transformSprite(s: Sprite, width: number, degrees = 0): Promise<Sprite> {
  let img = sharp(Buffer.from(s.data), { raw: { width: s.width, height: s.height, channels: 4 } }).resize({ width: Math.max(2, Math.round(width)) });
  if (degrees) {
    const resized = await img.png().toBuffer();
    img = sharp(resized).rotate(degrees, { background: { r: 0, g: 0, b: 0, alpha: 0 } });
  }
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Pastes a sprite with its alpha (times `opacity`) at (x, y), clipped to the canvas. */
export function paste(c: Canvas, s: Sprite, x: number, y: number, opacity = 1): void {
  const x0 = Math.round(x);
  const y0 = Math.round(y);
  for (let sy = 0; sy < s.height; sy++) {
    const cy = y0 + sy;
    if (cy < 0 || cy >= c.height) continue;
    for (let sx = 0; sx < s.width; sx++) {
      const cx = x0 + sx;
      if (cx < 0 || cx >= c.width) continue;
      const si = (sy * s.width + sx) * 4;
      const a = (s.data[si + 3]! / 255) * opacity;
      if (a <= 0) continue;
      const ci = (cy * c.width + cx) * 3;
      for (let k = 0; k < 3; k++) c.data[ci + k] = Math.round(c.data[ci + k]! * (1 - a) + s.data[si + k]! * a);
    }
  }
}

/** The median Lab colour of a sprite's opaque pixels (its dominant colour, near enough). */
export function spriteColour(s: Sprite): Lab {
  const L: number[] = [];
  const A: number[] = [];
  const B: number[] = [];
  for (let i = 0; i < s.width * s.height; i += 3) {
    if (s.data[i * 4 + 3]! < 250) continue;
    const [l, a, b] = rgbToLab(s.data[i * 4]!, s.data[i * 4 + 1]!, s.data[i * 4 + 2]!);
    L.push(l);
    A.push(a);
    B.push(b);
  }
  const med = (v: number[]) => v.sort((p, q) => p - q)[Math.floor(v.length / 2)] ?? 0;
  return [med(L), med(A), med(B)];
}

export interface Recolour {
  /** Hue rotation in the a*b* plane, degrees. */
  hue: number;
  chroma: number;
  lightness: number;
}

/** Applies a Lab recolour to one colour. */
export function recolourLab([L, a, b]: Lab, r: Recolour): Lab {
  const t = (r.hue * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  return [Math.max(2, Math.min(98, L + r.lightness)), (a * c - b * s) * r.chroma, (a * s + b * c) * r.chroma];
}

/**
 * A recolour that moves a dominant colour by at least `minDe` ΔE00 (and at most 70): hue turned,
 * chroma scaled, lightness shifted, drawn until it does. A near-grey colour also gets a shift in
 * a*b* (colour added), since turning its hue changes little.
 */
export function drawRecolour(colour: Lab, rand: () => number, minDe = 15): { recolour: Recolour; shift: [number, number]; de: number } {
  const grey = Math.hypot(colour[1], colour[2]) < 10;
  let last = { recolour: { hue: 180, chroma: 1.2, lightness: 20 } as Recolour, shift: [0, 0] as [number, number], de: 0 };
  for (let tries = 0; tries < 300; tries++) {
    const recolour: Recolour = {
      hue: (rand() < 0.5 ? -1 : 1) * (35 + rand() * 145),
      chroma: 0.8 + rand() * 0.6,
      lightness: (rand() - 0.5) * (tries > 50 ? 50 : 24),
    };
    const shift: [number, number] = grey ? [(rand() - 0.5) * 50, (rand() - 0.5) * 50] : [0, 0];
    const moved = recolourLab(colour, recolour);
    const de = deltaE00(colour[0], colour[1], colour[2], moved[0], moved[1] + shift[0], moved[2] + shift[1]);
    last = { recolour, shift, de };
    if (de >= minDe && de <= 70) return last;
  }
  return last;
}

/** A copy of the sprite recoloured in Lab (a grey one shifted by `shift` in a*, b*). */
export function recolourSprite(s: Sprite, r: Recolour, shift: [number, number] = [0, 0]): Sprite {
  const out = s.data.slice();
  const cache = new Map<number, [number, number, number]>();
  for (let i = 0; i < s.width * s.height; i++) {
    if (!out[i * 4 + 3]) continue;
    const key = (out[i * 4]! << 16) | (out[i * 4 + 1]! << 8) | out[i * 4 + 2]!;
    let rgb = cache.get(key);
    if (!rgb) {
      const lab = recolourLab(rgbToLab(out[i * 4]!, out[i * 4 + 1]!, out[i * 4 + 2]!), r);
      rgb = labToRgb(lab[0], lab[1] + shift[0], lab[2] + shift[1]);
      cache.set(key, rgb);
    }
    out[i * 4] = rgb[0];
    out[i * 4 + 1] = rgb[1];
    out[i * 4 + 2] = rgb[2];
  }
  return { width: s.width, height: s.height, data: out };
}

/** (1 − t)·a + t·b, per pixel (a dissolve). */
export function blend(a: Canvas, b: Canvas, t: number): Canvas {
  const out = canvas(a.width, a.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.round(a.data[i]! * (1 - t) + b.data[i]! * t);
  return out;
}

function sampleInto(src: Canvas, out: Uint8Array, o: number, fx: number, fy: number): void {
  const x = Math.min(src.width - 1.001, Math.max(0, fx));
  const y = Math.min(src.height - 1.001, Math.max(0, fy));
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const tx = x - ix;
  const ty = y - iy;
  const d = src.data;
  const i00 = (iy * src.width + ix) * 3;
  const i01 = i00 + src.width * 3;
  const w00 = (1 - tx) * (1 - ty);
  const w10 = tx * (1 - ty);
  const w01 = (1 - tx) * ty;
  const w11 = tx * ty;
  out[o] = d[i00]! * w00 + d[i00 + 3]! * w10 + d[i01]! * w01 + d[i01 + 3]! * w11 + 0.5;
  out[o + 1] = d[i00 + 1]! * w00 + d[i00 + 4]! * w10 + d[i01 + 1]! * w01 + d[i01 + 4]! * w11 + 0.5;
  out[o + 2] = d[i00 + 2]! * w00 + d[i00 + 5]! * w10 + d[i01 + 2]! * w01 + d[i01 + 5]! * w11 + 0.5;
}

/** The canvas zoomed by `zoom` about its centre and moved by (dx, dy) pixels (edges repeat). */
export function shiftZoom(src: Canvas, zoom: number, dx: number, dy: number, flop = false): Canvas {
  const out = canvas(src.width, src.height);
  const cx = src.width / 2;
  const cy = src.height / 2;
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const xx = flop ? src.width - 1 - x : x;
      sampleInto(src, out.data, (y * src.width + x) * 3, (xx - cx - dx) / zoom + cx, (y - cy - dy) / zoom + cy);
    }
  }
  return out;
}

/** A swirl of the centre (strength in radians at the centre, fading out at `radius` of the short side). */
export function swirl(src: Canvas, strength: number, radius = 0.45, cxFrac = 0.5, cyFrac = 0.45): Canvas {
  const out = canvas(src.width, src.height);
  const cx = src.width * cxFrac;
  const cy = src.height * cyFrac;
  const r = Math.min(src.width, src.height) * radius;
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const d = Math.hypot(dx, dy);
      const a = d < r ? strength * (1 - d / r) ** 2 : 0;
      const c = Math.cos(a);
      const s = Math.sin(a);
      sampleInto(src, out.data, (y * src.width + x) * 3, cx + dx * c - dy * s, cy + dx * s + dy * c);
    }
  }
  return out;
}

/** Recolours the pixels of a canvas inside an ellipse (feathered), as a garment changing colour mid-clip. */
export function recolourEllipse(src: Canvas, r: Recolour, cxFrac: number, cyFrac: number, rxFrac: number, ryFrac: number): Canvas {
  const out = cloneCanvas(src);
  const cx = src.width * cxFrac;
  const cy = src.height * cyFrac;
  const rx = src.width * rxFrac;
  const ry = src.height * ryFrac;
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      if (d >= 1) continue;
      const w = Math.min(1, (1 - d) * 3);
      const i = (y * src.width + x) * 3;
      const lab = recolourLab(rgbToLab(src.data[i]!, src.data[i + 1]!, src.data[i + 2]!), r);
      const rgb = labToRgb(lab[0], lab[1], lab[2]);
      for (let k = 0; k < 3; k++) out.data[i + k] = Math.round(src.data[i + k]! * (1 - w) + rgb[k]! * w);
    }
  }
  return out;
}

/** Benign variation a generator brings: exposure and white balance, blur, grain. */
export interface Look {
  gains: [number, number, number];
  offset: number;
  blur: number;
  noise: number;
}

export function drawLook(rand: () => number): Look {
  const exposure = 0.93 + rand() * 0.14;
  return {
    gains: [exposure * (0.97 + rand() * 0.06), exposure * (0.98 + rand() * 0.04), exposure * (0.97 + rand() * 0.06)],
    offset: (rand() - 0.5) * 8,
    blur: rand() < 0.5 ? 0 : 0.3 + rand() * 0.6,
    noise: rand() * 3,
  };
}

/** Applies a look in place (gains, offset, seeded Gaussian-ish grain). */
export function applyLook(c: Canvas, look: Look, rand: () => number): void {
  for (let i = 0; i < c.width * c.height; i++) {
    const n = look.noise ? (rand() + rand() + rand() - 1.5) * 2 * look.noise : 0;
    for (let k = 0; k < 3; k++) {
      const v = c.data[i * 3 + k]! * look.gains[k]! + look.offset + n;
      c.data[i * 3 + k] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
}

/** Encodes a canvas: JPEG (with the look's blur) or PNG. */
export async function encodeCanvas(c: Canvas, format: "jpeg" | "png", quality = 90, blur = 0): Promise<Buffer> {
  let img = sharp(Buffer.from(c.data), { raw: { width: c.width, height: c.height, channels: 3 } });
  if (blur >= 0.3) img = img.blur(blur);
  return format === "jpeg" ? img.jpeg({ quality }).toBuffer() : img.png({ compressionLevel: 3 }).toBuffer();
}

/** Mean absolute difference of two canvases' channels (0–255). */
export function meanDiff(a: Canvas, b: Canvas): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i]! - b.data[i]!);
  return s / a.data.length;
}
