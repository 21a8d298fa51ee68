/**
 * Baseline (b) for bench:stitch: the predecessor's algorithm, reproduced faithfully
 * (../shared/reference/predecessor.md §4). One ffprobe per clip, then one FFmpeg process per output
 * frame that seeks the clip, scales to the target size and writes a PNG, sequentially, then one
 * encode of the PNG sequence (without the predecessor's conflicting `-b:v 25M`, so that all three
 * bench runs share the same encoder settings). Usage: predecessor-stitch.ts <out.mp4> <clip>…
 * Env: CLIP_SECONDS, FPS, CRF, PRESET.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { toolPath } from "../../common/ffmpeg.ts";
import { resolveEasing } from "../../common/easing.ts";

const [out, ...clips] = process.argv.slice(2);
const clipSeconds = Number(process.env.CLIP_SECONDS ?? 1.5);
const fps = Number(process.env.FPS ?? 60);
const ease = resolveEasing("dramaticSwoop");
const tmp = mkdtempSync(path.join(tmpdir(), "pred-stitch-"));
const ffmpeg = toolPath("ffmpeg");
const ffprobe = toolPath("ffprobe");

function run(bin: string, args: string[]) {
  const r = spawnSync(bin, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")}: ${r.stderr.slice(-500)}`);
  return r.stdout;
}

type Stream = { codec_type: string; width: number; height: number; r_frame_rate?: string };
const metas = clips.map((clip) => JSON.parse(run(ffprobe, ["-v", "quiet", "-print_format", "json", "-show_format", "-show_streams", clip])));
const videos: Stream[] = metas.map((m) => m.streams.find((s: Stream) => s.codec_type === "video"));
// Target size: the max W×H over all clips; scale+pad when mixed, else a plain scale.
const W = Math.max(...videos.map((v) => v.width));
const H = Math.max(...videos.map((v) => v.height));
const mixed = videos.some((v) => v.width !== W || v.height !== H);
const scale = mixed ? `scale=${W}:${H}:force_original_aspect_ratio=decrease,pad=${W}:${H}:(ow-iw)/2:(oh-ih)/2:black,setsar=1` : `scale=${W}:${H}`;

let frame = 0;
for (const [c, clip] of clips.entries()) {
  const meta = metas[c];
  const v = videos[c]!;
  const [n, d] = String(v.r_frame_rate ?? "24/1")
    .split("/")
    .map(Number);
  const inputFps = n / d || 24;
  const duration = Number(meta.format.duration);
  const N = Math.floor(clipSeconds * fps);
  for (let i = 0; i < N; i++) {
    const p = N === 1 ? 0 : i / (N - 1);
    const t = Math.min(Math.max(ease(p) * duration, 0), duration - 1 / inputFps);
    frame++;
    const file = path.join(tmp, `frame_${String(frame).padStart(6, "0")}.png`);
    run(ffmpeg, ["-y", "-v", "error", "-ss", t.toFixed(6), "-i", clip, "-frames:v", "1", "-vf", scale, "-q:v", "1", file]);
    // A seek near the end can yield no frame (the predecessor's bug); repeat the previous one so the
    // baseline still encodes every frame and its time is comparable.
    if (!existsSync(file) && frame > 1) copyFileSync(path.join(tmp, `frame_${String(frame - 1).padStart(6, "0")}.png`), file);
  }
}
run(ffmpeg, [
  "-y",
  "-v",
  "error",
  "-framerate",
  String(fps),
  "-i",
  path.join(tmp, "frame_%06d.png"),
  "-c:v",
  "libx264",
  "-preset",
  process.env.PRESET ?? "slow",
  "-crf",
  process.env.CRF ?? "18",
  "-pix_fmt",
  "yuv420p",
  "-movflags",
  "+faststart",
  out,
]);
rmSync(tmp, { recursive: true, force: true });
console.log(JSON.stringify({ frames: frame }));
