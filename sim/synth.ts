/**
 * Image and clip synthesis. Nothing here is "AI": the goal is media that is plausible for the
 * pipeline (right sizes, a real 2×3 grid with gutters, frames that differ, clips that move from the
 * start image to the end image) and deterministic for the same input, so tests can rely on it.
 */
import crypto from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp, { type OverlayOptions } from "sharp";
import { ffmpegPath, ffprobePath, runProcess } from "../common/ffmpeg.ts";
import { Semaphore } from "../common/semaphore.ts";
import { alterPicture, drawnFace, recolourInsert, swappedInsert, type ClipDrift, type ImageDrift } from "./drift.ts";
import { Memo, memoKey } from "./memo.ts";
import { garmentSvg } from "../common/qa/figures.ts";
import { sprite, transformSprite } from "../common/qa/raw.ts";

// ---------------------------------------------------------------------------------------------
// Sizes

export const RESOLUTIONS = ["1K", "2K", "4K"] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
export const OUTPUT_FORMATS = ["png", "jpeg", "webp"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Gemini 3 Pro Image's 1K sizes per aspect ratio; 2K and 4K double and quadruple them. */
const SIZES_1K: Record<string, [number, number]> = {
  "1:1": [1024, 1024],
  "2:3": [848, 1264],
  "3:2": [1264, 848],
  "3:4": [896, 1200],
  "4:3": [1200, 896],
  "4:5": [928, 1152],
  "5:4": [1152, 928],
  "9:16": [768, 1376],
  "16:9": [1376, 768],
  "21:9": [1584, 672],
};
export const ASPECT_RATIOS = ["auto", ...Object.keys(SIZES_1K)] as const;

export function outputSize(aspect: string, resolution: Resolution): { width: number; height: number } {
  const [w, h] = SIZES_1K[aspect] ?? SIZES_1K["2:3"];
  const k = resolution === "4K" ? 4 : resolution === "2K" ? 2 : 1;
  return { width: w * k, height: h * k };
}

// ---------------------------------------------------------------------------------------------
// Prompt reading

export type ImageKind = "contact-sheet" | "edit" | "hero";

/** An edit prompt starts "Take this image"; a contact sheet is asked for by name; else a hero. */
export function classifyPrompt(prompt: string): ImageKind {
  if (/^\s*take this image\b/i.test(prompt)) return "edit";
  if (/contact[\s-]*sheet/i.test(prompt)) return "contact-sheet";
  return "hero";
}

type RGB = [number, number, number];
export interface Setting {
  id: string;
  wall: RGB;
  floor: RGB;
}

const SETTINGS: { id: string; words: RegExp; wall: RGB; floor: RGB }[] = [
  { id: "color-gel", words: /\bgels?\b|colou?r[- ]gel|neon|vibrant|colou?rful/i, wall: [196, 36, 128], floor: [40, 150, 170] },
  { id: "industrial", words: /concrete|industrial|warehouse|exposed architecture/i, wall: [128, 124, 116], floor: [92, 88, 82] },
  { id: "outdoor-urban", words: /\bcity\b|urban|street|metropolitan/i, wall: [88, 104, 122], floor: [58, 60, 66] },
  { id: "warm-daylight", words: /\bwarm\b|daylight|window light|golden/i, wall: [226, 180, 128], floor: [180, 128, 86] },
  { id: "studio-black", words: /\bblack\b|dark void|low-key|\bvoid\b/i, wall: [22, 22, 24], floor: [12, 12, 14] },
  { id: "studio-white", words: /\bwhite\b|cyclorama|high-key/i, wall: [242, 241, 238], floor: [226, 224, 220] },
  { id: "studio-grey", words: /\bgr[ae]y\b/i, wall: [138, 138, 136], floor: [112, 112, 110] },
];

/** Picks the backdrop from the prompt's "Setting:" line when there is one, else from any words. */
export function settingFromPrompt(prompt: string): Setting {
  const settingLine = /^\s*setting:\s*(.+)$/im.exec(prompt)?.[1];
  for (const text of [settingLine, prompt]) {
    if (!text) continue;
    const hit = SETTINGS.find((s) => s.words.test(text));
    if (hit) return { id: hit.id, wall: hit.wall, floor: hit.floor };
  }
  const grey = SETTINGS[SETTINGS.length - 1];
  return { id: grey.id, wall: grey.wall, floor: grey.floor };
}

export function captionFrom(prompt: string, words = 8): string {
  const firstLine = prompt.trim().split("\n")[0] ?? "";
  const w = firstLine.replace(/\s+/g, " ").trim().split(" ").slice(0, words).join(" ");
  return w.length > 72 ? `${w.slice(0, 71)}…` : w;
}

/** The requested change in "Take this image and <change>. …". */
export function editRequest(prompt: string): string {
  const rest = prompt.replace(/^\s*take this image\s*(and\s*)?/i, "");
  const first = rest.split(/(?<=[.!?])\s|\n/)[0]?.replace(/[.!?]+$/, "") ?? "";
  return first.length > 64 ? `${first.slice(0, 63)}…` : first || "edit";
}

/** A stable 32-bit seed from everything that defines the output. */
export function seedOf(...parts: (string | Uint8Array)[]): number {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest().readUInt32BE(0);
}

// ---------------------------------------------------------------------------------------------
// SVG helpers

const hex = ([r, g, b]: RGB) =>
  `#${[r, g, b]
    .map((v) =>
      Math.max(0, Math.min(255, Math.round(v)))
        .toString(16)
        .padStart(2, "0"),
    )
    .join("")}`;
const mix = (a: RGB, b: RGB, t: number): RGB => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const xmlEscape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Seven-segment digits drawn as paths, so labels render even without system fonts. */
const SEGMENTS: Record<string, string> = {
  "0": "abcdef",
  "1": "bc",
  "2": "abged",
  "3": "abgcd",
  "4": "fgbc",
  "5": "afgcd",
  "6": "afgedc",
  "7": "abc",
  "8": "abcdefg",
  "9": "abcdfg",
};
function digitPaths(digit: string, x: number, y: number, w: number, h: number, t: number): string {
  const half = h / 2;
  const rects: Record<string, [number, number, number, number]> = {
    a: [x + t, y, w - 2 * t, t],
    b: [x + w - t, y + t, t, half - 1.5 * t],
    c: [x + w - t, y + half + t / 2, t, half - 1.5 * t],
    d: [x + t, y + h - t, w - 2 * t, t],
    e: [x, y + half + t / 2, t, half - 1.5 * t],
    f: [x, y + t, t, half - 1.5 * t],
    g: [x + t, y + half - t / 2, w - 2 * t, t],
  };
  return [...(SEGMENTS[digit] ?? "")]
    .map((s) => rects[s])
    .map(
      ([rx, ry, rw, rh]) => `<rect x="${rx.toFixed(1)}" y="${ry.toFixed(1)}" width="${rw.toFixed(1)}" height="${rh.toFixed(1)}" rx="${(t / 3).toFixed(1)}"/>`,
    )
    .join("");
}

function labelSvg(width: number, height: number, label: string): Buffer {
  const boxH = Math.max(28, Math.round(Math.min(width, height) * 0.13));
  const boxW = Math.round(boxH * 0.78);
  const pad = Math.round(boxH * 0.3);
  const dw = boxW * 0.52;
  const dh = boxH * 0.66;
  const t = Math.max(3, boxH * 0.09);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect x="${pad}" y="${pad}" width="${boxW}" height="${boxH}" rx="${boxH * 0.12}" fill="#000" fill-opacity="0.72"/>` +
      `<g fill="#fff">${digitPaths(label, pad + (boxW - dw) / 2, pad + (boxH - dh) / 2, dw, dh, t)}</g>` +
      `<text x="${pad + boxW + pad * 0.6}" y="${pad + boxH * 0.72}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${Math.round(boxH * 0.42)}" fill="#fff" fill-opacity="0.85">${xmlEscape(label)}</text>` +
      `</svg>`,
  );
}

function captionSvg(width: number, height: number, text: string, accent: RGB, atTop = false): Buffer {
  const band = Math.max(28, Math.round(height * 0.055));
  // Edits caption at the top so they never sit on a hero's own caption band.
  const y0 = atTop ? 0 : height - band;
  const size = Math.round(band * 0.46);
  // Keep the caption inside the frame (DejaVu Sans averages ~0.6 em per character).
  const maxChars = Math.max(8, Math.floor((width - band) / (size * 0.6)));
  if (text.length > maxChars) text = `${text.slice(0, maxChars - 1)}…`;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect x="0" y="${y0}" width="${width}" height="${band}" fill="#000" fill-opacity="0.55"/>` +
      `<rect x="0" y="${y0}" width="${Math.round(band * 0.18)}" height="${band}" fill="${hex(accent)}"/>` +
      `<text x="${Math.round(band * 0.5)}" y="${y0 + band - Math.round(band * 0.32)}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${size}" fill="#fff">${xmlEscape(text)}</text>` +
      `</svg>`,
  );
}

