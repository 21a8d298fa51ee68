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
import type { RgbImage } from "./grid/index.ts";
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

export interface DecodeOptions {
  /**
   * Called with each band of rows [y0, y1) as it lands, while libvips is still decoding the rest:
   * work that reads the pixels row by row (the line statistics of grid detection) overlaps the decode.
   */
  onRows?: (img: RgbImage, y0: number, y1: number) => void;
}

/**
 * Decodes `file` and calls `use` with its pixels; the memory goes back to the pool when `use` has
 * settled, so nothing may keep `img.data` (or a pipeline reading it) beyond that.
 */
export async function withRgb<T>(file: string, label: string, use: (img: RgbImage) => T | Promise<T>, options: DecodeOptions = {}): Promise<T> {
  const tmp = path.join(tmpdir(), `atelier-${randomBytes(8).toString("hex")}.v`);
  let img: RgbImage;
  try {
    const decoded = openImage(file)
      .rotate() // honour EXIF orientation so boxes match what a reviewer sees
      .flatten({ background: "#ffffff" }) // transparent gutters read as white
      .removeAlpha()
      .toColourspace("srgb")
      .toFile(tmp)
      .then(
        () => undefined,
        (err: unknown) => {
          throw new InputError(`The ${label} is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
        },
      );
    // Errors reading our own temporary file back are not the input's fault: they stay retryable.
    img = await readV(tmp, decoded, options.onRows);
  } finally {
    await unlink(tmp).catch(() => {});
  }
  try {
    return await use(img);
  } finally {
    give(img.data);
  }
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 2));
/** A decode that has written nothing for this long has stopped: fail rather than wait forever. */
const STALL_MS = 60_000;

/**
 * Reads the `.v` file of 8-bit RGB that libvips is writing (`decoded` settles when it is done) into a
 * buffer from the pool. libvips writes the header first, then the pixels in order, so each band of
 * complete rows goes to `onRows` as it lands; what is read is checked against the finished file.
 */
async function readV(file: string, decoded: Promise<void>, onRows?: DecodeOptions["onRows"]): Promise<RgbImage> {
  let finished = false;
  void decoded.then(
    () => (finished = true),
    () => (finished = true),
  );
  // Until libvips has written more, wait (or fail as the decode did, or if it has stalled).
  let lastProgress = Date.now();
  const waitForMore = async () => {
    if (!finished) {
      if (Date.now() - lastProgress > STALL_MS) throw new Error(`the decoder wrote nothing for ${STALL_MS / 1000} s`);
      return pause();
    }
    await decoded;
    throw new Error("the decoded image is truncated");
  };
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  while (!fh) {
    try {
      fh = await open(file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await waitForMore();
    }
  }
  let buffer: Buffer | undefined;
  try {
    const head = Buffer.alloc(V_HEADER);
    for (let at = 0; at < V_HEADER; ) {
      const { bytesRead } = await fh.read(head, at, V_HEADER - at, at);
      if (bytesRead) {
        at += bytesRead;
        lastProgress = Date.now();
      } else await waitForMore();
    }
    const [magic, width, height, bands, , format, coding] = Array.from({ length: 7 }, (_, k) => head.readInt32LE(4 * k)) as number[];
    if (magic! >>> 0 !== V_MAGIC || bands !== 3 || format !== 0 || coding !== 0) {
      await decoded;
      throw new Error(`unexpected decoded layout (${bands} bands, format ${format}, coding ${coding})`);
    }
    const rowBytes = width! * 3;
    const size = rowBytes * height!;
    buffer = take(size);
    const img = { data: buffer.subarray(0, size), width: width!, height: height! };
    let rows = 0;
    for (let at = 0; at < size; ) {
      const { bytesRead } = await fh.read(buffer, at, size - at, V_HEADER + at);
      if (!bytesRead) {
        await waitForMore();
        continue;
      }
      at += bytesRead;
      lastProgress = Date.now();
      const complete = Math.floor(at / rowBytes);
      if (onRows && complete > rows) onRows(img, rows, complete);
      rows = complete;
    }
    await decoded;
    const check = Buffer.alloc(V_HEADER);
    await fh.read(check, 0, V_HEADER, 0);
    if (!check.equals(head)) throw new Error("the decoded image changed while it was read");
    return img;
  } catch (err) {
    if (buffer) give(buffer);
    throw err;
  } finally {
    await fh.close();
  }
}

/** The decoded pixels in memory of their own, for callers that keep them. */
export function loadRgb(file: string, label = "sheet"): Promise<RgbImage> {
  return withRgb(file, label, (img) => ({ ...img, data: Buffer.from(img.data) }));
}
