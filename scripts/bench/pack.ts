/**
 * `npm run bench:pack` (issue 20): the reel's four video formats from one decode.
 *
 * The reel: five 5 s clips cut from the fixture reels (1176×1756, 24 fps; synthetic textured clips
 * when the fixtures are absent), stitched by container/stitch.ts at its defaults (1.5 s a clip,
 * 60 fps, preset slow, CRF 18): 450 frames. The crop paths are the pack job's own: the subject
 * tracked through the reel (container/pack/track.ts) and a path planned per format (path.ts); the
 * tracking time is printed apart from the encoding the must-show compares.
 *
 * (a) Sweep: presets ultrafast…medium × CRF 16/18/20/23, each a pack of the first
 *     BENCH_SWEEP_SECONDS (default 2.5 s: two shots and a cut) of the reel; time per output and SSIM
 *     of every output against a preset-slow CRF 18 encode of the same crop. The pick is the fastest
 *     whose worst SSIM is ≥ 0.98. BENCH_SWEEP=0 skips it and uses PACK_ENCODER.
 * (b) Must-show: the full 4-format pack against one FFmpeg transcode of the reel to the largest
 *     format (9:16 1080×1920, the same crop size and scale, the same x264 settings), BENCH_ROUNDS
 *     (default 5) rounds in alternating order, medians; SSIM per output; peak memory (PSS).
 * (c) The reel's own stitch at the pick against preset slow: time (2 rounds, alternating) and SSIM.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { toolPath } from "../../common/ffmpeg.ts";
import { planCropPath } from "../../container/pack/path.ts";
import { trackSubject } from "../../container/pack/track.ts";
import type { Box, CropPath } from "../../container/pack/types.ts";
import { packArgs, packGraph, type VideoOutput, x264OutputArgs } from "../../container/pack/video.ts";
import { probeVideo, type VideoInfo } from "../../container/probe.ts";
import { DEFAULT_CHANNELS } from "../../src/domain/channels.ts";
import { PACK_ENCODER } from "../../src/domain/media-jobs.ts";
import type { X264Preset } from "../../src/domain/stitch.ts";
import { measure, type Measured } from "./measure.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const REELS = path.resolve(ROOT, "../shared/fixtures/seed-shoot/reels");
const CW = 1176;
const CH = 1756;
const SSIM_TARGET = 0.98;
const RATIO_TARGET = 1.5;
const PRESETS: X264Preset[] = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"];
const CRFS = [16, 18, 20, 23];

const ffmpeg = toolPath("ffmpeg");
const tmp = mkdtempSync(path.join(tmpdir(), "bench-pack-"));
const node = [process.execPath, "--experimental-strip-types", "--disable-warning=ExperimentalWarning"];

function ff(args: string[]): string {
  const r = spawnSync(ffmpeg, ["-y", "-v", "error", ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stderr;
}

/** Five 5 s clips: from the fixture reels, else moving test patterns with grain (flat colour encodes unrealistically well). */
function prepareClips(): { clips: string[]; source: string } {
  const reels = ["reel-a.mp4", "reel-b.mp4"].map((f) => path.join(REELS, f));
  const fromFixtures = reels.every(existsSync);
  const starts = [0, 4.5, 0, 3.8, 2.2];
  const clips = starts.map((start, i) => {
    const out = path.join(tmp, `clip-${i + 1}.mp4`);
    const input = fromFixtures
      ? ["-ss", String(start), "-i", reels[i % 2]!]
      : ["-f", "lavfi", "-i", `testsrc2=size=${CW}x${CH}:rate=24:duration=5,hue=h=${i * 60},noise=alls=18:allf=t`];
    ff([...input, "-t", "5", "-an", "-vf", `scale=${CW}:${CH},fps=24`, "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", out]);
    return out;
  });
  if (!fromFixtures) console.log(`Fixture reels not found in ${REELS}: using synthetic clips with grain and motion.`);
  return { clips, source: fromFixtures ? "the fixture reels" : "synthetic testsrc2 with grain (fixtures absent)" };
}

