/**
 * Drift: the simulator's outputs made wrong the way generators get them wrong (issue 19), at a
 * configured rate, so the quality checks have something to find and tests know the truth.
 *
 * Configured with the faults (`POST /__sim/faults` or `SIM_FAULTS`):
 * `{ "drift": { "rate": 0.3, "kinds": ["garment-recolour", …], "seed": 7 } }`. Whether a job drifts,
 * and how, is drawn from a hash of the seed and what the job asks for (model, prompt, the input
 * images' bytes), so the same request drifts the same way whatever order jobs arrive in, and a
 * revised prompt draws afresh. Every injection is recorded (`GET /__sim/drift`) with the provider's
 * job id (FAL request id, Kling task id), and a still's with its output URL and sha256, so the
 * simulated vision judge (sim/judge.ts) knows a drifted still when it is shown one.
 *
 * Kinds: stills (FAL image endpoints) `garment-recolour`, `accessory-removed`, `garment-swap`,
 * `face-swap`; clips (Kling, FAL video) `clip-morph`, `clip-end-away`. Which input is what: the sim
 * does not know roles, so on a hero with several inputs the first is the model, the second the
 * garment and the last the accessory (each shown as an insert); on an edit or a contact sheet, whose
 * one input is a whole picture, the garment is taken to be its middle, the face its upper middle and
 * an accessory its lower right (see `alterPicture`).
 */
import crypto from "node:crypto";
import sharp from "sharp";
import { z } from "zod";
import { deltaE00 } from "../common/colour.ts";
import { mulberry32 } from "../common/prng.ts";
import { FIGURE_HEAD, FIGURE_SIZE, faceSvg, garmentSvg } from "../common/qa/figures.ts";
import {
  canvas,
  drawRecolour,
  paste,
  recolourEllipse,
  recolourSprite,
  sprite,
  spriteColour,
  transformSprite,
  type Canvas,
  type Sprite,
} from "../common/qa/raw.ts";

export const IMAGE_DRIFTS = ["garment-recolour", "accessory-removed", "garment-swap", "face-swap"] as const;
export const CLIP_DRIFTS = ["clip-morph", "clip-end-away"] as const;
export const DRIFT_KINDS = [...IMAGE_DRIFTS, ...CLIP_DRIFTS] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];
export type ImageDrift = (typeof IMAGE_DRIFTS)[number];
export type ClipDrift = (typeof CLIP_DRIFTS)[number];

export const DriftSchema = z.object({
  /** Share of outputs altered, 0–1. */
  rate: z.number().min(0).max(1),
  /** Which alterations may be drawn (each output draws among those that apply to it). */
  kinds: z.array(z.enum(DRIFT_KINDS)).min(1),
  seed: z.number().int(),
  /** Only jobs whose prompt contains this text may drift (a test picks which shoots by their brief). */
  match: z.string().min(1).optional(),
});
export type DriftConfig = z.infer<typeof DriftSchema>;

export const defaultDrift = (): DriftConfig => ({ rate: 0, kinds: [...DRIFT_KINDS], seed: 1 });

/** What an output job is to get: the kind and a seed for its details. */
export interface DriftSpec {
  kind: DriftKind;
  seed: number;
}

export interface InjectedDrift {
  /** The provider's job id: FAL's request id or Kling's task id. */
  jobId: string;
  provider: "fal" | "kling";
  model: string;
  kind: DriftKind;
  detail: string;
  /** A still's output: its URL, the sha256 of its bytes, and what picture it is. */
  output?: { url: string; sha256: string; picture: "hero" | "contact-sheet" | "edit" };
  at: string;
}

/** A still reduced to 32 × 32 RGB, and its aspect: the same picture scaled or re-encoded reduces alike. */
interface Fingerprint {
  aspect: number;
  pixels: Buffer;
}

async function fingerprintOf(data: Uint8Array): Promise<Fingerprint> {
  const meta = await sharp(data).metadata();
  const turned = (meta.orientation ?? 1) >= 5;
  const w = (turned ? meta.height : meta.width) || 1;
  const h = (turned ? meta.width : meta.height) || 1;
  const pixels = await sharp(data).rotate().removeAlpha().resize(32, 32, { fit: "fill" }).raw().toBuffer();
  return { aspect: w / h, pixels };
}

