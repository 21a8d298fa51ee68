/**
 * `npm run bench:qa` (issue 19): the quality checks (container/check/) on a drift set, and what they
 * cost against crop and stitch in the same run.
 *
 * The drift set (common/qa/): per kind — garment recoloured by ≥ 15 ΔE00, accessory removed,
 * garment swapped, identity swapped, clip morphing mid-way, clip ending away from its end frame —
 * `BENCH_QA_PAIRS` seeds (default 36), each a drifted item and its untouched twin from the same
 * source, layout and look. Sources: synthetic (drawn references and scenes) and, when
 * `../shared/fixtures/seed-shoot` is there, the fixture photos (stills: every other seed) and the
 * fixture frames and reels (clips: a third each). Seeds start at `BENCH_QA_FIRST` (default 1000):
 * the thresholds in container/check/params.ts were tuned on seeds 0–59 only (`BENCH_QA_FIRST=0`).
 *
 * Stills are checked as the service checks a frames checkpoint: one job per seed and source with
 * the three references, the hero and the eight stills of the four kinds. Clips: one job per pair.
 * An item counts as flagged when any of its findings flags.
 *
 * Cost: `BENCH_QA_ROUNDS` rounds (default 3), alternating the order within each, of (a) crop of six
 * 2528×1696 contact sheets (common/sheets, as bench:crop draws them), per sheet; (b) three frames
 * jobs of the drift set, per still; (c) one stitch of a reel of five 5 s 1176×1756 clips with the
 * default settings (container/stitch.ts, as a stitch job runs); (d) the clip checks of those five
 * clips against their first and last frames, per clip. Medians are compared: a still's checks
 * against a sheet's crop (target below 1), a clip's checks against the reel's stitch (target below
 * 0.25). The machine's speed drifts, hence alternation and medians.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { toolPath } from "../../common/ffmpeg.ts";
import { CLIP_DRIFTS, clipPair, hasClipFixtures, type ClipDrift, type ClipItem, type ClipSource } from "../../common/qa/clips.ts";
import { FIXTURES, STILL_DRIFTS, hasFixtures, stillPair, type StillDrift, type StillItem } from "../../common/qa/stills.ts";
import { benchCases } from "../../common/sheets/cases.ts";
import { runChecks, type CheckParams } from "../../container/check/index.ts";
import { cropSheet } from "../../container/crop.ts";
import { stitchClips } from "../../container/stitch.ts";
import type { CheckResult, Finding } from "../../src/domain/findings.ts";
import { StitchJobParamsSchema } from "../../src/domain/stitch.ts";
import { drawSheet } from "./crop-sheets.ts";

const PAIRS = Number(process.env.BENCH_QA_PAIRS ?? 36);
const FIRST = Number(process.env.BENCH_QA_FIRST ?? 1000);
const ROUNDS = Number(process.env.BENCH_QA_ROUNDS ?? 3);
/** `BENCH_QA_COST=0` (or the older `BENCH_QA_SKIP_TIMING=1`): detection only, no cost rounds. */
const SKIP_TIMING = process.env.BENCH_QA_COST === "0" || process.env.BENCH_QA_SKIP_TIMING === "1";
/** `BENCH_QA_ONLY=stills` or `clips`: detect on that half of the set alone (while tuning). */
const ONLY = process.env.BENCH_QA_ONLY ?? "";
/** Print every item's findings (to look at misses). */
const VERBOSE = process.env.BENCH_QA_VERBOSE === "1";