const stitchRun = (out: string, clips: string[], preset: X264Preset) =>
  measure(node[0]!, [...node.slice(1), path.join(import.meta.dirname, "our-stitch.ts"), out, ...clips], {
    ...process.env,
    CLIP_SECONDS: "1.5",
    FPS: "60",
    CRF: "18",
    PRESET: preset,
  });

/** The four video formats along the crop paths the pack job would plan for this reel. */
function outputsFor(tag: string, paths: Map<string, CropPath>): VideoOutput[] {
  return DEFAULT_CHANNELS.filter((c) => c.media === "video").map((c) => ({
    name: c.name,
    file: path.join(tmp, `${tag}-${c.name}.mp4`),
    width: c.width,
    height: c.height,
    path: paths.get(c.name)!,
    fill: c.fill,
  }));
}

interface Enc {
  preset: X264Preset;
  crf: number;
}

/** One pack run as renderVideos runs it (the same graph and arguments), measured. */
function runPack(reel: string, info: VideoInfo, outputs: VideoOutput[], enc: Enc, frames: number, seconds?: number): Promise<Measured> {
  const { graph } = packGraph(info, outputs, info.fps, frames);
  const script = path.join(tmp, `${path.basename(outputs[0]!.file)}.filtergraph`);
  writeFileSync(script, graph);
  const args = packArgs(reel, script, outputs, info, { ...enc, fps: info.fps });
  if (seconds) args.splice(args.indexOf("-i"), 0, "-t", String(seconds));
  return measure(ffmpeg, args);
}

