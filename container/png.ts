/**
 * A stored (uncompressed) 8-bit RGB PNG, written directly. Frames are photographs that barely deflate
 * (~3 % at level 1), so the crop writes them stored; doing it here is a couple of memory copies and
 * two checksums, where a sharp pipeline per frame costs its own decode of the raw buffer, thread
 * scheduling and a libpng/libspng pass. Readers see an ordinary PNG (zlib stream, CRCs, IEND).
 */
import { crc32, deflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4))) >>> 0, 0);
  return [head, data, tail];
}

/**
 * PNG scanlines (filter byte 0, then the row) for the `width`×`height` box at (x, y) of a packed
 * RGB image `width0` px wide: the cut and the PNG row layout in one copy.
 */
export function scanlines(data: Buffer, width0: number, x: number, y: number, width: number, height: number): Buffer {
  const rowBytes = width * 3;
  const out = Buffer.allocUnsafe((rowBytes + 1) * height);
  for (let r = 0; r < height; r++) {
    const at = r * (rowBytes + 1);
    out[at] = 0;
    const from = ((y + r) * width0 + x) * 3;
    data.copy(out, at + 1, from, from + rowBytes);
  }
  return out;
}

/** The PNG file for `lines` (from `scanlines`) of a `width`×`height` RGB image. */
export function storedPng(lines: Buffer, width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  // compression, filter method and interlace all 0
  return Buffer.concat([SIGNATURE, ...chunk("IHDR", ihdr), ...chunk("IDAT", deflateSync(lines, { level: 0 })), ...chunk("IEND", Buffer.alloc(0))]);
}
