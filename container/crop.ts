/**
 * The crop job (SPEC stage 3): decodes a generated contact sheet, finds its grid (grid/) or splits
 * it evenly, and writes the cells as frames of one size.
 */
import path from "node:path";
import sharp from "sharp";
import { InputError } from "./errors.ts";
import { detectGrid, equalGrid, LineStatsBuilder, median, MIN_CONFIDENCE, type Box, type GridDetection, type LineStats, type RgbImage } from "./grid/index.ts";
import { withRgb, type DecodeOptions } from "./pixels.ts";

export { detectGrid, equalGrid, MIN_CONFIDENCE, type Box, type GridDetection, type RgbImage } from "./grid/index.ts";
export { loadRgb } from "./pixels.ts";

export type CropMode = "detect" | "equal";

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

/**
 * Decodes the sheet and calls `use` with it and its line statistics, taken band by band while the
 * rest of the sheet was still being decoded (on a 2-core machine the statistics cost nothing then).
 */
function withSheet<T>(file: string, use: (img: RgbImage, stats: LineStats | undefined) => T | Promise<T>): Promise<T> {
  let stats: LineStatsBuilder | undefined;
  const onRows: DecodeOptions["onRows"] = (img, y0, y1) => {
    stats ??= new LineStatsBuilder(img.width, img.height);
    stats.add(img.data, y0, y1);
  };
  return withRgb(file, "sheet", (img) => use(img, stats?.stats), { onRows });
}

/** Decodes the sheet and finds its grid, as the crop does before it writes anything. */
export function detectSheet(file: string, rows: number, cols: number): Promise<GridDetection> {
  return withSheet(file, (img, stats) => detectGrid(img, rows, cols, stats));
}

/**
 * The size every frame is normalised to: the smallest box's, so that no frame is scaled up. An
 * upscaled frame is softer than its neighbours (interpolation adds no detail), and libvips upscales
 * through an affine interpolator that costs ~3× a reduction (32 ms against 11 ms an 800 px frame
 * here); each box is instead centre-cut or scaled down to cover it. Cells of a sheet are drawn one
 * size, so this is a few pixels under the median; a box more than 5 % under the median is an
 * exception (a cell drawn smaller, or a box cut short) and is scaled up rather than shrinking all.
 */
function frameSizeOf(boxes: Box[]): { width: number; height: number } {
  const size = (lengths: number[]) => Math.max(Math.min(...lengths), Math.round(0.95 * median(lengths)));
  return { width: size(boxes.map((b) => b.width)), height: size(boxes.map((b) => b.height)) };
}

/**
 * Writes one frame: the box cut from the sheet, scaled to cover `fw`×`fh` and centred. libvips
 * reads the decoded sheet in place and streams the PNG to the file, so no frame-sized buffer is
 * allocated here. A box at most 2 % larger than the frame is centre-cut instead, at full sharpness.
 * PNG compression level 0 (stored): frames are photographs that barely deflate (~3 % at level 1,
 * ~25 % at the default 6) and this is several times faster; an 830 px frame is ~2 MB, far below
 * Kling's 10 MB. They are intermediate inputs to the video provider, and stay lossless.
 */
function writeFrame(img: RgbImage, box: Box, fw: number, fh: number, out: string): Promise<unknown> {
  const dw = box.width - fw;
  const dh = box.height - fh;
  let frame = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (dw >= 0 && dh >= 0 && dw <= 0.02 * box.width && dh <= 0.02 * box.height) {
    frame = frame.extract({ left: box.x + (dw >> 1), top: box.y + (dh >> 1), width: fw, height: fh });
  } else {
    frame = frame.extract({ left: box.x, top: box.y, width: box.width, height: box.height }).resize(fw, fh, { fit: "cover", position: "centre" });
  }
  return frame.png({ compressionLevel: 0, adaptiveFiltering: false }).toFile(out);
}

/**
 * Detects (or evenly splits) the grid and writes `frame-1..N.png` (row-major) into `outDir`, all of
 * one size (frameSizeOf) with a centred cover fit: no black bars reach the clips.
 */
export function cropSheet(file: string, outDir: string, opts: CropOptions): Promise<CropResult> {
  return withSheet(file, async (img, stats) => {
    const { rows, cols, mode } = opts;
    if (img.width < cols * 16 || img.height < rows * 16) {
      throw new InputError(`The sheet is ${img.width}×${img.height} px, too small for a ${rows}×${cols} grid`);
    }
    const detection = detectGrid(img, rows, cols, stats);
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

    const frameSize = frameSizeOf(boxes);
    // All at once: libvips runs them on the thread pool, on every core. Every one settles before
    // the sheet's memory goes back to the pool, even when one fails: they all read it.
    const written = await Promise.allSettled(
      boxes.map(async (box, i) => {
        const name = `frame-${i + 1}`;
        const out = path.join(outDir, `${name}.png`);
        await writeFrame(img, box, frameSize.width, frameSize.height, out);
        return { name, path: out, ...frameSize };
      }),
    );
    const failed = written.find((w) => w.status === "rejected");
    if (failed) throw failed.reason;
    const frames = written.map((w) => (w as PromiseFulfilledResult<CroppedFrame>).value);
    return {
      boxes,
      confidence: detection.confidence,
      ...(mode === "detect" && detection.problem ? { problem: detection.problem } : {}),
      sheet: { width: img.width, height: img.height },
      frameSize,
      frames,
    };
  });
}
