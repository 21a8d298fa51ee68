/**
 * The `pack` job (issue 20): the reel's channel formats, each reframed along a crop path that follows
 * the subject (track.ts, path.ts), all from one decode (video.ts); the stills each reframed around
 * their subject (still.ts). Reports per output what the reviewer needs to judge it: how much it was
 * upscaled, whether any of it is fill, and the crop (a box per frame for videos).
 */
import path from "node:path";
import { CHANNEL_MIME } from "../../src/domain/channels.ts";
import type { PackBox, PackOutputInfo } from "../../src/domain/media-jobs.ts";
import { InputError } from "../errors.ts";
import type { OutputFile } from "../io.ts";
import type { PackJob } from "../schema.ts";
import { planCropPath } from "./path.ts";
import { renderStill } from "./still.ts";
import { trackSubject } from "./track.ts";
import type { Box } from "./types.ts";
import { renderVideos, type VideoOutput } from "./video.ts";

export interface PackProduced {
  files: OutputFile[];
  extra: { pack: Record<string, PackOutputInfo> };
}

const packBox = (b: Box): PackBox => [Math.round(b.x), Math.round(b.y), Math.round(b.width), Math.round(b.height)];
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export async function runPack(job: PackJob, inputs: Map<string, string>, dir: string): Promise<PackProduced> {
  const { videos, stills, cuts, crf, preset } = job.params;
  const files: OutputFile[] = [];
  const pack: Record<string, PackOutputInfo> = {};

  if (videos.length) {
    const reel = inputs.get("reel");
    if (!reel) throw new InputError('a pack with videos needs the reel as the input named "reel"');
    // One track serves every format: only the box aspect and margin differ between their paths.
    const track = await trackSubject(reel, { cuts });
    const outputs: VideoOutput[] = videos.map((v) => ({
      name: v.output,
      file: path.join(dir, `pack-${v.output}.mp4`),
      width: v.width,
      height: v.height,
      path: planCropPath(track, { width: v.width, height: v.height, margin: v.margin }),
      fill: v.fill,
    }));
    const rendered = await renderVideos(reel, outputs, { crf, preset });
    rendered.forEach((r, i) => {
      const out = outputs[i]!;
      files.push({
        name: r.name,
        path: out.file,
        mime: CHANNEL_MIME.mp4,
        width: r.width,
        height: r.height,
        duration: r.duration,
        frames: r.frames,
        fps: r.fps,
      });
      pack[r.name] = { upscale: round3(out.path.upscale), filled: r.filled, path: r.boxes.map(packBox) };
    });
  }

  // One at a time: each is a full-size sharp pipeline, and the machine has few cores.
  for (const s of stills) {
    const input = inputs.get(s.input);
    if (!input) throw new InputError(`still "${s.output}" names the input "${s.input}", which the job does not have`);
    const file = path.join(dir, `pack-${s.output}.${s.format === "jpeg" ? "jpg" : s.format}`);
    const r = await renderStill(input, file, { width: s.width, height: s.height, margin: s.margin, fill: s.fill, format: s.format });
    files.push({ name: s.output, path: file, mime: CHANNEL_MIME[s.format], width: r.width, height: r.height });
    pack[s.output] = { upscale: round3(r.upscale), filled: r.filled, crop: r.crop };
  }
  return { files, extra: { pack } };
}