const tmp = mkdtempSync(path.join(tmpdir(), "bench-qa-"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");

interface Outcome {
  label: string;
  kind: string;
  source: string;
  drifted: boolean;
  detail: string;
  flagged: boolean;
  /** The checks that flagged, with their scores. */
  flags: string[];
  all: string;
}

function outcomeOf(asset: string, findings: Finding[], base: Omit<Outcome, "flagged" | "flags" | "all">): Outcome {
  const mine = findings.filter((f) => f.asset === asset);
  const flags = mine.filter((f) => f.verdict === "flag").map((f) => `${f.check} ${f.score}`);
  return {
    ...base,
    flagged: flags.length > 0,
    flags,
    all: mine.map((f) => `${f.check}=${f.verdict === "flag" ? "FLAG" : "ok"} ${f.score}/${f.threshold}`).join(", "),
  };
}

function writeInputs(dir: string, entries: [string, Buffer][]): Map<string, string> {
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, string>();
  for (const [name, data] of entries) {
    const file = path.join(dir, name);
    writeFileSync(file, data);
    files.set(name, file);
  }
  return files;
}

/** One frames-checkpoint job: the seed's references and hero, and the 8 stills of its 4 kinds' pairs. */
async function stillJob(seed: number, source: "synthetic" | "fixtures"): Promise<{ items: StillItem[]; params: CheckParams; files: Map<string, string> }> {
  const items: StillItem[] = [];
  for (const kind of STILL_DRIFTS) items.push(...(await stillPair(kind, seed, source)));
  const refs = items[0]!.refs;
  const names = items.map((_, i) => `still-${i + 1}`);
  const files = writeInputs(path.join(tmp, `stills-${source}-${seed}`), [
    ...refs.map((r) => [r.name, r.data] as [string, Buffer]),
    ["hero", items[0]!.hero],
    ...items.map((it, i) => [names[i]!, it.still] as [string, Buffer]),
  ]);
  const params: CheckParams = {
    references: refs.map((r) => ({ input: r.name, role: r.role, label: r.label, ...(r.box ? { box: r.box } : {}) })),
    stills: names,
    hero: "hero",
    clips: [],
    reels: [],
  };
  return { items, params, files };
}

async function detection(): Promise<{ stills: Outcome[]; clips: Outcome[]; perStillMs: number[] }> {
  const stills: Outcome[] = [];
  const clips: Outcome[] = [];
  const perStillMs: number[] = [];
  const fixtures = hasFixtures();
  for (let i = 0; i < (ONLY === "clips" ? 0 : PAIRS); i++) {
    const seed = FIRST + i;
    const source = fixtures && i % 2 === 1 ? "fixtures" : "synthetic";
    const job = await stillJob(seed, source);
    const t0 = performance.now();
    const result = await runChecks(job.params, job.files);
    perStillMs.push((performance.now() - t0) / job.items.length);
    job.items.forEach((it, k) => {
      stills.push(outcomeOf(`still-${k + 1}`, result.findings, { label: it.label, kind: it.kind, source: it.source, drifted: it.drifted, detail: it.detail }));
    });
    if ((i + 1) % 6 === 0) console.log(`  stills: ${i + 1}/${PAIRS} seeds, load ${loadavg()[0]!.toFixed(1)}`);
  }
  const clipSources: ClipSource[] = hasClipFixtures() ? ["synthetic", "fixture frames", "fixture reels"] : ["synthetic"];
  for (const kind of ONLY === "stills" ? [] : CLIP_DRIFTS) {
    for (let i = 0; i < PAIRS; i++) {
      const seed = FIRST + i;
      const source = clipSources[i % clipSources.length]!;
      const pair = await clipPair(kind, seed, source);
      const files = writeInputs(
        path.join(tmp, `clip-${kind}-${seed}`),
        pair.flatMap((it: ClipItem, k) => [
          [`clip-${k}`, it.clip],
          [`start-${k}`, it.start],
          [`end-${k}`, it.end],
        ]) as [string, Buffer][],
      );
      const result: CheckResult = await runChecks(
        { references: [], stills: [], clips: pair.map((_, k) => ({ input: `clip-${k}`, start: `start-${k}`, end: `end-${k}` })), reels: [] },
        files,
      );
      for (const [k, it] of pair.entries())
        clips.push(outcomeOf(`clip-${k}`, result.findings, { label: it.label, kind, source, drifted: it.drifted, detail: it.detail }));
    }
    console.log(`  clips: ${kind} done, load ${loadavg()[0]!.toFixed(1)}`);
  }
  return { stills, clips, perStillMs };
}

function confusion(title: string, kinds: readonly string[], outcomes: Outcome[]): boolean {
  console.log(`\n${title}`);
  console.log(
    "| kind | drifted flagged | drifted passed | untouched flagged | untouched passed | flagged (target ≥ 90 %) | false flags (target ≤ 5 %) | flagged by |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  let met = true;
  const row = (name: string, list: Outcome[]) => {
    const d = list.filter((o) => o.drifted);
    const u = list.filter((o) => !o.drifted);
    const df = d.filter((o) => o.flagged).length;
    const uf = u.filter((o) => o.flagged).length;
    const by = new Map<string, number>();
    for (const o of d) for (const f of new Set(o.flags.map((x) => x.split(" ")[0]!))) by.set(f, (by.get(f) ?? 0) + 1);
    const rate = d.length ? df / d.length : 0;
    const fp = u.length ? uf / u.length : 0;
    console.log(
      `| ${name} | ${df} | ${d.length - df} | ${uf} | ${u.length - uf} | ${(rate * 100).toFixed(0)} % | ${(fp * 100).toFixed(1)} % | ${[...by].map(([k, n]) => `${k} ${n}`).join(", ")} |`,
    );
    return { rate, fp };
  };
  for (const kind of kinds) {
    const list = outcomes.filter((o) => o.kind === kind);
    const { rate, fp } = row(kind, list);
    if (rate < 0.9 || fp > 0.05) met = false;
    const sources = [...new Set(list.map((o) => o.source))];
    if (sources.length > 1)
      for (const s of sources)
        row(
          `  ${kind}, ${s}`,
          list.filter((o) => o.source === s),
        );
  }
  const all = outcomes;
  row("all", all);
  const misses = outcomes.filter((o) => o.drifted !== o.flagged);
  if (misses.length) {
    console.log(`\n  ${title}: items the checks got wrong (${misses.length}):`);
    for (const o of misses.slice(0, 60))
      console.log(`    ${o.drifted ? "MISSED" : "FALSE FLAG"} ${o.kind} ${o.label}${o.detail ? ` (${o.detail})` : ""}: ${o.all}`);
  }
  if (VERBOSE) for (const o of outcomes) console.log(`    ${o.drifted ? "drifted" : "untouched"} ${o.kind} ${o.label}: ${o.all}`);
  return met;
}

// ---------------------------------------------------------------------------------------------
// Cost

const W = 1176;
const H = 1756;

/** Five 5 s clips of the reel size (from the fixture reels, else synthetic), with their first and last frames. */
function productionClips(): { clips: string[]; stills: [string, string][]; source: string } {
  const ffmpeg = toolPath("ffmpeg");
  const ff = (args: string[]) => {
    const r = spawnSync(ffmpeg, ["-y", "-v", "error", ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  const reels = ["reel-a.mp4", "reel-b.mp4"].map((f) => path.join(FIXTURES, "reels", f));
  const fromFixtures = reels.every(existsSync);
  const starts = [0, 4.5, 0, 3.8, 2.2];
  const clips: string[] = [];
  const stills: [string, string][] = [];
  for (let i = 0; i < 5; i++) {
    const out = path.join(tmp, `prod-clip-${i + 1}.mp4`);
    const input = fromFixtures
      ? ["-ss", String(starts[i]), "-i", reels[i % 2]!]
      : ["-f", "lavfi", "-i", `testsrc2=size=${W}x${H}:rate=24:duration=5,hue=h=${i * 60}`];
    ff([...input, "-t", "5", "-an", "-vf", `scale=${W}:${H},fps=24`, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", out]);
    const first = path.join(tmp, `prod-clip-${i + 1}-first.png`);
    const last = path.join(tmp, `prod-clip-${i + 1}-last.png`);
    ff(["-i", out, "-frames:v", "1", first]);
    ff(["-sseof", "-0.2", "-i", out, "-update", "1", last]);
    clips.push(out);
    stills.push([first, last]);
  }
  return { clips, stills, source: fromFixtures ? "cut from the fixture reels" : "synthetic testsrc2 (fixtures absent)" };
}

async function cost(): Promise<void> {
  console.log(`\nCost: ${ROUNDS} rounds, alternating order. Load average at the start: ${load()} (${cpus().length} cores)`);
  const sheets = benchCases({ count: 6, hard: 0 }).map((c) => c.spec);
  const sheetFiles: { file: string; rows: number; cols: number }[] = [];
  for (const [n, spec] of sheets.entries()) {
    const sheet = await drawSheet(spec);
    const file = path.join(tmp, `sheet-${n}.${spec.format === "jpeg" ? "jpg" : "png"}`);
    writeFileSync(file, sheet.buffer);
    sheetFiles.push({ file, rows: spec.rows ?? 2, cols: spec.cols ?? 3 });
  }
  const jobs: Awaited<ReturnType<typeof stillJob>>[] = [];
  for (let i = 0; i < 3; i++) jobs.push(await stillJob(FIRST + i, hasFixtures() && i % 2 === 1 ? "fixtures" : "synthetic"));
  const prod = productionClips();
  console.log(`Reel: five 5 s ${W}×${H} 24 fps clips ${prod.source}; stitch defaults (${JSON.stringify(StitchJobParamsSchema.parse({}))}).`);
  const crop: number[] = [];
  const still: number[] = [];
  const stitch: number[] = [];
  const clip: number[] = [];
  const parts: Record<string, () => Promise<void>> = {
    crop: async () => {
      for (const s of sheetFiles) {
        const out = path.join(tmp, "crop-out");
        mkdirSync(out, { recursive: true });
        const t0 = performance.now();
        await cropSheet(s.file, out, { rows: s.rows, cols: s.cols, mode: "detect" }).catch(() => undefined);
        crop.push(performance.now() - t0);
        rmSync(out, { recursive: true, force: true });
      }
    },
    still: async () => {
      for (const j of jobs) {
        const t0 = performance.now();
        await runChecks(j.params, j.files);
        still.push((performance.now() - t0) / j.items.length);
      }
    },
    stitch: async () => {
      const out = path.join(tmp, "stitch-out");
      mkdirSync(out, { recursive: true });
      const t0 = performance.now();
      await stitchClips(
        prod.clips.map((p, i) => ({ name: `clip-${i + 1}`, path: p })),
        out,
        StitchJobParamsSchema.parse({}),
      );
      stitch.push(performance.now() - t0);
      rmSync(out, { recursive: true, force: true });
    },
    clip: async () => {
      const files = new Map<string, string>();
      const specs: CheckParams["clips"] = [];
      prod.clips.forEach((c, i) => {
        files.set(`clip-${i}`, c);
        files.set(`first-${i}`, prod.stills[i]![0]);
        files.set(`last-${i}`, prod.stills[i]![1]);
      });
      for (let i = 0; i < prod.clips.length; i++) {
        specs.push({ input: `clip-${i}`, start: `first-${i}`, end: `last-${i}` });
        const t0 = performance.now();
        await runChecks({ references: [], stills: [], clips: [specs[i]!], reels: [] }, files);
        clip.push(performance.now() - t0);
      }
    },
  };
  const order = ["crop", "still", "stitch", "clip"];
  for (let r = 0; r < ROUNDS; r++) {
    const seq = r % 2 === 0 ? order : [...order].reverse();
    for (const p of seq) await parts[p]!();
    console.log(
      `  round ${r + 1} (${seq.join(", ")}): crop ${median(crop.slice(-6)).toFixed(0)} ms/sheet, checks ${median(still.slice(-3)).toFixed(0)} ms/still, stitch ${(stitch.at(-1)! / 1000).toFixed(1)} s/reel, checks ${median(clip.slice(-5)).toFixed(0)} ms/clip; load ${load()}`,
    );
  }
  const c = median(crop);
  const s = median(still);
  const st = median(stitch);
  const cl = median(clip);
  console.log(`\n| | median | ratio | target |`);
  console.log(`|---|---|---|---|`);
  console.log(`| crop, per 2528×1696 sheet | ${c.toFixed(0)} ms | | |`);
  console.log(
    `| still checks, per still (frames job of 8 stills, hero, 3 references) | ${s.toFixed(0)} ms | ${(s / c).toFixed(2)} of a crop | < 1 ${s < c ? "(met)" : "(NOT met)"} |`,
  );
  console.log(`| stitch, per reel of five clips | ${(st / 1000).toFixed(1)} s | | |`);
  console.log(`| clip checks, per 5 s clip | ${cl.toFixed(0)} ms | ${(cl / st).toFixed(3)} of a stitch | < 0.25 ${cl < st / 4 ? "(met)" : "(NOT met)"} |`);
  console.log(`Load average at the end: ${load()}`);
}

async function main() {
  console.log(`bench:qa — seeds ${FIRST}–${FIRST + PAIRS - 1}, ${PAIRS} pairs per kind. Load average at the start: ${load()} (${cpus().length} cores)`);
  if (!hasFixtures()) console.log(`Fixtures not found at ${FIXTURES}: synthetic images alone.`);
  else if (!hasClipFixtures()) console.log("Fixture reels or frames missing: synthetic clips alone.");
  const { stills, clips, perStillMs } = await detection();
  const okStills = !stills.length || confusion("Stills (one job per seed: 3 references, the hero, 8 stills)", STILL_DRIFTS as readonly StillDrift[], stills);
  const okClips = !clips.length || confusion("Clips (one job per pair)", CLIP_DRIFTS as readonly ClipDrift[], clips);
  console.log(`\nDetection targets (≥ 90 % flagged per kind, ≤ 5 % false flags): stills ${okStills ? "met" : "NOT met"}, clips ${okClips ? "met" : "NOT met"}`);
  if (perStillMs.length) console.log(`Still checks during detection: median ${median(perStillMs).toFixed(0)} ms per still`);
  if (!SKIP_TIMING) await cost();
  rmSync(tmp, { recursive: true, force: true });
  if (!okStills || !okClips) process.exitCode = 1;
}

await main();
