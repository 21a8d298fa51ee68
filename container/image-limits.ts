/**
 * Every image the service decodes goes through sharp with this pixel limit, so a file whose header
 * claims a huge size (a decompression bomb) is refused before its pixels are allocated. The Worker
 * refuses such uploads already (src/storage/image-check.ts); this covers provider outputs and any
 * path around it. Same number as the upload limit.
 */
import sharp from "sharp";

export const MAX_INPUT_PIXELS = 40_000_000;

export function openImage(file: string | Buffer): ReturnType<typeof sharp> {
  return sharp(file, { limitInputPixels: MAX_INPUT_PIXELS });
}
