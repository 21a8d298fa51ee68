/**
 * Upload checks on decoded headers, before anything is stored: JPEG, PNG and WebP only, complete
 * files (every segment or chunk inside the file and the end marker present), at most 40 megapixels
 * as the header declares (refused before anything decodes it), no markup hidden in metadata or
 * after the image (polyglots). What is stored has its metadata stripped: EXIF (GPS, camera serials),
 * XMP, IPTC, comments and text chunks, keeping only the colour profile and the EXIF orientation.
 *
 * Pure byte walking: no decoder runs in the Worker, so a hostile file costs a linear scan at most.
 */
export const MAX_IMAGE_PIXELS = 40_000_000;
export const MIN_IMAGE_SIDE = 64;

export type ImageMime = "image/png" | "image/jpeg" | "image/webp";

export type ImageCheck = { ok: true; mime: ImageMime; width: number; height: number; bytes: Uint8Array; stripped: string[] } | { ok: false; reason: string };

class Refused extends Error {}
const refuse = (reason: string): never => {
  throw new Refused(reason);
};

/** Tags a browser would act on; XMP's own XML (`<x:xmpmeta`, `<rdf:…`) does not match. */
const MARKUP = /<(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta|style|img|form|a\s|\?xml-stylesheet)|javascript:/i;

export function checkImage(input: Uint8Array): ImageCheck {
  try {
    if (input.length === 0) refuse("is empty");
    if (isPng(input)) return { ok: true, ...checkPng(input) };
    if (input.length >= 3 && input[0] === 0xff && input[1] === 0xd8 && input[2] === 0xff) return { ok: true, ...checkJpeg(input) };
    if (input.length >= 12 && ascii(input, 0, 4) === "RIFF" && ascii(input, 8, 12) === "WEBP") return { ok: true, ...checkWebp(input) };
    if (looksLikeText(input)) {
      const head = ascii(input, 0, Math.min(input.length, 512));
      if (/<svg/i.test(head)) refuse("is an SVG image; only PNG, JPEG and WebP are accepted (SVG can carry scripts)");
      if (MARKUP.test(head) || /^\s*</.test(head)) refuse("is HTML or XML, not a PNG, JPEG or WebP image");
      refuse("is text, not a PNG, JPEG or WebP image");
    }
    return refuse("is not a PNG, JPEG or WebP image");
  } catch (err) {
    if (err instanceof Refused) return { ok: false, reason: err.message };
    if (err instanceof RangeError) return { ok: false, reason: "is truncated or corrupt (a header points past the end of the file)" };
    throw err;
  }
}

function checkDimensions(width: number, height: number) {
  if (!width || !height) refuse("declares no width or height");
  const pixels = width * height;
  if (pixels > MAX_IMAGE_PIXELS) {
    refuse(`is ${width}×${height} (${(pixels / 1e6).toFixed(0)} megapixels); at most ${MAX_IMAGE_PIXELS / 1e6} megapixels are accepted`);
  }
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) refuse(`is smaller than ${MIN_IMAGE_SIDE}×${MIN_IMAGE_SIDE} pixels`);
}

function checkMarkup(bytes: Uint8Array, where: string) {
  if (bytes.length && MARKUP.test(latin1(bytes))) refuse(`carries HTML or script in its ${where} (a polyglot file); refused`);
}

// ---- PNG ----------------------------------------------------------------------------------------

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const isPng = (b: Uint8Array) => b.length >= 8 && PNG_SIG.every((v, i) => b[i] === v);
/** Chunks that carry pixels, palette, transparency, colour or animation; the rest is metadata. */
const PNG_KEEP = new Set(["IHDR", "PLTE", "IDAT", "IEND", "tRNS", "cHRM", "gAMA", "iCCP", "sBIT", "sRGB", "cICP", "bKGD", "pHYs", "acTL", "fcTL", "fdAT"]);