function backdropSvg(width: number, height: number, setting: Setting, seed: number): Buffer {
  const horizon = Math.round(height * 0.72);
  const wallTop = hex(mix(setting.wall, [255, 255, 255], 0.12));
  const wallLow = hex(setting.wall);
  const floor = hex(setting.floor);
  let extra = "";
  if (setting.id === "industrial") {
    // Formwork seams and tie holes: reads as poured concrete.
    const rows = 5;
    for (let i = 1; i < rows; i++)
      extra += `<rect x="0" y="${Math.round((horizon * i) / rows)}" width="${width}" height="${Math.max(2, Math.round(height / 400))}" fill="#000" fill-opacity="0.18"/>`;
    for (let r = 0; r < rows; r++)
      for (let c = 1; c < 6; c++)
        extra += `<circle cx="${Math.round((width * c) / 6)}" cy="${Math.round((horizon * (r + 0.5)) / rows)}" r="${Math.max(3, Math.round(width / 180))}" fill="#000" fill-opacity="0.25"/>`;
  } else if (setting.id === "outdoor-urban") {
    // A skyline of blocks with lit windows behind the subject.
    let x = 0;
    let s = seed;
    while (x < width) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const w = Math.round(width * (0.08 + ((s >>> 8) % 100) / 1000));
      const h = Math.round(horizon * (0.35 + ((s >>> 16) % 50) / 100));
      extra += `<rect x="${x}" y="${horizon - h}" width="${w - 4}" height="${h}" fill="#2c3440" fill-opacity="0.85"/>`;
      for (let wy = horizon - h + 12; wy < horizon - 20; wy += 28)
        for (let wx = x + 8; wx < x + w - 16; wx += 22)
          if (((wx * 31 + wy * 17 + s) >>> 3) % 3 === 0) extra += `<rect x="${wx}" y="${wy}" width="10" height="14" fill="#f3d98b" fill-opacity="0.8"/>`;
      x += w;
    }
  } else if (setting.id === "warm-daylight") {
    for (let i = 0; i < 3; i++)
      extra += `<polygon points="${width * (0.05 + i * 0.22)},0 ${width * (0.17 + i * 0.22)},0 ${width * (0.42 + i * 0.22)},${horizon} ${width * (0.3 + i * 0.22)},${horizon}" fill="#fff6e0" fill-opacity="0.16"/>`;
  }
  const gel = setting.id === "color-gel";
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<defs>` +
      `<linearGradient id="wall" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${wallTop}"/><stop offset="1" stop-color="${wallLow}"/></linearGradient>` +
      `<radialGradient id="gel" cx="0.3" cy="0.3" r="0.9"><stop offset="0" stop-color="${wallLow}"/><stop offset="1" stop-color="${floor}"/></radialGradient>` +
      `<radialGradient id="flash" cx="0.5" cy="0.45" r="0.55"><stop offset="0" stop-color="#fff" stop-opacity="0.28"/><stop offset="1" stop-color="#fff" stop-opacity="0"/></radialGradient>` +
      `</defs>` +
      `<rect width="${width}" height="${height}" fill="url(#${gel ? "gel" : "wall"})"/>` +
      (gel ? "" : `<rect y="${horizon}" width="${width}" height="${height - horizon}" fill="${floor}"/>`) +
      extra +
      `<rect width="${width}" height="${height}" fill="url(#flash)"/>` +
      `</svg>`,
  );
}

