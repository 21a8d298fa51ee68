/**
 * Channel stills with real sharp: the exact pixel size and format whatever the fill, and the subject
 * whole in the output, even next to the source's edge or wider than any crop of the aspect (then the
 * rest is filled: the backdrop continued, or the blurred picture behind).
 */
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { renderStill } from "../../../../container/pack/still.ts";
import { writeSceneStill, type SceneBox, type Shot } from "../../../../common/pack-scenes.ts";
import { tempDir } from "../helpers.ts";

const dir = tempDir("pack-still");
const SRC = { width: 1600, height: 900 };
const CREAM = { top: [236, 230, 220], bottom: [214, 206, 194] } as Shot["backdrop"];
// Near the left edge; the wide one (arms out) is wider than a 3:4 crop of the source can hold.
const NEAR: Omit<Shot, "frames"> = { backdrop: CREAM, garment: [150, 40, 50], pose: () => ({ cx: 0.1, cy: 0.5, h: 0.75 }) };
const WIDE: Omit<Shot, "frames"> = { backdrop: CREAM, garment: [30, 90, 150], breadth: 2, pose: () => ({ cx: 0.25, cy: 0.5, h: 0.85 }) };

const files: Record<string, { file: string; box: SceneBox }> = {};
beforeAll(async () => {
  for (const [name, shot] of Object.entries({ near: NEAR, wide: WIDE })) {
    const file = path.join(dir, `${name}.png`);
    files[name] = { file, box: (await writeSceneStill(SRC.width, SRC.height, shot, file))! };
  }
});

/** Mean absolute difference between the source's box and where the crop put it in the output. */
async function subjectDiff(src: string, out: string, box: SceneBox, crop: [number, number, number, number], size: { width: number; height: number }) {
  const [cx, cy, cw, ch] = crop;
  const kx = size.width / cw;
  const ky = size.height / ch;
  const at = {
    left: Math.round((box.x - cx) * kx),
    top: Math.round((box.y - cy) * ky),
    width: Math.round(box.width * kx),
    height: Math.round(box.height * ky),
  };
  expect(at.left).toBeGreaterThanOrEqual(0);
  expect(at.top).toBeGreaterThanOrEqual(0);
  expect(at.left + at.width).toBeLessThanOrEqual(size.width);
  expect(at.top + at.height).toBeLessThanOrEqual(size.height);
  const a = await sharp(src)
    .extract({ left: box.x, top: box.y, width: box.width, height: box.height })
    .resize(at.width, at.height, { fit: "fill" })
    .removeAlpha()
    .raw()
    .toBuffer();
  const b = await sharp(out).extract(at).removeAlpha().raw().toBuffer();
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!);
  return d / a.length;
}

describe("renderStill", () => {
  const cases = [
    { source: "near", fill: "extend", format: "png", width: 1500, height: 2000, filled: false },
    { source: "wide", fill: "extend", format: "jpeg", width: 1500, height: 2000, filled: true },
    { source: "wide", fill: "blur", format: "webp", width: 1600, height: 2000, filled: true },
  ] as const;
  for (const c of cases) {
    it(`${c.source} subject, ${c.fill} fill, ${c.format}: exact size and format, the subject whole`, async () => {
      const { file, box } = files[c.source]!;
      const out = path.join(dir, `${c.source}-${c.fill}.${c.format}`);
      const res = await renderStill(file, out, { width: c.width, height: c.height, margin: 0.04, fill: c.fill, format: c.format });
      const meta = await sharp(out).metadata();
      expect({ width: meta.width, height: meta.height, format: meta.format }).toEqual({ width: c.width, height: c.height, format: c.format });
      expect(res).toMatchObject({ width: c.width, height: c.height, filled: c.filled });
      expect(await subjectDiff(file, out, box, res.crop, c)).toBeLessThan(6);
      if (c.filled) {
        // The fill above the picture is the backdrop's colour, not black or a smear of the subject.
        const [, cy, , ch] = res.crop;
        expect(cy).toBeLessThan(0);
        const band = Math.floor((-cy / ch) * c.height * 0.8);
        const px = await sharp(out)
          .extract({ left: Math.round(c.width * 0.62), top: 0, width: Math.round(c.width / 3), height: band }) // beside the figure (it is on the left)
          .removeAlpha()
          .raw()
          .toBuffer();
        for (let k = 0; k < 3; k++) {
          let sum = 0;
          for (let i = k; i < px.length; i += 3) sum += px[i]!;
          expect(Math.abs(sum / (px.length / 3) - CREAM.top[k]!)).toBeLessThan(c.fill === "extend" ? 12 : 40);
        }
      }
    });
  }
});