function checkPng(b: Uint8Array) {
  const dv = view(b);
  const keep: [number, number][] = [[0, 8]];
  const stripped: string[] = [];
  let i = 8;
  let width = 0;
  let height = 0;
  let sawIdat = false;
  let ended = false;
  while (i < b.length) {
    if (i + 12 > b.length) refuse("is truncated (a PNG chunk is cut off)");
    const len = dv.getUint32(i);
    const type = ascii(b, i + 4, i + 8);
    const end = i + 12 + len;
    if (end > b.length) refuse("is truncated (a PNG chunk is cut off)");
    if (i === 8) {
      if (type !== "IHDR" || len !== 13) refuse("is not a valid PNG (the first chunk is not IHDR)");
      width = dv.getUint32(i + 8);
      height = dv.getUint32(i + 12);
      checkDimensions(width, height); // from the header alone, before anything else
    }
    if (crc32(b.subarray(i + 4, i + 8 + len)) !== dv.getUint32(i + 8 + len)) refuse(`is corrupt (the PNG ${type} chunk fails its checksum)`);
    if (type === "IDAT") sawIdat = true;
    if (PNG_KEEP.has(type)) keep.push([i, end]);
    else {
      checkMarkup(b.subarray(i + 8, i + 8 + len), `${type} chunk`);
      stripped.push(type);
    }
    i = end;
    if (type === "IEND") {
      ended = true;
      break;
    }
  }
  if (!sawIdat) refuse("has no image data (no IDAT chunk)");
  if (!ended) refuse("is truncated (the PNG has no IEND chunk)");
  if (i < b.length) {
    checkMarkup(b.subarray(i), "bytes after the end of the image");
    stripped.push("trailing bytes");
  }
  return { mime: "image/png" as const, width, height, bytes: join(b, keep), stripped };
}

// ---- JPEG ---------------------------------------------------------------------------------------

function checkJpeg(b: Uint8Array) {
  const dv = view(b);
  const keep: [number, number][] = [[0, 2]];
  const stripped: string[] = [];
  let orientation = 0;
  let width = 0;
  let height = 0;
  let sawScan = false;
  let i = 2;
  let ended = false;
  let exifAt = -1;
  while (i < b.length) {
    if (b[i] !== 0xff) refuse("is corrupt (a JPEG marker is missing)");
    let m = b[i + 1];
    const start = i;
    while (m === 0xff) {
      i++;
      m = b[i + 1];
    } // fill bytes
    if (m === undefined) break;
    if (m === 0xd9) {
      keep.push([i, i + 2]);
      i += 2;
      ended = true;
      break;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      keep.push([start, i + 2]);
      i += 2;
      continue;
    }
    if (i + 4 > b.length) break;
    const len = dv.getUint16(i + 2);
    if (len < 2) refuse("is corrupt (a JPEG segment has an impossible length)");
    const segEnd = i + 2 + len;
    if (segEnd > b.length) refuse("is truncated (a JPEG segment is cut off)");
    const data = b.subarray(i + 4, segEnd);
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (data.length < 5) refuse("is corrupt (a JPEG frame header is too short)");
      height = (data[1] << 8) | data[2];
      width = (data[3] << 8) | data[4];
      checkDimensions(width, height);
    }
    if (m === 0xda) {
      if (!width) refuse("is corrupt (image data before the JPEG frame header)");
      // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
      let j = segEnd;
      while (j + 1 < b.length && !(b[j] === 0xff && b[j + 1] !== 0x00 && !(b[j + 1] >= 0xd0 && b[j + 1] <= 0xd7) && b[j + 1] !== 0xff)) j++;
      if (j + 1 >= b.length) refuse("is truncated (the JPEG image data has no end marker)");
      keep.push([start, j]);
      sawScan = true;
      i = j;
      continue;
    }
    const app = m >= 0xe0 && m <= 0xef;
    const keepSegment = !app && m !== 0xfe ? true : m === 0xe0 || m === 0xee || (m === 0xe2 && ascii(data, 0, 11) === "ICC_PROFILE");
    if (keepSegment) keep.push([start, segEnd]);
    else {
      checkMarkup(data, m === 0xfe ? "JPEG comment" : "JPEG metadata");
      if (m === 0xe1 && ascii(data, 0, 4) === "Exif") {
        orientation ||= exifOrientation(data.subarray(6));
        if (exifAt < 0) exifAt = keep.length;
        stripped.push("EXIF");
      } else stripped.push(m === 0xfe ? "comment" : m === 0xe1 ? "XMP" : m === 0xed ? "IPTC" : `APP${m - 0xe0}`);
    }
    i = segEnd;
  }
  if (!width) refuse("is corrupt (no JPEG frame header)");
  if (!sawScan) refuse("is truncated (the JPEG has no image data)");
  if (!ended) refuse("is truncated (the JPEG has no end-of-image marker)");
  if (i < b.length) {
    checkMarkup(b.subarray(i), "bytes after the end of the image");
    stripped.push("trailing bytes");
  }
  const parts = keep.map(([s, e]) => b.subarray(s, e));
  // Orientation is how the photo is meant to be seen; it is the one EXIF field kept.
  if (orientation > 1 && orientation <= 8) parts.splice(exifAt < 0 ? 1 : exifAt, 0, orientationExif(orientation));
  return { mime: "image/jpeg" as const, width, height, bytes: concat(parts), stripped };
}