function vignetteSvg(width: number, height: number): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<defs><radialGradient id="v" cx="0.5" cy="0.5" r="0.75"><stop offset="0.55" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.38"/></radialGradient></defs>` +
      `<rect width="${width}" height="${height}" fill="url(#v)"/></svg>`,
  );
}

// ---------------------------------------------------------------------------------------------
// Images

export interface SynthImage {
  data: Buffer;
  width: number;
  height: number;
  contentType: string;
  ext: string;
  /** What drift was injected, in words (when the request asked for one). */
  drift?: string;
}

async function encode(img: ReturnType<typeof sharp>, format: OutputFormat): Promise<SynthImage> {
  const out = format === "jpeg" ? img.jpeg({ quality: 90 }) : format === "webp" ? img.webp({ quality: 90 }) : img.png({ compressionLevel: 4 });
  const { data, info } = await out.toBuffer({ resolveWithObject: true });
  const ext = format === "jpeg" ? "jpg" : format;
  return { data, width: info.width, height: info.height, contentType: `image/${format}`, ext };
}

export interface ImageRequest {
  prompt: string;
  /** Decoded inputs (PNG buffers), in the order given. */
  images: { data: Buffer; width: number; height: number }[];
  aspectRatio: string;
  resolution: Resolution;
  outputFormat: OutputFormat;
  /** Index among num_images, so several outputs of one request differ. */
  variant?: number;
  seed?: number;
  /** Make the output wrong this way (sim/drift.ts). */
  drift?: { kind: ImageDrift; seed: number };
}