/**
 * Whether two fingerprints are one picture: same aspect, and every reduced pixel close. Measured on
 * the drift set's heroes: a copy scaled to 1568 px and saved as JPEG (q75) or WebP (q70) is off by at
 * most 20 levels in any reduced pixel (27 at 400 px and q60), while the same hero without its drift
 * is off by 40 or more where the drift is.
 */
function samePicture(a: Fingerprint, b: Fingerprint): boolean {
  if (Math.abs(a.aspect / b.aspect - 1) > 0.02 || a.pixels.length !== b.pixels.length) return false;
  let sum = 0;
  for (let i = 0; i < a.pixels.length; i++) {
    const d = Math.abs(a.pixels[i]! - b.pixels[i]!);
    if (d > 30) return false;
    sum += d;
  }
  return sum / a.pixels.length < 4;
}

/** Draws whether (and how) a job drifts, from the seed and what the job asks for. */
export function decideDrift(config: DriftConfig, media: "image" | "video", parts: (string | Uint8Array)[]): DriftSpec | undefined {
  if (config.rate <= 0) return undefined;
  if (config.match && !parts.some((p) => typeof p === "string" && p.includes(config.match!))) return undefined;
  const applicable = config.kinds.filter((k) => (media === "image" ? (IMAGE_DRIFTS as readonly string[]) : (CLIP_DRIFTS as readonly string[])).includes(k));
  if (!applicable.length) return undefined;
  const h = crypto.createHash("sha256").update(String(config.seed)).update("\0");
  for (const p of parts) h.update(p).update("\0");
  const digest = h.digest();
  if (digest.readUInt32BE(0) / 2 ** 32 >= config.rate) return undefined;
  return { kind: applicable[digest.readUInt32BE(4) % applicable.length]!, seed: digest.readUInt32BE(8) };
}

/** The record of what was injected, for `GET /__sim/drift`, and for the judge to recognise a drifted still it is shown. */
export class DriftLog {
  private list: InjectedDrift[] = [];
  private prints = new Map<InjectedDrift, Promise<Fingerprint | undefined>>();
  /** Records an injection; with a still's output bytes, so `findStill` can recognise it later. */
  add(entry: Omit<InjectedDrift, "at" | "output">, still?: { url: string; data: Uint8Array; picture: "hero" | "contact-sheet" | "edit" }): void {
    const row: InjectedDrift = {
      ...entry,
      ...(still ? { output: { url: still.url, sha256: crypto.createHash("sha256").update(still.data).digest("hex"), picture: still.picture } } : {}),
      at: new Date().toISOString(),
    };
    this.list.push(row);
    if (still) {
      this.prints.set(
        row,
        fingerprintOf(still.data).catch(() => undefined),
      );
    }
  }
  all(): InjectedDrift[] {
    return [...this.list];
  }
  /**
   * The injection a still shows: its bytes are a recorded output's (sha256), or the same picture
   * scaled down or re-encoded (a Worker may send a smaller copy to a vision model).
   */
  async findStill(data: Uint8Array): Promise<InjectedDrift | undefined> {
    const sha = crypto.createHash("sha256").update(data).digest("hex");
    const exact = this.list.find((e) => e.output?.sha256 === sha);
    if (exact) return exact;
    let print: Fingerprint;
    try {
      print = await fingerprintOf(data);
    } catch {
      return undefined;
    }
    for (const e of this.list) {
      const other = await this.prints.get(e);
      if (other && samePicture(print, other)) return e;
    }
    return undefined;
  }
  clear(): void {
    this.list = [];
    this.prints.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Stills

async function toCanvas(data: Buffer): Promise<Canvas> {
  const { data: raw, info } = await sharp(data).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) };
}

