/** The media service refuses images over 40 megapixels before decoding them (sharp's pixel limit). */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { loadRgb } from "../../../container/crop.ts";
import { MAX_INPUT_PIXELS } from "../../../container/image-limits.ts";
import { reframeImage } from "../../../container/reframe.ts";
import { tempDir } from "./helpers.ts";

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG whose header says w×h over one row of real data: decoding it would allocate w×h×3 bytes. */
function pngClaiming(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.alloc(w * 3 + 1))), chunk("IEND", Buffer.alloc(0))]);
}

describe("sharp's pixel limit in the media service", () => {
  it("is the upload limit, 40 megapixels", () => expect(MAX_INPUT_PIXELS).toBe(40_000_000));

  it("crop and reframe refuse a 20000×20000 header with a reason, before decoding", async () => {
    const dir = tempDir("pixel-limit");
    const file = path.join(dir, "bomb.png");
    writeFileSync(file, pngClaiming(20000, 20000));
    const before = process.memoryUsage().rss;
    await expect(loadRgb(file)).rejects.toThrow(/pixel limit/i);
    await expect(reframeImage(file, path.join(dir, "out.png"), { aspectRatio: "1:1", method: "attention" }, "frame-1")).rejects.toThrow(
      /pixel limit|not a readable image/i,
    );
    // 20000×20000×3 would be 1.2 GB; refusing from the header keeps the process small.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });
});
