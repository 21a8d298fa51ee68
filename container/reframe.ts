/**
 * Changes a frame's aspect ratio (SPEC stage 3, optional). Crops never upscale: the output is the
 * largest box of the target ratio inside the frame, placed by sharp's attention (salient regions,
 * skin, faces) or entropy strategy. "pad" keeps the whole frame and extends it with the colour of
 * the edges it extends (a studio backdrop continues seamlessly) or black.
 */
import sharp from "sharp";
import { openImage } from "./image-limits.ts";
import { ASPECT_RATIOS, aspectValue, type AspectRatio } from "../src/domain/aspect.ts";
import type { Box } from "./crop.ts";
import type { ReframeMethod } from "../src/domain/media-jobs.ts";
import { InputError, errorMessage } from "./errors.ts";

export { ASPECT_RATIOS };

export interface ReframeOptions {
  aspectRatio: AspectRatio;
  method: ReframeMethod;
  padColor?: "edge" | "black";
}

export interface ReframeResult {
  /**
   * The region of the input that became the output, in input pixels. For "pad" it reaches outside
   * the input (negative x/y, larger size): the padding.
   */
  box: Box;
  width: number;
  height: number;
}

async function orientedSize(file: string, label: string): Promise<{ width: number; height: number }> {
  try {
    const meta = await openImage(file).metadata();
    if (!meta.width || !meta.height) throw new Error("no dimensions");
    const swap = (meta.orientation ?? 1) >= 5;
    return { width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height };
  } catch (err) {
    throw new InputError(`${label} is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
  }
}

/** Target size keeping one side: the largest box of ratio `r` inside (crop) or around (pad) w×h. */
export function targetSize(width: number, height: number, r: number, mode: "inside" | "around"): { width: number; height: number } {
  const wider = width / height > r;
  if ((mode === "inside") === wider) return { width: Math.max(1, Math.round(height * r)), height };
  return { width, height: Math.max(1, Math.round(width / r)) };
}

/** Mean colour of the 2 px strips along the sides that get padded. */
async function edgeColour(file: string, horizontalPad: boolean): Promise<{ r: number; g: number; b: number }> {
  const { data, info } = await openImage(file).rotate().removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h, channels: ch } = info;
  const acc = [0, 0, 0];
  let n = 0;
  const add = (x: number, y: number) => {
    const i = (y * w + x) * ch;
    acc[0] += data[i]!;
    acc[1] += data[i + 1]!;
    acc[2] += data[i + 2]!;
    n++;
  };
  if (horizontalPad) {
    for (let y = 0; y < h; y++) for (const x of [0, 1, w - 2, w - 1]) if (x >= 0 && x < w) add(x, y);
  } else {
    for (let x = 0; x < w; x++) for (const y of [0, 1, h - 2, h - 1]) if (y >= 0 && y < h) add(x, y);
  }
  return { r: Math.round(acc[0]! / n), g: Math.round(acc[1]! / n), b: Math.round(acc[2]! / n) };
}

export async function reframeImage(file: string, outFile: string, opts: ReframeOptions, label = "frame"): Promise<ReframeResult> {
  const { width, height } = await orientedSize(file, label);
  const r = aspectValue(opts.aspectRatio);
  try {
    if (opts.method === "pad") {
      const out = targetSize(width, height, r, "around");
      const padX = out.width - width;
      const padY = out.height - height;
      const left = Math.floor(padX / 2);
      const top = Math.floor(padY / 2);
      const background = opts.padColor === "black" ? { r: 0, g: 0, b: 0 } : await edgeColour(file, padX > 0);
      await openImage(file)
        .rotate()
        .removeAlpha()
        .extend({ left, right: padX - left, top, bottom: padY - top, background })
        .png({ compressionLevel: 1 })
        .toFile(outFile);
      return { box: { x: -left, y: -top, width: out.width, height: out.height }, ...out };
    }
    const out = targetSize(width, height, r, "inside");
    if (out.width === width && out.height === height) {
      await openImage(file).rotate().png({ compressionLevel: 1 }).toFile(outFile);
      return { box: { x: 0, y: 0, width, height }, width, height };
    }
    // Resizing to exactly the crop size makes "cover" a pure crop (no resampling), and sharp
    // reports where its strategy put the box.
    const info = await openImage(file)
      .rotate()
      .resize(out.width, out.height, {
        fit: "cover",
        position: opts.method === "attention" ? sharp.strategy.attention : sharp.strategy.entropy,
      })
      .png({ compressionLevel: 1 })
      .toFile(outFile);
    const x = Math.max(0, Math.min(width - out.width, -(info.cropOffsetLeft ?? -Math.round((width - out.width) / 2))));
    const y = Math.max(0, Math.min(height - out.height, -(info.cropOffsetTop ?? -Math.round((height - out.height) / 2))));
    return { box: { x, y, width: out.width, height: out.height }, ...out };
  } catch (err) {
    throw new InputError(`${label} could not be reframed (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
  }
}