const images = new Memo<SynthImage>(256 * 2 ** 20, (img) => img.data.byteLength);

export function synthesizeImage(req: ImageRequest): Promise<SynthImage> {
  const key = memoKey(
    req.prompt,
    req.seed,
    req.variant,
    req.aspectRatio,
    req.resolution,
    req.outputFormat,
    req.drift ? `${req.drift.kind}:${req.drift.seed}` : "",
    ...req.images.map((i) => i.data),
  );
  return images.get(key, () => makeImage(req));
}

async function makeImage(req: ImageRequest): Promise<SynthImage> {
  const seed = seedOf(req.prompt, String(req.seed ?? ""), String(req.variant ?? 0), ...req.images.map((i) => i.data));
  const kind = classifyPrompt(req.prompt);
  // A contact sheet or an edit has one whole picture as input: drift alters that picture first.
  // A hero alters its inserts (sim/drift.ts says which input is taken for what).
  if (req.drift && req.images[0] && (kind !== "hero" || req.images.length === 1)) {
    const altered = await alterPicture(req.images[0].data, req.drift);
    const images = [{ ...req.images[0], data: altered.data }, ...req.images.slice(1)];
    const plain = { ...req, images, drift: undefined };
    const img = kind === "contact-sheet" ? await contactSheet(plain, seed) : kind === "edit" ? await editFrame(plain, seed) : await hero(plain, seed);
    return { ...img, drift: altered.detail };
  }
  switch (kind) {
    case "contact-sheet":
      return contactSheet(req, seed);
    case "edit":
      return editFrame(req, seed);
    default:
      return hero(req, seed);
  }
}

/** A PNG insert as an RGBA sprite and back (for recolouring an insert). */
async function recolourTile(tile: Buffer, seed: number): Promise<{ data: Buffer; de: number }> {
  const r = recolourInsert(await sprite(tile), seed);
  const data = await sharp(Buffer.from(r.sprite.data), { raw: { width: r.sprite.width, height: r.sprite.height, channels: 4 } })
    .png()
    .toBuffer();
  return { data, de: r.de };
}