const pngOf = (c: Canvas) =>
  sharp(Buffer.from(c.data), { raw: { width: c.width, height: c.height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();

/** A drawn face (its head, hair and features), as a sprite. */
async function drawnFace(seed: number): Promise<Sprite> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${FIGURE_SIZE.width}" height="${FIGURE_SIZE.height}">${faceSvg(seed)}</svg>`;
  const { x, y } = FIGURE_HEAD;
  const crop = await sharp(Buffer.from(svg))
    .extract({ left: x - 100, top: y - 115, width: 200, height: 230 })
    .png()
    .toBuffer();
  return sprite(crop);
}

/** Recolours a sprite (an insert) so its dominant colour moves by at least 15 ΔE00. */
export function recolourInsert(s: Sprite, seed: number): { sprite: Sprite; de: number } {
  const rand = mulberry32(seed);
  const before = spriteColour(s);
  let best = { sprite: s, de: 0 };
  for (let i = 0; i < 10; i++) {
    const { recolour, shift } = drawRecolour(before, rand, 18);
    const out = recolourSprite(s, recolour, shift);
    const after = spriteColour(out);
    const de = deltaE00(before[0], before[1], before[2], after[0], after[1], after[2]);
    if (de > best.de) best = { sprite: out, de };
    if (de >= 15) break;
  }
  return best;
}

/**
 * Alters a whole picture (an edit's input, a contact sheet's hero, a hero with one input): its
 * middle recoloured or replaced by a drawn jacket, its upper middle by a drawn face, or its lower
 * right blurred away. Returns PNG bytes and what was done.
 */
export async function alterPicture(data: Buffer, drift: { kind: ImageDrift; seed: number }): Promise<{ data: Buffer; detail: string }> {
  const c = await toCanvas(data);
  const rand = mulberry32(drift.seed);
  if (drift.kind === "garment-recolour") {
    const hue = (rand() < 0.5 ? -1 : 1) * (100 + rand() * 80);
    const out = recolourEllipse(c, { hue, chroma: 1.3, lightness: (rand() - 0.5) * 20 }, 0.5, 0.6, 0.26, 0.22);
    return { data: await pngOf(out), detail: `middle of the picture (the garment) turned ${hue.toFixed(0)}° in hue` };
  }
  if (drift.kind === "garment-swap") {
    const g = await transformSprite(await sprite(Buffer.from(garmentSvg(drift.seed))), c.width * 0.5);
    paste(c, g, c.width * 0.5 - g.width / 2, c.height * 0.6 - g.height / 2);
    return { data: await pngOf(c), detail: "a drawn jacket over the middle of the picture" };
  }
  if (drift.kind === "face-swap") {
    const f = await transformSprite(await drawnFace(drift.seed), c.width * 0.2);
    paste(c, f, c.width * 0.5 - f.width / 2, c.height * 0.2 - f.height / 2);
    return { data: await pngOf(c), detail: "a drawn face over the upper middle of the picture" };
  }
  // accessory-removed: the lower right, where a held bag or a wrist is, blurred to nothing.
  const left = Math.round(c.width * 0.55);
  const top = Math.round(c.height * 0.55);
  const width = Math.round(c.width * 0.4);
  const height = Math.round(c.height * 0.35);
  const patch = await sharp(Buffer.from(c.data), { raw: { width: c.width, height: c.height, channels: 3 } })
    .extract({ left, top, width, height })
    .blur(Math.max(8, width / 8))
    .raw()
    .toBuffer();
  const s: Sprite = { width, height, data: new Uint8Array(width * height * 4) };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const e = ((x - width / 2) / (width / 2)) ** 2 + ((y - height / 2) / (height / 2)) ** 2;
      const i = y * width + x;
      for (let k = 0; k < 3; k++) s.data[i * 4 + k] = patch[i * 3 + k]!;
      s.data[i * 4 + 3] = e >= 1 ? 0 : Math.round(255 * Math.min(1, (1 - e) * 3));
    }
  }
  paste(c, s, left, top);
  return { data: await pngOf(c), detail: "the lower right of the picture (a held accessory) blurred away" };
}

/** A drawn jacket the size of an insert, on the insert's light background (a garment swapped). */
export async function swappedInsert(width: number, height: number, seed: number): Promise<Buffer> {
  const g = await transformSprite(await sprite(Buffer.from(garmentSvg(seed))), width * 0.9);
  const c = canvas(width, height);
  c.data.fill(244);
  paste(c, g, (width - g.width) / 2, (height - g.height) / 2);
  return pngOf(c);
}

export { drawnFace };
