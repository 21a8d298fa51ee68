/**
 * Reads type and dimensions from file headers, without decoding: enough to validate uploads by their
 * magic bytes (never by the client's declared type) and to record width, height and duration.
 */
export interface MediaInfo {
  mime: "image/png" | "image/jpeg" | "image/webp" | "video/mp4" | "application/json";
  width?: number;
  height?: number;
  duration?: number;
}

export function sniffImage(b: Uint8Array): MediaInfo | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // PNG: signature, then IHDR width/height.
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return { mime: "image/png", width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  // JPEG: walk the markers to the first start-of-frame.
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      if (marker === 0xff) {
        i++;
        continue;
      }
      const len = dv.getUint16(i + 2);
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof) return { mime: "image/jpeg", height: dv.getUint16(i + 5), width: dv.getUint16(i + 7) };
      i += 2 + len;
    }
    return null;
  }
  // WebP: RIFF....WEBP with a VP8, VP8L or VP8X chunk.
  if (b.length >= 30 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") {
    const chunk = ascii(b, 12, 16);
    if (chunk === "VP8 ") return { mime: "image/webp", width: dv.getUint16(26, true) & 0x3fff, height: dv.getUint16(28, true) & 0x3fff };
    if (chunk === "VP8L") {
      const bits = dv.getUint32(21, true);
      return { mime: "image/webp", width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    if (chunk === "VP8X") {
      const w = 1 + (b[24] | (b[25] << 8) | (b[26] << 16));
      const h = 1 + (b[27] | (b[28] << 8) | (b[29] << 16));
      return { mime: "image/webp", width: w, height: h };
    }
  }
  return null;
}

/** MP4: duration from mvhd, size from the first video track's tkhd. */
export function sniffMp4(b: Uint8Array): MediaInfo | null {
  if (b.length < 12 || ascii(b, 4, 8) !== "ftyp") return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const info: MediaInfo = { mime: "video/mp4" };
  const walk = (start: number, end: number) => {
    let i = start;
    while (i + 8 <= end) {
      let size = dv.getUint32(i);
      const type = ascii(b, i + 4, i + 8);
      let header = 8;
      if (size === 1 && i + 16 <= end) {
        size = Number(dv.getBigUint64(i + 8));
        header = 16;
      }
      if (size === 0) size = end - i;
      if (size < header || i + size > end) return;
      if (type === "moov" || type === "trak") walk(i + header, i + size);
      else if (type === "mvhd") {
        const v = b[i + header];
        const o = i + header + (v === 1 ? 20 : 12);
        const timescale = dv.getUint32(o);
        const duration = v === 1 ? Number(dv.getBigUint64(o + 4)) : dv.getUint32(o + 4);
        if (timescale) info.duration = duration / timescale;
      } else if (type === "tkhd" && info.width === undefined) {
        const v = b[i + header];
        const o = i + header + (v === 1 ? 92 : 80);
        const w = dv.getUint32(o) / 65536;
        const h = dv.getUint32(o + 4) / 65536;
        if (w > 0 && h > 0) {
          info.width = Math.round(w);
          info.height = Math.round(h);
        }
      }
      i += size;
    }
  };
  walk(0, b.length);
  return info;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}
