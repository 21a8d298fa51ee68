/**
 * An image decoded to packed 8-bit sRGB pixels (EXIF orientation applied, transparency on white), in
 * memory this module reuses from one image to the next.
 *
 * Why not sharp's `toBuffer()`: it hands back the pixels in memory allocated afresh for each image,
 * and on the machines this runs on (virtual, 2 cores) the first touch of fresh memory costs 15-20 µs
 * a 4 KB page: about 50 ms for a 2528×1696 sheet, as long as decoding the PNG and more than twice a
 * JPEG (measured with `process.resourceUsage().minorPageFault`). libvips' own `.v` format is a 64-byte
 * header followed by the raw pixels, so libvips writes the decoded image there (streaming through
 * small buffers of its own) and we read it into a buffer from the pool, whose pages are mapped already.
 */
import { randomBytes } from "node:crypto";
import { open, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { InputError, errorMessage } from "./errors.ts";
import type { RgbImage } from "./grid.ts";
import { openImage } from "./image-limits.ts";

/** Decoded sheets kept for reuse: one per crop running at once; more are allocated and dropped. */
const POOL_SIZE = 2;
const pool: Buffer[] = [];

/** libvips' `.v` header: magic, width, height, bands, bits per band, band format (0 = uchar), coding (0 = none). */
const V_HEADER = 64;
const V_MAGIC = 0x08f2a6b6;

function take(size: number): Buffer {
  const i = pool.findIndex((b) => b.length >= size);
  return i >= 0 ? pool.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(size);
}

/** Back to the pool: the whole buffer `data` was cut from. */
function give(data: Buffer): void {
  if (pool.length < POOL_SIZE) pool.push(Buffer.from(data.buffer, data.byteOffset, data.buffer.byteLength - data.byteOffset));
}

/**
 * Decodes `file` and calls `use` with its pixels; the memory goes back to the pool when `use` has
 * settled, so nothing may keep `img.data` (or a pipeline reading it) beyond that.
 */
export async function withRgb<T>(file: string, label: string, use: (img: RgbImage) => T | Promise<T>): Promise<T> {
  const tmp = path.join(tmpdir(), `atelier-${randomBytes(8).toString("hex")}.v`);
  let img: RgbImage;
  try {
    try {
      await openImage(file)
        .rotate() // honour EXIF orientation so boxes match what a reviewer sees
        .flatten({ background: "#ffffff" }) // transparent gutters read as white
        .removeAlpha()
        .toColourspace("srgb")
        .toFile(tmp);
    } catch (err) {
      throw new InputError(`The ${label} is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
    }
    // Reading our own temporary file back is not the input's fault: its errors stay retryable.
    img = await readV(tmp);
  } finally {
    await unlink(tmp).catch(() => {});
  }
  try {
    return await use(img);
  } finally {
    give(img.data);
  }
}

/** The pixels of a `.v` file of 8-bit RGB, read into a buffer from the pool. */
async function readV(file: string): Promise<RgbImage> {
  const fh = await open(file, "r");
  try {
    const head = Buffer.alloc(V_HEADER);
    await fh.read(head, 0, V_HEADER, 0);
    const [magic, width, height, bands, , format, coding] = Array.from({ length: 7 }, (_, k) => head.readInt32LE(4 * k)) as number[];
    if (magic! >>> 0 !== V_MAGIC || bands !== 3 || format !== 0 || coding !== 0) {
      throw new Error(`unexpected decoded layout (${bands} bands, format ${format}, coding ${coding})`);
    }
    const size = width! * height! * 3;
    const buffer = take(size);
    try {
      for (let at = 0; at < size; ) {
        const { bytesRead } = await fh.read(buffer, at, size - at, V_HEADER + at);
        if (bytesRead === 0) throw new Error("the decoded image is truncated");
        at += bytesRead;
      }
    } catch (err) {
      give(buffer);
      throw err;
    }
    return { data: buffer.subarray(0, size), width: width!, height: height! };
  } finally {
    await fh.close();
  }
}

/** The decoded pixels in memory of their own, for callers that keep them. */
export function loadRgb(file: string, label = "sheet"): Promise<RgbImage> {
  return withRgb(file, label, (img) => ({ ...img, data: Buffer.from(img.data) }));
}