/** (c) A hero still: references composited onto a backdrop chosen from the setting words. */
async function hero(req: ImageRequest, seed: number): Promise<SynthImage> {
  const { width, height } = outputSize(req.aspectRatio === "auto" ? "2:3" : req.aspectRatio, req.resolution);
  const setting = settingFromPrompt(req.prompt);
  const layers: OverlayOptions[] = [];
  const [main, ...allExtras] = req.images;
  const drift = req.drift;
  let driftDetail: string | undefined;
  // Drift on a hero with inserts: the first insert is the garment, the last the accessory.
  const extras = drift?.kind === "accessory-removed" ? allExtras.slice(0, -1) : allExtras;
  if (drift?.kind === "accessory-removed") driftDetail = `the last insert (input ${allExtras.length + 1}, the accessory) left out`;
  if (main) {
    const subject = await sharp(main.data)
      .resize({ width: Math.round(width * 0.66), height: Math.round(height * 0.8), fit: "inside" })
      .toBuffer({ resolveWithObject: true });
    const jitter = ((seed % 21) - 10) / 1000;
    const left = Math.max(0, Math.round(width * (0.5 + jitter) - subject.info.width / 2));
    const top = Math.max(0, Math.round(height * 0.93 - subject.info.height));
    layers.push({ input: subject.data, left, top });
    if (drift?.kind === "face-swap") {
      // The model's head is taken to be at the upper middle of the first input.
      const face = await transformSprite(await drawnFace(drift.seed), subject.info.width * 0.22);
      const png = await sharp(Buffer.from(face.data), { raw: { width: face.width, height: face.height, channels: 4 } })
        .png()
        .toBuffer();
      layers.push({
        input: png,
        left: Math.max(0, Math.round(left + subject.info.width / 2 - face.width / 2)),
        top: Math.max(0, Math.round(top + subject.info.height * 0.13 - face.height / 2)),
      });
      driftDetail = "a drawn face over the upper middle of the model (input 1)";
    }
  }
  // Accessories and garments as smaller inserts along the sides, alternating left/right.
  const border = Math.max(3, Math.round(width / 300));
  for (const [i, ref] of extras.slice(0, 6).entries()) {
    let source = ref.data;
    const tileW = Math.round(width * 0.22);
    const tileH = Math.round(height * 0.17);
    if (i === 0 && drift?.kind === "garment-swap") {
      source = await swappedInsert(tileW, tileH, drift.seed);
      driftDetail = "the first insert (input 2, the garment) replaced by a drawn jacket";
    } else if (i === 0 && drift?.kind === "garment-recolour") {
      const resized = await sharp(ref.data).resize({ width: tileW, height: tileH, fit: "inside" }).png().toBuffer();
      const r = await recolourTile(resized, drift.seed);
      source = r.data;
      driftDetail = `the first insert (input 2, the garment) recoloured, ΔE00 ${r.de.toFixed(0)}`;
    }
    const tile = await sharp(source)
      .resize({ width: tileW, height: tileH, fit: "inside" })
      .extend({ top: border, bottom: border, left: border, right: border, background: "#f4f2ee" })
      .toBuffer({ resolveWithObject: true });
    const right = i % 2 === 1;
    const row = Math.floor(i / 2);
    layers.push({
      input: tile.data,
      left: right ? width - tile.info.width - Math.round(width * 0.04) : Math.round(width * 0.04),
      top: Math.min(height - tile.info.height, Math.round(height * (0.08 + row * 0.2))),
    });
  }
  layers.push({ input: vignetteSvg(width, height), left: 0, top: 0 });
  layers.push({ input: captionSvg(width, height, captionFrom(req.prompt), setting.floor), left: 0, top: 0 });
  const base = sharp(backdropSvg(width, height, setting, seed)).resize(width, height);
  const flat = await base.composite(layers).png({ compressionLevel: 1 }).toBuffer();
  const img = await encode(sharp(flat).modulate({ saturation: 1.12, brightness: 1.02 }), req.outputFormat);
  return drift ? { ...img, drift: driftDetail ?? `${drift.kind}: nothing to alter` } : img;
}

/** (b) "Take this image and …": the same frame, same size, tinted and captioned with the change. */
async function editFrame(req: ImageRequest, seed: number): Promise<SynthImage> {
  const src = req.images[0];
  if (!src) throw new Error("an edit needs one input image");
  const { width, height } = src;
  const hue = 20 + (seed % 40);
  const tinted = await sharp(src.data)
    .modulate({ hue, saturation: 1.25, brightness: 1.04 })
    .linear([1.06, 1.0, 0.92], [6, 0, -4])
    .png({ compressionLevel: 1 })
    .toBuffer();
  const accent: RGB = [(seed >>> 8) & 255, (seed >>> 16) & 255, 200];
  const img = sharp(tinted).composite([{ input: captionSvg(width, height, `edit: ${editRequest(req.prompt)}`, accent, true), left: 0, top: 0 }]);
  return encode(img, req.outputFormat);
}

interface Angle {
  /** Centre of the crop in the hero, as fractions. */
  cx: number;
  cy: number;
  /** Crop height as a fraction of the hero's height (smaller = closer). */
  zoom: number;
  flop?: boolean;
  rotate?: number;
  gain: [number, number, number];
  offset: [number, number, number];
  saturation: number;
  sharpen?: boolean;
}

/** The six-shot list as crops, flips and tints: visibly different "camera angles" of one scene. */
const ANGLES: Angle[] = [
  { cx: 0.5, cy: 0.3, zoom: 0.32, gain: [1.05, 1.0, 0.97], offset: [8, 4, 0], saturation: 1.1 }, // close beauty portrait
  { cx: 0.42, cy: 0.42, zoom: 0.7, flop: true, gain: [1.0, 1.02, 1.06], offset: [0, 0, 6], saturation: 0.95 }, // high-angle three-quarter
  { cx: 0.5, cy: 0.55, zoom: 1.0, gain: [1.02, 1.0, 1.0], offset: [0, 0, 0], saturation: 1.2 }, // low-angle full body
  { cx: 0.62, cy: 0.45, zoom: 0.78, flop: true, gain: [0.95, 1.0, 1.08], offset: [-6, 0, 10], saturation: 0.75 }, // side-on profile
  { cx: 0.55, cy: 0.36, zoom: 0.42, rotate: 7, gain: [1.1, 1.0, 0.9], offset: [10, 2, -8], saturation: 1.15 }, // intimate close portrait
  { cx: 0.5, cy: 0.62, zoom: 0.18, gain: [0.98, 1.0, 1.04], offset: [0, 4, 8], saturation: 1.3, sharpen: true }, // garment detail
];

