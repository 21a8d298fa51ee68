/**
 * `npm run bench:stitch`: five 5 s clips at 1176×1756, 24 fps (cut from the fixture reels when
 * present, else synthetic at that size), 1.5 s per clip at 60 fps with dramaticSwoop, identical
 * encoder settings (libx264, preset slow, crf 18), measured in one run:
 *   (a) our stitch, (b) the predecessor's per-frame algorithm, (c) the floor: one FFmpeg transcode
 *   of the same clips to the same number of frames.
 * Prints times, peak memory and the ratios a/b and a/c. BENCH_SKIP_BASELINE=1 skips (b).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { toolPath } from "../../container/ffmpeg.ts";
import { measure } from "./measure.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const REELS = path.resolve(ROOT, "../shared/fixtures/seed-shoot/reels");
const W = 1176;
const H = 1756;
const CLIPS = 5;
const OUT_FRAMES = CLIPS * Math.round(1.5 * 60);

const ffmpeg = toolPath("ffmpeg");
const tmp = mkdtempSync(path.join(tmpdir(), "bench-stitch-"));
const tsx = [process.execPath, "--import", "tsx"];

function ff(args: string[]) {
  const r = spawnSync(ffmpeg, ["-y", "-v", "error", ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
}

/** Five 5 s clips: cut from the real reels where we have them, else synthetic of the same shape. */
function prepareClips(): { clips: string[]; source: string } {
  const clips: string[] = [];
  const reels = ["reel-a.mp4", "reel-b.mp4"].map((f) => path.join(REELS, f));
  const fromFixtures = reels.every(existsSync);
  const starts = [0, 4.5, 0, 3.8, 2.2];
  for (let i = 0; i < CLIPS; i++) {
    const out = path.join(tmp, `clip-${i + 1}.mp4`);
    const input = fromFixtures
      ? ["-ss", String(starts[i]), "-i", reels[i % 2 === 0 ? 0 : 1]]
      : ["-f", "lavfi", "-i", `testsrc2=size=${W}x${H}:rate=24:duration=5,hue=h=${i * 60}`];
    ff([...input, "-t", "5", "-an", "-vf", `scale=${W}:${H},fps=24`, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", out]);
    clips.push(out);
  }
  return { clips, source: fromFixtures ? "fixture reels (../shared/fixtures/seed-shoot/reels)" : "synthetic testsrc2 (fixtures absent)" };
}

async function main() {
  const { clips, source } = prepareClips();
  console.log(`Clips: ${CLIPS} × 5 s, ${W}×${H}, 24 fps, from ${source}. Output: ${OUT_FRAMES} frames at 60 fps, dramaticSwoop.`);
  const env = { ...process.env, CLIP_SECONDS: "1.5", FPS: "60", CRF: "18", PRESET: "slow" };

  const ours = await measure(tsx[0], [...tsx.slice(1), path.join(import.meta.dirname, "our-stitch.ts"), path.join(tmp, "a.mp4"), ...clips], env);
  console.log(`(a) our stitch:        ${(ours.ms / 1000).toFixed(1)} s, peak ${ours.peakMb.toFixed(0)} MB`);

  // The floor: decode the same clips once, keep as many frames as the reel has, encode once.
  const inputs = clips.flatMap((c) => ["-i", c]);
  const concat = clips.map((_, i) => `[${i}:v]`).join("") + `concat=n=${CLIPS}:v=1:a=0,setpts=N/60/TB[v]`;
  const floor = await measure(ffmpeg, [
    "-y", "-v", "error", ...inputs, "-filter_complex", concat, "-map", "[v]", "-frames:v", String(OUT_FRAMES), "-r", "60",
    "-c:v", "libx264", "-preset", "slow", "-crf", "18", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path.join(tmp, "c.mp4"),
  ]);
  console.log(`(c) floor (1 transcode): ${(floor.ms / 1000).toFixed(1)} s, peak ${floor.peakMb.toFixed(0)} MB`);

  let baseline: { ms: number; peakMb: number } | null = null;
  if (!process.env.BENCH_SKIP_BASELINE) {
    baseline = await measure(tsx[0], [...tsx.slice(1), path.join(import.meta.dirname, "predecessor-stitch.ts"), path.join(tmp, "b.mp4"), ...clips], env);
    console.log(`(b) predecessor:       ${(baseline.ms / 1000).toFixed(1)} s, peak ${baseline.peakMb.toFixed(0)} MB`);
  }

  const counts = ["a", "c", ...(baseline ? ["b"] : [])].map((k) => {
    const r = spawnSync(toolPath("ffprobe"), ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path.join(tmp, `${k}.mp4`)], { encoding: "utf8" });
    return `${k}=${r.stdout.trim()}`;
  });
  console.log(`Frames: ${counts.join(", ")}`);
  console.log("");
  if (baseline) console.log(`speed-up over predecessor (b/a): ${(baseline.ms / ours.ms).toFixed(2)}×  (target ≥ 8×)`);
  console.log(`cost over the floor (a/c):       ${(ours.ms / floor.ms).toFixed(2)}×  (target ≤ 1.25×)`);
  console.log(`peak memory of our stitch:       ${ours.peakMb.toFixed(0)} MB  (target < 600 MB)`);
  rmSync(tmp, { recursive: true, force: true });
}

await main();
