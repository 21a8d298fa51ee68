/**
 * `npm run bench:stitch`: five 5 s clips at 1176×1756, 24 fps (cut from the fixture reels when
 * present, else synthetic at that size), 1.5 s per clip at 60 fps with dramaticSwoop, identical
 * encoder settings (libx264, preset slow, crf 18), measured in one run:
 *   (a) our stitch, (b) the predecessor's per-frame algorithm, (c) the floor: one FFmpeg transcode
 *   of the same clips to the same number of frames.
 * This machine's speed drifts by 20 % or more within minutes (shared cores), so (a) and (c) run
 * BENCH_ROUNDS times (default 3) in alternating order and the medians are compared; (b), which takes
 * minutes, runs once between rounds 1 and 2. BENCH_SKIP_BASELINE=1 skips (b).
 * Our stitch runs as the image runs it: Node with type stripping, no loader.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { toolPath } from "../../common/ffmpeg.ts";
import { measure, type Measured } from "./measure.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const REELS = path.resolve(ROOT, "../shared/fixtures/seed-shoot/reels");
const W = 1176;
const H = 1756;
const CLIPS = 5;
const OUT_FRAMES = CLIPS * Math.round(1.5 * 60);

const ffmpeg = toolPath("ffmpeg");
const tmp = mkdtempSync(path.join(tmpdir(), "bench-stitch-"));

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

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (m: Measured) =>
  `peak ${m.peakMb.toFixed(0)} MB (RSS sum ${m.peakRssMb.toFixed(0)} MB; largest process ${m.largest.command} ${m.largest.mb.toFixed(0)} MB)`;

async function main() {
  const { clips, source } = prepareClips();
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
  console.log(`Clips: ${CLIPS} × 5 s, ${W}×${H}, 24 fps, from ${source}. Output: ${OUT_FRAMES} frames at 60 fps, dramaticSwoop.`);
  console.log(`Encoder for all three: libx264 -preset slow -crf 18 -pix_fmt yuv420p -movflags +faststart. Rounds: ${rounds}.`);
  const env = { ...process.env, CLIP_SECONDS: "1.5", FPS: "60", CRF: "18", PRESET: "slow" };
  const node = [process.execPath, "--experimental-strip-types", "--disable-warning=ExperimentalWarning"];

  const runOurs = () => measure(node[0]!, [...node.slice(1), path.join(import.meta.dirname, "our-stitch.ts"), path.join(tmp, "a.mp4"), ...clips], env);
  // The floor: decode the same clips once, keep as many frames as the reel has, encode once.
  const inputs = clips.flatMap((c) => ["-i", c]);
  const concat = `${clips.map((_, i) => `[${i}:v]`).join("")}concat=n=${CLIPS}:v=1:a=0,setpts=N/60/TB[v]`;
  const runFloor = () =>
    measure(ffmpeg, [
      "-y",
      "-v",
      "error",
      ...inputs,
      "-filter_complex",
      concat,
      "-map",
      "[v]",
      "-frames:v",
      String(OUT_FRAMES),
      "-r",
      "60",
      "-c:v",
      "libx264",
      "-preset",
      "slow",
      "-crf",
      "18",
      "-pix_fmt",
      "yuv420p",
      "-movflags",
      "+faststart",
      path.join(tmp, "c.mp4"),
    ]);
  const runBaseline = () =>
    measure(node[0]!, ["--import", "tsx", path.join(import.meta.dirname, "predecessor-stitch.ts"), path.join(tmp, "b.mp4"), ...clips], env);

  const ours: Measured[] = [];
  const floor: Measured[] = [];
  let baseline: Measured | undefined;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (["a", "c"] as const) : (["c", "a"] as const);
    for (const which of order) {
      if (which === "a") {
        ours.push(await runOurs());
        console.log(`round ${r + 1} (a) our stitch: ${seconds(ours.at(-1)!.ms)}, ${mb(ours.at(-1)!)}`);
      } else {
        floor.push(await runFloor());
        console.log(`round ${r + 1} (c) floor:      ${seconds(floor.at(-1)!.ms)}, ${mb(floor.at(-1)!)}`);
      }
    }
    if (r === 0 && !process.env.BENCH_SKIP_BASELINE) {
      baseline = await runBaseline();
      console.log(`(b) predecessor:            ${seconds(baseline.ms)}, ${mb(baseline)}`);
    }
  }

  const counts = ["a", "c", ...(baseline ? ["b"] : [])].map((k) => {
    const r = spawnSync(
      toolPath("ffprobe"),
      ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path.join(tmp, `${k}.mp4`)],
      { encoding: "utf8" },
    );
    return `${k}=${r.stdout.trim()}`;
  });
  const a = median(ours.map((m) => m.ms));
  const c = median(floor.map((m) => m.ms));
  const peak = Math.max(...ours.map((m) => m.peakMb));
  const encoder = Math.max(...ours.map((m) => m.largest.mb));
  console.log(`Frames: ${counts.join(", ")}`);
  console.log("");
  console.log(`(a) median ${seconds(a)} of ${ours.map((m) => seconds(m.ms)).join(", ")}`);
  console.log(`(c) median ${seconds(c)} of ${floor.map((m) => seconds(m.ms)).join(", ")}`);
  if (baseline) console.log(`speed-up over predecessor (b/a): ${(baseline.ms / a).toFixed(2)}×  (target ≥ 8×)`);
  console.log(
    `cost over the floor (a/c):       ${(a / c).toFixed(2)}×  (target ≤ 1.25×; per round: ${ours.map((m, i) => (m.ms / floor[i]!.ms).toFixed(2)).join(", ")})`,
  );
  console.log(
    `peak memory of our stitch:       ${peak.toFixed(0)} MB  (target < 600 MB; its x264 encoder alone: ${encoder.toFixed(0)} MB; the floor: ${Math.max(...floor.map((m) => m.peakMb)).toFixed(0)} MB)`,
  );
  rmSync(tmp, { recursive: true, force: true });
}

await main();