async function angleCell(heroImg: { data: Buffer; width: number; height: number }, angle: Angle, cellW: number, cellH: number, label: string) {
  const { width: hw, height: hh } = heroImg;
  const aspect = cellW / cellH;
  let rh = angle.zoom * hh;
  let rw = rh * aspect;
  if (rw > hw) {
    rw = hw;
    rh = rw / aspect;
  }
  if (rh > hh) {
    rh = hh;
    rw = rh * aspect;
  }
  const left = Math.round(Math.max(0, Math.min(hw - rw, angle.cx * hw - rw / 2)));
  const top = Math.round(Math.max(0, Math.min(hh - rh, angle.cy * hh - rh / 2)));
  const region = { left, top, width: Math.max(1, Math.min(hw - left, Math.round(rw))), height: Math.max(1, Math.min(hh - top, Math.round(rh))) };
  let img = sharp(heroImg.data).extract(region);
  if (angle.rotate) {
    // Oversize, rotate, then crop the middle so no empty corners show.
    const rad = (Math.abs(angle.rotate) * Math.PI) / 180;
    const k = Math.cos(rad) + Math.sin(rad) * Math.max(aspect, 1 / aspect) + 0.02;
    const big = await img
      .resize(Math.round(cellW * k), Math.round(cellH * k), { fit: "cover" })
      .rotate(angle.rotate)
      .toBuffer({ resolveWithObject: true });
    img = sharp(big.data).extract({
      left: Math.round((big.info.width - cellW) / 2),
      top: Math.round((big.info.height - cellH) / 2),
      width: cellW,
      height: cellH,
    });
  } else {
    img = img.resize(cellW, cellH, { fit: "cover" });
  }
  if (angle.flop) img = img.flop();
  img = img.linear(angle.gain, angle.offset).modulate({ saturation: angle.saturation });
  if (angle.sharpen) img = img.sharpen({ sigma: 1.2 });
  const graded = await img.png({ compressionLevel: 1 }).toBuffer();
  return sharp(graded)
    .composite([{ input: labelSvg(cellW, cellH, label), left: 0, top: 0 }])
    .png({ compressionLevel: 1 })
    .toBuffer();
}

export interface GridLayout {
  width: number;
  height: number;
  cols: number;
  rows: number;
  gutter: number;
  marginX: number;
  marginY: number;
  cellWidth: number;
  cellHeight: number;
}

/** Where the cells of a contact sheet are; exported so tests can sample gutters and cells. */
export function gridLayout(width: number, height: number, cols = 3, rows = 2): GridLayout {
  const gutter = Math.max(12, Math.round(28 * (width / 2528)));
  const cellWidth = Math.floor((width - 2 * gutter - (cols - 1) * gutter) / cols);
  const cellHeight = Math.floor((height - 2 * gutter - (rows - 1) * gutter) / rows);
  const marginX = Math.floor((width - cols * cellWidth - (cols - 1) * gutter) / 2);
  const marginY = Math.floor((height - rows * cellHeight - (rows - 1) * gutter) / 2);
  return { width, height, cols, rows, gutter, marginX, marginY, cellWidth, cellHeight };
}

/** (a) A 2×3 contact sheet of six angles of the hero, on a gutter colour that contrasts with it. */
async function contactSheet(req: ImageRequest, _seed: number): Promise<SynthImage> {
  const heroImg = req.images[0];
  if (!heroImg) throw new Error("a contact sheet needs the hero image");
  const { width, height } = outputSize(req.aspectRatio === "auto" ? "3:2" : req.aspectRatio, req.resolution);
  const g = gridLayout(width, height);
  const stats = await sharp(heroImg.data).stats();
  const [r, gr, b] = stats.channels.map((c) => c.mean);
  const luminance = 0.2126 * r + 0.7152 * gr + 0.0722 * b;
  // Light gutters for dark heroes and vice versa, like a printed sheet; never close to the cells.
  const gutterColour = luminance < 140 ? { r: 246, g: 244, b: 240 } : { r: 18, g: 18, b: 20 };
  const cells = await Promise.all(ANGLES.map((a, i) => angleCell(heroImg, a, g.cellWidth, g.cellHeight, String(i + 1))));
  const layers: OverlayOptions[] = cells.map((input, i) => ({
    input,
    left: g.marginX + (i % g.cols) * (g.cellWidth + g.gutter),
    top: g.marginY + Math.floor(i / g.cols) * (g.cellHeight + g.gutter),
  }));
  const sheet = sharp({ create: { width, height, channels: 3, background: gutterColour } }).composite(layers);
  return encode(sheet, req.outputFormat);
}

