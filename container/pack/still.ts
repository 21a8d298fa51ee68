/**
 * A still of a channel pack (issue 20): the subject found (subject.ts) on a small copy, the crop
 * planned (path.ts, planStillCrop), then cut and scaled to the exact output size. Where the crop
 * reaches outside the source the rest is filled: `extend` continues the edges (each edge pixel's
 * colour stretched outward and blurred, so a backdrop's gradient goes on without streaks), `blur` puts
 * the source, scaled to cover the output and blurred, behind it.
 */
import sharp, { type Sharp } from "sharp";
import type { FillMode } from "../../src/domain/channels.ts";
import type { PackBox } from "../../src/domain/media-jobs.ts";
import { InputError, errorMessage } from "../errors.ts";
import { MAX_INPUT_PIXELS, openImage } from "../image-limits.ts";
import { planStillCrop } from "./path.ts";
import { findSubject } from "./subject.ts";
import { ANALYSIS_SIZE } from "./track.ts";

export interface StillOptions {
  width: number;
  height: number;
  margin: number;
  fill: FillMode;
  format: "jpeg" | "png" | "webp";
}

export interface StillResult {
  width: number;
  height: number;
  crop: PackBox;
  upscale: number;
  filled: boolean;
}

/** The source decoded once (orientation applied, transparency on white) as raw RGB. */
async function decode(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  try {
    const { data, info } = await openImage(file).rotate().flatten({ background: "#ffffff" }).toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new InputError(`The still is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
  }
}

export async function renderStill(inputFile: string, outFile: string, opts: StillOptions): Promise<StillResult> {
  const src = await decode(inputFile);
  const { width: W, height: H } = src;
  const fromRaw = () => openSharpRaw(src);
  const scale = ANALYSIS_SIZE / Math.max(W, H);
  const aw = Math.max(8, Math.round(W * scale));
  const ah = Math.max(8, Math.round(H * scale));
  const small = await fromRaw().resize(aw, ah, { fit: "fill" }).raw().toBuffer();
  const found = findSubject({ data: small, width: aw, height: ah });
  const sx = W / aw;
  const sy = H / ah;
  const subject = found && { x: found.x * sx, y: found.y * sy, width: found.width * sx, height: found.height * sy };
  const plan = planStillCrop(subject, { width: W, height: H }, { width: opts.width, height: opts.height, margin: opts.margin });

  // Whole source pixels: the crop rounded, the output scale from it.
  const cx = Math.round(plan.box.x);
  const cy = Math.round(plan.box.y);
  const cw = Math.max(1, Math.round(plan.box.width));
  const ch = Math.max(1, Math.round(plan.box.height));
  const ix = Math.max(0, cx);
  const iy = Math.max(0, cy);
  const iw = Math.min(W, cx + cw) - ix;
  const ih = Math.min(H, cy + ch) - iy;
  let out: Sharp;
  if (ix === cx && iy === cy && iw === cw && ih === ch) {
    out = fromRaw().extract({ left: cx, top: cy, width: cw, height: ch }).resize(opts.width, opts.height, { fit: "fill" });
  } else {
    // The source part of the crop, at output scale, placed where it falls in the output.
    const kx = opts.width / cw;
    const ky = opts.height / ch;
    const left = Math.min(opts.width - 1, Math.round((ix - cx) * kx));
    const top = Math.min(opts.height - 1, Math.round((iy - cy) * ky));
    const pw = Math.max(1, Math.min(opts.width - left, Math.round(iw * kx)));
    const ph = Math.max(1, Math.min(opts.height - top, Math.round(ih * ky)));
    const part = await fromRaw().extract({ left: ix, top: iy, width: iw, height: ih }).resize(pw, ph, { fit: "fill" }).raw().toBuffer();
    const sigma = Math.max(8, 0.02 * Math.max(opts.width, opts.height));
    const partImg = () => openSharpRaw({ data: part, width: pw, height: ph });
    const behind =
      opts.fill === "extend"
        ? partImg().extend({ left, top, right: opts.width - left - pw, bottom: opts.height - top - ph, extendWith: "copy" })
        : fromRaw().resize(opts.width, opts.height, { fit: "cover" }).modulate({ brightness: 0.92 });
    const background = await behind.blur(sigma).raw().toBuffer();
    out = openSharpRaw({ data: background, width: opts.width, height: opts.height }).composite([
      { input: part, raw: { width: pw, height: ph, channels: 3 }, left, top },
    ]);
  }
  const encoded =
    opts.format === "png" ? out.png() : opts.format === "webp" ? out.webp({ quality: 90 }) : out.jpeg({ quality: 92, chromaSubsampling: "4:4:4" });
  const info = await encoded.toFile(outFile);
  return { width: info.width, height: info.height, crop: [cx, cy, cw, ch], upscale: plan.upscale, filled: plan.filled };
}

function openSharpRaw(img: { data: Buffer; width: number; height: number }): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 }, limitInputPixels: MAX_INPUT_PIXELS });
}