/** The baseline: one plain transcode of the reel to 9:16 with the same crop size, scale and encoder. */
function runSingle(reel: string, box: Box, out: string, enc: Enc, fps: number): Promise<Measured> {
  const even = (v: number) => Math.round(v / 2) * 2;
  const vf = `format=yuv420p,crop=${even(box.width)}:${even(box.height)}:${even(box.x)}:${even(box.y)},scale=1080:1920,setsar=1`;
  return measure(ffmpeg, ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", reel, "-vf", vf, ...x264OutputArgs({ ...enc, fps }), out]);
}

function ssim(a: string, b: string): number {
  const err = spawnSync(ffmpeg, ["-hide_banner", "-nostdin", "-i", a, "-i", b, "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"], { encoding: "utf8" }).stderr;
  const m = /SSIM .*All:([\d.]+)/.exec(err);
  if (!m) throw new Error(`no SSIM for ${a}: ${err.slice(-400)}`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mbytes = (file: string) => statSync(file).size / 1e6;

async function main() {
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
  const sweepSeconds = Number(process.env.BENCH_SWEEP_SECONDS ?? 2.5);
  const { clips, source } = prepareClips();

  // The reel, and (c)'s first slow stitch (BENCH_REEL: an existing reel instead, for experiments).
  const reel = path.join(tmp, "reel.mp4");
  const slowStitch: Measured[] = [];
  if (process.env.BENCH_REEL) copyFileSync(process.env.BENCH_REEL, reel);
  else slowStitch.push(await stitchRun(reel, clips, "slow"));
  copyFileSync(reel, path.join(tmp, "stitch-slow.mp4"));
  const info = await probeVideo(reel, "reel");
  const frames = info.packets ?? Math.round((info.duration ?? 7.5) * info.fps);
  console.log(
    `Reel: ${info.width}×${info.height}, ${frames} frames at ${info.fps} fps, stitched from ${source}${slowStitch[0] ? ` (stitch at preset slow: ${sec(slowStitch[0].ms)})` : ""}.`,
  );

  // The crop paths as the pack job plans them: the subject tracked through the reel (the clips meet
  // at every 1.5 s), one path per format. Tracking is part of a pack's time; it is reported apart
  // because the must-show compares the encoding.
  const tracked = Date.now();
  const track = await trackSubject(reel, { cuts: [1.5, 3, 4.5, 6] });
  const trackMs = Date.now() - tracked;
  const paths = new Map(
    DEFAULT_CHANNELS.filter((c) => c.media === "video").map((c) => [c.name, planCropPath(track, { width: c.width, height: c.height, margin: c.margin })]),
  );
  console.log(
    `Tracking: ${sec(trackMs)} (cuts at frames ${track.cuts.join(", ")}); paths: ${[...paths].map(([n, p]) => `${n} upscale ${p.upscale.toFixed(2)}×${p.filled ? " filled" : ""}`).join(", ")}.`,
  );

  // (a) the sweep.
  let pick: Enc = PACK_ENCODER;
  if (process.env.BENCH_SWEEP !== "0") {
    const sweepFrames = Math.round(sweepSeconds * info.fps);
    const refOut = outputsFor("ref", paths);
    const ref = await runPack(reel, info, refOut, { preset: "slow", crf: 18 }, sweepFrames, sweepSeconds);
    console.log(
      `\n(a) Sweep on the first ${sweepSeconds} s (${sweepFrames} frames). Reference: preset slow CRF 18, ${sec(ref.ms / refOut.length)} per output.`,
    );
    console.log("| preset | CRF | time per output | SSIM reels / feed / square / banner | worst | MB (4 outputs) |");
    console.log("|---|---|---|---|---|---|");
    const rows: Array<Enc & { perOutput: number; worst: number }> = [];
    for (const preset of PRESETS) {
      for (const crf of CRFS) {
        // A higher CRF only loses quality: once one misses the target, the rest of the row would too.
        if (rows.some((r) => r.preset === preset && r.worst < SSIM_TARGET)) {
          console.log(`| ${preset} | ${crf} | skipped: a lower CRF already missed SSIM ${SSIM_TARGET} | | | |`);
          continue;
        }
        const outs = outputsFor(`${preset}-${crf}`, paths);
        const m = await runPack(reel, info, outs, { preset, crf }, sweepFrames, sweepSeconds);
        const s = outs.map((o, i) => ssim(o.file, refOut[i]!.file));
        const size = outs.reduce((t, o) => t + mbytes(o.file), 0);
        const worst = Math.min(...s);
        rows.push({ preset, crf, perOutput: m.ms / outs.length, worst });
        console.log(
          `| ${preset} | ${crf} | ${sec(m.ms / outs.length)} | ${s.map((v) => v.toFixed(4)).join(" / ")} | ${worst.toFixed(4)} | ${size.toFixed(1)} |`,
        );
        for (const o of outs) rmSync(o.file, { force: true });
      }
    }
    const ok = rows.filter((r) => r.worst >= SSIM_TARGET).sort((p, q) => p.perOutput - q.perOutput);
    if (!ok.length) throw new Error(`no setting reaches SSIM ${SSIM_TARGET} on every format`);
    pick = { preset: ok[0]!.preset, crf: ok[0]!.crf };
    console.log(`Pick: preset ${pick.preset}, CRF ${pick.crf} (${sec(ok[0]!.perOutput)} per output, worst SSIM ${ok[0]!.worst.toFixed(4)}).`);
    if (pick.preset !== PACK_ENCODER.preset || pick.crf !== PACK_ENCODER.crf) {
      console.log(
        `PACK_ENCODER in src/domain/media-jobs.ts is ${PACK_ENCODER.preset} CRF ${PACK_ENCODER.crf}: the measurement says ${pick.preset} CRF ${pick.crf}.`,
      );
    }
  }

  // (b) the must-show: full pack against one transcode, alternating.
  console.log(`\n(b) Pack of 4 formats vs one transcode to 9:16 1080×1920, preset ${pick.preset} CRF ${pick.crf}, ${rounds} rounds.`);
  const packOut = outputsFor("pack", paths);
  const refFull = outputsFor("reffull", paths);
  const single = path.join(tmp, "single.mp4");
  // The baseline's crop: the largest 9:16 box inside the reel (the tracked path may reach outside it, into fill).
  const singleWidth = Math.min(info.width, (info.height * 9) / 16);
  const singleBox: Box = {
    x: (info.width - singleWidth) / 2,
    y: (info.height - (singleWidth * 16) / 9) / 2,
    width: singleWidth,
    height: (singleWidth * 16) / 9,
  };
  const packs: Measured[] = [];
  const singles: Measured[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? ["pack", "single"] : ["single", "pack"]) {
      if (which === "pack") packs.push(await runPack(reel, info, packOut, pick, frames));
      else singles.push(await runSingle(reel, singleBox, single, pick, info.fps));
    }
    console.log(
      `round ${r + 1}: pack ${sec(packs.at(-1)!.ms)}, single ${sec(singles.at(-1)!.ms)}, ratio ${(packs.at(-1)!.ms / singles.at(-1)!.ms).toFixed(2)}`,
    );
  }
  await runPack(reel, info, refFull, { preset: "slow", crf: 18 }, frames);
  const ssims = packOut.map((o, i) => ssim(o.file, refFull[i]!.file));
  const p = median(packs.map((m) => m.ms));
  const s = median(singles.map((m) => m.ms));
  const ratio = p / s;
  const peak = Math.max(...packs.map((m) => m.peakMb));
  const peakRss = Math.max(...packs.map((m) => m.peakRssMb));
  const singlePeak = Math.max(...singles.map((m) => m.peakMb));
  const counted = packOut.map((o) => {
    const r = spawnSync(
      toolPath("ffprobe"),
      ["-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", o.file],
      {
        encoding: "utf8",
      },
    );
    return `${o.name} ${r.stdout.trim()}`;
  });
  console.log(`Outputs (width,height,frames): ${counted.join("; ")}`);
  console.log("| | median | rounds | peak memory (PSS) |");
  console.log("|---|---|---|---|");
  console.log(
    `| pack (4 outputs, one decode) | ${sec(p)} | ${packs.map((m) => sec(m.ms)).join(", ")} | ${peak.toFixed(0)} MB (RSS ${peakRss.toFixed(0)} MB) |`,
  );
  console.log(`| single transcode (9:16) | ${sec(s)} | ${singles.map((m) => sec(m.ms)).join(", ")} | ${singlePeak.toFixed(0)} MB |`);
  console.log(
    `Ratio pack/single: ${ratio.toFixed(2)} (target ≤ ${RATIO_TARGET}; per round ${packs.map((m, i) => (m.ms / singles[i]!.ms).toFixed(2)).join(", ")})`,
  );
  console.log(
    `SSIM vs preset slow CRF 18 of the same crop: ${packOut.map((o, i) => `${o.name} ${ssims[i]!.toFixed(4)}`).join(", ")} (target ≥ ${SSIM_TARGET})`,
  );

  // (c) the stitch at the pick.
  if (process.env.BENCH_STITCH !== "0" && pick.preset !== "slow") {
    // Slow ran first (it made the reel); then fast, slow, fast: two of each.
    const fastStitch: Measured[] = [];
    const order: X264Preset[] = slowStitch.length ? [pick.preset, "slow", pick.preset] : ["slow", pick.preset, "slow", pick.preset];
    for (const preset of order) {
      if (preset === "slow") slowStitch.push(await stitchRun(path.join(tmp, "stitch-slow.mp4"), clips, "slow"));
      else fastStitch.push(await stitchRun(path.join(tmp, "stitch-fast.mp4"), clips, preset));
    }
    const st = ssim(path.join(tmp, "stitch-fast.mp4"), path.join(tmp, "stitch-slow.mp4"));
    console.log(
      `\n(c) Stitch (CRF 18): preset ${pick.preset} ${sec(median(fastStitch.map((m) => m.ms)))} (${fastStitch.map((m) => sec(m.ms)).join(", ")}) vs slow ${sec(median(slowStitch.map((m) => m.ms)))} (${slowStitch.map((m) => sec(m.ms)).join(", ")}); SSIM ${st.toFixed(4)}; size ${mbytes(path.join(tmp, "stitch-fast.mp4")).toFixed(1)} MB vs ${mbytes(path.join(tmp, "stitch-slow.mp4")).toFixed(1)} MB.`,
    );
  }

  rmSync(tmp, { recursive: true, force: true });
  const pass = ratio <= RATIO_TARGET && ssims.every((v) => v >= SSIM_TARGET);
  console.log(
    `\n${pass ? "PASS" : "FAIL"}: ratio ${ratio.toFixed(2)} (≤ ${RATIO_TARGET}), worst SSIM ${Math.min(...ssims).toFixed(4)} (≥ ${SSIM_TARGET}), peak ${peak.toFixed(0)} MB.`,
  );
  if (!pass) process.exitCode = 1;
}

await main();