// ---------------------------------------------------------------------------------------------
// Clips

// One FFmpeg lookup for the whole project (FFMPEG_PATH, PATH, then the installer packages).
export { ffmpegPath, ffprobePath };

/** Runs a binary with an argument array (never a shell); rejects with the stderr tail. */
export async function run(bin: string, args: string[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ stdout: string; stderr: string }> {
  const { stdout, stderr } = await runProcess(bin, args, opts);
  return { stdout: stdout.toString("utf8"), stderr };
}

/** Caps parallel encodes: x264 already uses every core, more processes only add contention. */
const encodeLimiter = new Semaphore(Math.max(1, Math.floor(os.cpus().length / 2)));

export interface ClipRequest {
  start: Buffer;
  end?: Buffer;
  seconds: number;
  outFile: string;
  fps?: number;
  /** Longest edge; Kling's pro mode tops out around 1080p, so bigger stills are scaled down. */
  maxEdge?: number;
  /** Kills the encode (sim reset/shutdown). */
  signal?: AbortSignal;
  /** Make the clip wrong this way (sim/drift.ts). */
  drift?: { kind: ClipDrift; seed: number };
}

export interface ClipResult {
  width: number;
  height: number;
  frames: number;
  fps: number;
  duration: number;
  bytes: number;
  /** What drift was injected, in words. */
  drift?: string;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * An H.264 yuv420p MP4 that dissolves from the start image to the end image while the camera
 * drifts slightly sideways. Uses fade-with-alpha + overlay (FFmpeg 4.1 has no xfade).
 */
/** Made clips, as files of their own (the caller's outFile may be deleted or replaced). */
const clips = new Memo<{ file: string; result: ClipResult }>(
  512 * 2 ** 20,
  (c) => c.result.bytes,
  (c) => void fs.rm(path.dirname(c.file), { recursive: true, force: true }),
);

let memoDir: string | undefined;
const memoRoot = () => {
  if (!memoDir) {
    memoDir = mkdtempSync(path.join(os.tmpdir(), "atelier-sim-memo-"));
    const dir = memoDir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return memoDir;
};

export async function synthesizeClip(req: ClipRequest): Promise<ClipResult> {
  const key = memoKey(req.start, req.end, req.seconds, req.fps, req.maxEdge, req.drift ? `${req.drift.kind}:${req.drift.seed}` : "");
  const made = await clips.get(key, async () => {
    const dir = await fs.mkdtemp(path.join(memoRoot(), "clip-"));
    const file = path.join(dir, "clip.mp4");
    try {
      return { file, result: await makeClip({ ...req, outFile: file }) };
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
  });
  await fs.copyFile(made.file, req.outFile);
  return made.result;
}

const garmentSvgFor = (seed: number) => garmentSvg(seed);
const rgbaPng = (s: { width: number; height: number; data: Uint8Array }) =>
  sharp(Buffer.from(s.data), { raw: { width: s.width, height: s.height, channels: 4 } })
    .png()
    .toBuffer();

async function makeClip(req: ClipRequest): Promise<ClipResult> {
  const fps = req.fps ?? 24;
  const maxEdge = req.maxEdge ?? 1920;
  const meta = await sharp(req.start).metadata();
  const sw = meta.autoOrient?.width ?? meta.width ?? 0;
  const sh = meta.autoOrient?.height ?? meta.height ?? 0;
  if (!sw || !sh) throw new Error("start image has no size");
  const k = Math.min(1, maxEdge / Math.max(sw, sh));
  const width = even(sw * k);
  const height = even(sh * k);
  const frames = Math.max(2, Math.round(req.seconds * fps));
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "atelier-sim-clip-"));
  try {
    const startFile = path.join(tmp, "start.png");
    const endFile = path.join(tmp, "end.png");
    // Both layers are 6% oversized (done once here, not per frame) and panned by the same crop,
    // so the "camera" drifts as one while the picture dissolves.
    const bw = even(width * 1.06);
    const bh = even(height * 1.06);
    await sharp(req.start).rotate().resize(bw, bh, { fit: "cover" }).png({ compressionLevel: 1 }).toFile(startFile);
    let drift: string | undefined;
    if (req.drift?.kind === "clip-end-away") {
      // The clip heads for a picture that is not its end frame: the end frame mirrored, closer, off to one side.
      const right = req.drift.seed % 2 === 1;
      await sharp(req.end ?? req.start)
        .rotate()
        .flop()
        .resize(Math.round(bw * 1.3), Math.round(bh * 1.3), { fit: "cover" })
        .extract({ left: right ? Math.round(bw * 0.3) : 0, top: Math.round(bh * 0.15), width: bw, height: bh })
        .png({ compressionLevel: 1 })
        .toFile(endFile);
      drift = `ends on its end frame mirrored, zoomed 1.3× and moved ${right ? "left" : "right"}, not on the end frame`;
    } else {
      await sharp(req.end ?? req.start)
        .rotate()
        .resize(bw, bh, { fit: "cover" })
        .png({ compressionLevel: 1 })
        .toFile(endFile);
    }
    const last = frames - 1;
    // Decode each still once and repeat it with `loop` (image2 -loop would re-decode every frame).
    const hold = `loop=loop=${last}:size=1:start=0,setpts=N/${fps}/TB`;
    const pan = `crop=${width}:${height}:x='(iw-ow)*(0.25+0.5*n/${last})':y='(ih-oh)*(0.6-0.2*n/${last})',setsar=1`;
    let graph =
      `[0:v]format=yuv420p,${hold},${pan}[a];` +
      `[1:v]format=yuva420p,${hold},${pan},fade=t=in:s=0:n=${last}:alpha=1[b];` +
      `[a][b]overlay=shortest=1:format=yuv420,format=yuv420p[v]`;
    const extra: string[] = [];
    if (req.drift?.kind === "clip-morph") {
      // Mid-way the picture turns into another (the start frame mirrored, its hues turned, a drawn
      // jacket and face on it) and back: faded in over a fifth of the clip from 30 %, out from 55 %.
      const morphFile = path.join(tmp, "morph.png");
      const g = await transformSprite(await sprite(Buffer.from(garmentSvgFor(req.drift.seed))), bw * 0.5);
      const f = await transformSprite(await drawnFace(req.drift.seed), bw * 0.2);
      const base = await sharp(startFile).flop().modulate({ hue: 150 }).toBuffer();
      await sharp(base)
        .composite([
          { input: await rgbaPng(g), left: Math.round(bw * 0.25), top: Math.round(bh * 0.4) },
          { input: await rgbaPng(f), left: Math.round(bw * 0.4), top: Math.round(bh * 0.08) },
        ])
        .png({ compressionLevel: 1 })
        .toFile(morphFile);
      const k = Math.max(1, Math.round(frames * 0.2));
      const a = Math.round(frames * 0.3);
      const b = Math.round(frames * 0.55);
      graph =
        `[0:v]format=yuv420p,${hold},${pan}[a];` +
        `[1:v]format=yuva420p,${hold},${pan},fade=t=in:s=0:n=${last}:alpha=1[b];` +
        `[2:v]format=yuva420p,${hold},${pan},fade=t=in:s=${a}:n=${k}:alpha=1,fade=t=out:s=${b}:n=${k}:alpha=1[m];` +
        `[a][b]overlay=shortest=1:format=yuv420[ab];[ab][m]overlay=shortest=1:format=yuv420,format=yuv420p[v]`;
      extra.push("-i", morphFile);
      drift = `turns into another picture (mirrored, hues turned, another jacket and face) at ${((a / frames) * 100).toFixed(0)}–${(((b + k) / frames) * 100).toFixed(0)} % of the clip`;
    }
    const args = [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-i",
      startFile,
      "-i",
      endFile,
      ...extra,
      "-filter_complex",
      graph,
      "-map",
      "[v]",
      "-frames:v",
      String(frames),
      "-r",
      String(fps),
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-crf",
      "20",
      "-pix_fmt",
      "yuv420p",
      "-movflags",
      "+faststart",
      "-an",
      req.outFile,
    ];
    await encodeLimiter.use(() => run(ffmpegPath(), args, { timeoutMs: 300_000, signal: req.signal }));
    return { width, height, frames, fps, duration: frames / fps, bytes: (await fs.stat(req.outFile)).size, ...(drift ? { drift } : {}) };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