/** EXIF orientation (tag 0x0112) from a TIFF block, or 0. */
function exifOrientation(tiff: Uint8Array): number {
  try {
    const dv = view(tiff);
    const le = tiff[0] === 0x49;
    const ifd = dv.getUint32(4, le);
    const n = dv.getUint16(ifd, le);
    for (let k = 0; k < n; k++) {
      const e = ifd + 2 + k * 12;
      if (dv.getUint16(e, le) === 0x0112) return dv.getUint16(e + 8, le);
    }
  } catch {
    /* unreadable EXIF: no orientation */
  }
  return 0;
}

/** A minimal APP1 EXIF segment holding only the orientation. */
function orientationExif(o: number): Uint8Array {
  const tiff = [0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0];
  const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
  const len = body.length + 2;
  return new Uint8Array([0xff, 0xe1, len >> 8, len & 0xff, ...body]);
}

// ---- WebP ---------------------------------------------------------------------------------------

function checkWebp(b: Uint8Array) {
  const dv = view(b);
  const riffEnd = 8 + dv.getUint32(4, true);
  if (riffEnd > b.length) refuse("is truncated (the WebP file is shorter than its header says)");
  const keep: Uint8Array[] = [];
  const stripped: string[] = [];
  let width = 0;
  let height = 0;
  let sawImage = false;
  let vp8x: Uint8Array | null = null;
  for (let i = 12; i < riffEnd; ) {
    if (i + 8 > riffEnd) refuse("is truncated (a WebP chunk is cut off)");
    const type = ascii(b, i, i + 4);
    const len = dv.getUint32(i + 4, true);
    const end = i + 8 + len + (len & 1);
    if (i + 8 + len > riffEnd) refuse("is truncated (a WebP chunk is cut off)");
    const data = b.subarray(i + 8, i + 8 + len);
    if (type === "VP8X" && len >= 10) {
      width = 1 + (data[4] | (data[5] << 8) | (data[6] << 16));
      height = 1 + (data[7] | (data[8] << 8) | (data[9] << 16));
      checkDimensions(width, height);
      vp8x = b.slice(i, Math.min(end, riffEnd));
      keep.push(vp8x);
    } else if (type === "VP8 " || type === "VP8L") {
      if (!width) {
        if (type === "VP8 ") {
          if (len < 10 || data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) refuse("is corrupt (bad VP8 frame header)");
          width = dv.getUint16(i + 14, true) & 0x3fff;
          height = dv.getUint16(i + 16, true) & 0x3fff;
        } else {
          if (len < 5 || data[0] !== 0x2f) refuse("is corrupt (bad VP8L header)");
          const bits = dv.getUint32(i + 9, true);
          width = (bits & 0x3fff) + 1;
          height = ((bits >> 14) & 0x3fff) + 1;
        }
        checkDimensions(width, height);
      }
      sawImage = true;
      keep.push(b.subarray(i, Math.min(end, riffEnd)));
    } else if (type === "EXIF" || type === "XMP ") {
      checkMarkup(data, `${type.trim()} chunk`);
      stripped.push(type.trim());
    } else {
      if (type === "ANMF") sawImage = true;
      keep.push(b.subarray(i, Math.min(end, riffEnd)));
    }
    i = end;
  }
  if (!width || !sawImage) refuse("is corrupt (no WebP image data)");
  if (riffEnd < b.length) {
    checkMarkup(b.subarray(riffEnd), "bytes after the end of the image");
    stripped.push("trailing bytes");
  }
  if (vp8x) vp8x[8] &= ~0x0c; // clear the EXIF and XMP flags of what was stripped
  const body = concat(keep);
  const head = new Uint8Array(12);
  head.set(b.subarray(0, 12));
  view(head).setUint32(4, 4 + body.length, true);
  return { mime: "image/webp" as const, width, height, bytes: concat([head, body]), stripped };
}

// ---- bytes --------------------------------------------------------------------------------------

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

function looksLikeText(b: Uint8Array): boolean {
  const head = b.subarray(0, 512);
  let printable = 0;
  for (const c of head) if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 0xc2) printable++;
  return printable / head.length > 0.95;
}

function join(b: Uint8Array, ranges: [number, number][]): Uint8Array {
  return concat(ranges.map(([s, e]) => b.subarray(s, e)));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
