/**
 * `npm run bench:crop`: grid detection on generated 2528×1696 contact sheets with the variations a
 * generator produces (white, black, grey and coloured gutters 3–45 px, margins 0–80 px, cells a few
 * percent unequal, JPEG, noise, white studio backdrops touching white gutters, 2×2 and 3×3 grids),
 * the kinds that broke crop on sheets made another way (issue 11), plus sheets built from the fixture
 * photos when present (`common/sheets/cases.ts`). Every cell must be found within tolerance: the box holds no
 * gutter pixel and covers at least 98 % of its true cell. Reports the median time per sheet of the
 * whole crop (decode, detect, cut and normalise six frames) and of detection alone; with
 * `BENCH_BASELINE=<git rev>`, that revision's crop too, on the same sheets, and the ratio of the medians.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import * as current from "../../container/crop.ts";
import { benchCases, kindOf } from "../../common/sheets/cases.ts";
import { withinTolerance } from "../../common/sheets/draw.ts";
import { drawSheet } from "./crop-sheets.ts";

const COUNT = Number(process.env.BENCH_SHEETS ?? 240);
/** Sheets of each harder kind (offset cells, seamless white on white, noisy grey gutters). */
const HARD = Number(process.env.BENCH_HARD_SHEETS ?? 30);
/** Held-out sheets of the issue 18 kind (seeds from HELD_OUT_FIRST in common/sheets/cases.ts, never tuned on). */
const HELD_OUT = Number(process.env.BENCH_HELD_OUT_SHEETS ?? 60);
/** Only cases whose label contains this (to look at one kind). */
const ONLY = process.env.BENCH_ONLY ?? "";
/** First seed index of the usual sheets and of each hard kind (0: the bench's own sheets). */
const FIRST = Number(process.env.BENCH_FIRST ?? 0);
const FIRST_HARD = Number(process.env.BENCH_FIRST_HARD ?? 0);
/**
 * A git revision whose crop runs beside this tree's on the same sheets, alternating which goes first
 * sheet by sheet, so both are timed under the same load: its `container/` is extracted with
 * `git archive` into a temporary directory.
 */
const BASELINE = process.env.BENCH_BASELINE;
const tmp = mkdtempSync(path.join(tmpdir(), "bench-crop-"));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

type Crop = Pick<typeof current, "cropSheet" | "detectSheet">;

/** `rev`'s crop, from its own `container/` (and `src/domain/`) beside this checkout's node_modules. */
async function cropAt(rev: string): Promise<{ name: string; crop: Crop }> {
  const repo = path.resolve(import.meta.dirname, "../..");
  const sha = execFileSync("git", ["rev-parse", "--short", rev], { cwd: repo, encoding: "utf8" }).trim();
  const dir = path.join(tmpdir(), `atelier-crop-baseline-${sha}`);
  if (!existsSync(path.join(dir, "container/crop.ts"))) {
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync("git", ["archive", sha, "container", "src/domain"], { cwd: repo, maxBuffer: 1 << 28 });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
  }
  if (!existsSync(path.join(dir, "node_modules"))) symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
  return { name: sha, crop: (await import(pathToFileURL(path.join(dir, "container/crop.ts")).href)) as Crop };
}

interface Tally {
  name: string;
  crop: Crop;
  cropMs: number[];
  detectMs: number[];
  cells: number;
  good: number;
  failures: string[];
  perKind: Map<string, { sheets: number; cells: number; good: number }>;
}

const tally = (name: string, crop: Crop): Tally => ({ name, crop, cropMs: [], detectMs: [], cells: 0, good: 0, failures: [], perKind: new Map() });

