/**
 * The crop job (SPEC stage 3): decodes a generated contact sheet, finds its grid (grid.ts) or splits
 * it evenly, and writes the cells as frames of one size.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { openImage } from "./image-limits.ts";
import { InputError, errorMessage } from "./errors.ts";
import { detectGrid, equalGrid, median, MIN_CONFIDENCE, type Box, type RgbImage } from "./grid.ts";
import { scanlines, storedPng } from "./png.ts";

export { detectGrid, equalGrid, MIN_CONFIDENCE, type Box, type GridDetection, type RgbImage } from "./grid.ts";

export type CropMode = "detect" | "equal";

export async function loadRgb(file: string, label = "sheet"): Promise<RgbImage> {
  try {
    const { data, info } = await openImage(file)
      .rotate() // honour EXIF orientation so boxes match what a reviewer sees
      .flatten({ background: "#ffffff" }) // transparent gutters read as white
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new InputError(`The ${label} is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
  }
}

export interface CropOptions {
  rows: number;
  cols: number;
  mode: CropMode;
}

export interface CroppedFrame {
  name: string;
  path: string;
  width: number;
  height: number;
}

export interface CropResult {
  boxes: Box[];
  confidence: number;
  /** Why confidence is below 1, for the reviewer (detect mode). */
  problem?: string;
  sheet: { width: number; height: number };
  frameSize: { width: number; height: number };
  frames: CroppedFrame[];
}

/** The box's pixels as a packed RGB buffer. */
function cutBox(img: RgbImage, box: Box): Buffer {
  const rowBytes = box.width * 3;
  const out = Buffer.allocUnsafe(rowBytes * box.height);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.y + y) * img.width + box.x) * 3;
    img.data.copy(out, y * rowBytes, from, from + rowBytes);
  }
  return out;
}

/**
 * Detects (or evenly splits) the grid and writes `frame-1..N.png` (row-major) into `outDir`, all of
 * the median cell size with a centred cover fit: no black bars reach the clips.
 */
export async function cropSheet(file: string, outDir: string, opts: CropOptions): Promise<CropResult> {
  const img = await loadRgb(file);
  const { rows, cols, mode } = opts;
  if (img.width < cols * 16 || img.height < rows * 16) {
    throw new InputError(`The sheet is ${img.width}×${img.height} px, too small for a ${rows}×${cols} grid`);
  }
  const detection = detectGrid(img, rows, cols);
  let boxes: Box[];
  if (mode === "detect") {
    if (detection.confidence < MIN_CONFIDENCE || detection.boxes.length !== rows * cols) {
      throw new InputError(
        `Could not find the ${rows}×${cols} grid with confidence (${detection.confidence.toFixed(2)}): ` +
          `${detection.problem ?? "the gutters are unclear"}. Choose an equal split or revise the contact sheet.`,
      );
    }
    boxes = detection.boxes;
  } else {
    boxes = equalGrid(img, rows, cols, detection.confidence >= 0.25);
  }

  const frameSize = {
    width: Math.round(median(boxes.map((b) => b.width))),
    height: Math.round(median(boxes.map((b) => b.height))),
  };
  const { width: fw, height: fh } = frameSize;
  const frames = await Promise.all(
    boxes.map(async (box, i) => {
      const name = `frame-${i + 1}`;
      const out = path.join(outDir, `${name}.png`);
      const dw = box.width - fw;
      const dh = box.height - fh;
      let lines: Buffer;
      if (dw >= 0 && dh >= 0 && dw <= 0.02 * box.width && dh <= 0.02 * box.height) {
        // At most 2 % larger: cut the centre at full sharpness rather than resample the whole frame.
        lines = scanlines(img.data, img.width, box.x + (dw >> 1), box.y + (dh >> 1), fw, fh);
      } else {
        // Cutting in JS is a few row copies; a sharp extract from the whole raw sheet costs ~10 ms each.
        const raw = await sharp(cutBox(img, box), { raw: { width: box.width, height: box.height, channels: 3 } })
          .resize(fw, fh, { fit: "cover", position: "centre" })
          .raw()
          .toBuffer();
        lines = scanlines(raw, fw, 0, 0, fw, fh);
      }
      // Stored PNG: photographic frames barely deflate anyway (~3% at level 1, ~25% at the default
      // 6), and this halves the job time. An 830 px frame is ~2 MB, far below Kling's 10 MB.
      await writeFile(out, storedPng(lines, fw, fh));
      return { name, path: out, ...frameSize };
    }),
  );
  return {
    boxes,
    confidence: detection.confidence,
    ...(mode === "detect" && detection.problem ? { problem: detection.problem } : {}),
    sheet: { width: img.width, height: img.height },
    frameSize,
    frames,
  };
}