/** One sheet through one crop: detection timed alone, then the whole crop, its boxes judged. */
async function measure(t: Tally, label: string, file: string, cells: Parameters<typeof withinTolerance>[1][], rows: number, cols: number): Promise<string> {
  const out = path.join(tmp, `out-${t.name}`);
  mkdirSync(out);
  const before = { cells: t.cells, good: t.good };
  let outcome = "";
  const t0 = performance.now();
  await t.crop.detectSheet(file, rows, cols);
  t.detectMs.push(performance.now() - t0);
  const t1 = performance.now();
  try {
    const result = await t.crop.cropSheet(file, out, { rows, cols, mode: "detect" });
    t.cropMs.push(performance.now() - t1);
    outcome = JSON.stringify(result.boxes);
    result.boxes.forEach((b, i) => {
      t.cells++;
      if (withinTolerance(b, cells[i]!)) t.good++;
      else t.failures.push(`${label} cell ${i + 1}: box ${JSON.stringify(b)} vs cell ${JSON.stringify(cells[i])}`);
    });
  } catch (err) {
    t.cells += rows * cols;
    t.failures.push(`${label}: ${(err as Error).message}`);
    outcome = (err as Error).message;
  }
  rmSync(out, { recursive: true, force: true });
  const k = t.perKind.get(kindOf(label)) ?? { sheets: 0, cells: 0, good: 0 };
  k.sheets++;
  k.cells += t.cells - before.cells;
  k.good += t.good - before.good;
  t.perKind.set(kindOf(label), k);
  return outcome;
}

function report(t: Tally): void {
  console.log(`${t.name}:`);
  for (const [kind, e] of t.perKind) console.log(`  ${kind}: ${e.sheets} sheets, ${e.good}/${e.cells} cells within tolerance`);
  console.log(`  Cells within tolerance: ${t.good}/${t.cells}${t.failures.length ? "" : " (all)"}`);
  for (const f of t.failures.slice(0, 40)) console.log(`    FAIL ${f}`);
  console.log(
    `  Whole crop per sheet (decode, detect, cut, normalise, write the PNGs): median ${median(t.cropMs)!.toFixed(0)} ms, p90 ${p90(t.cropMs)!.toFixed(0)} ms (target median < 150 ms)`,
  );
  console.log(`  Detection alone (decode + detect): median ${median(t.detectMs)!.toFixed(0)} ms`);
}

async function main() {
  const cases = benchCases({ count: COUNT, hard: HARD, heldOut: HELD_OUT, only: ONLY, first: FIRST, firstHard: FIRST_HARD });
  const runs = [tally("this tree", current)];
  if (BASELINE) {
    const { name, crop } = await cropAt(BASELINE);
    runs.push(tally(`baseline ${name}`, crop));
  }
  /** Sheets whose boxes (or refusal) differ between this tree and the baseline. */
  const differ: string[] = [];
  console.log(
    `Load average at the start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")} (${cpus().length} cores)`,
  );
  for (const [n, { label, spec }] of cases.entries()) {
    const sheet = await drawSheet(spec);
    const file = path.join(tmp, `sheet-${n}.${spec.format === "jpeg" ? "jpg" : "png"}`);
    writeFileSync(file, sheet.buffer);
    // Alternate which crop goes first, so neither always meets a warm (or cold) cache.
    const order = n % 2 ? [...runs].reverse() : runs;
    const outcomes = new Map<Tally, string>();
    for (const t of order) outcomes.set(t, await measure(t, label, file, sheet.cells, spec.rows ?? 2, spec.cols ?? 3));
    if (new Set(outcomes.values()).size > 1) differ.push(label);
    rmSync(file, { force: true });
    if ((n + 1) % 25 === 0) {
      const line = runs.map((t) => `${t.name} ${t.good}/${t.cells} cells, crop median ${median(t.cropMs)!.toFixed(0)} ms`).join("; ");
      console.log(`  ${n + 1}/${cases.length} sheets: ${line}, load ${loadavg()[0]!.toFixed(1)}`);
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  console.log(`Sheets: ${cases.length} at 2528×1696`);
  for (const t of runs) report(t);
  if (runs.length === 2) {
    const [a, b] = runs as [Tally, Tally];
    console.log(`Sheets whose boxes differ from the baseline's: ${differ.length}${differ.length ? ` (${differ.slice(0, 20).join("; ")})` : ""}`);
    console.log(
      `Whole crop median, this tree / baseline: ${(median(a.cropMs)! / median(b.cropMs)!).toFixed(3)}; detection: ${(median(a.detectMs)! / median(b.detectMs)!).toFixed(3)}`,
    );
  }
  console.log(
    `Load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")} (${cpus().length} cores)`,
  );
  if (runs[0]!.failures.length) process.exitCode = 1;
}

await main();
