/**
 * `npm run bench:crop`: grid detection on generated 2528×1696 contact sheets with the variations a
 * generator produces (white, black, grey and coloured gutters 3–45 px, margins 0–80 px, cells a few
 * percent unequal, JPEG, noise, white studio backdrops touching white gutters, 2×2 and 3×3 grids),
 * the kinds that broke crop on sheets made another way (issue 11), plus sheets built from the fixture
 * photos when present (`crop-sheets.ts`). Every cell must be found within tolerance: the box holds no
 * gutter pixel and covers at least 98 % of its true cell. Reports the median time per sheet of the
 * whole crop (decode, detect, cut and normalise six frames) and of detection alone.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { cropSheet, detectSheet } from "../../container/crop.ts";
import { withinTolerance } from "../../tests/node/container/fixtures/sheets.ts";
import { benchCases, drawSheet, kindOf } from "./crop-sheets.ts";

const COUNT = Number(process.env.BENCH_SHEETS ?? 240);
/** Sheets of each harder kind (offset cells, seamless white on white, noisy grey gutters). */
const HARD = Number(process.env.BENCH_HARD_SHEETS ?? 30);
/** Only cases whose label contains this (to look at one kind). */
const ONLY = process.env.BENCH_ONLY ?? "";
/** First seed index of the usual sheets and of each hard kind (0: the bench's own sheets). */
const FIRST = Number(process.env.BENCH_FIRST ?? 0);
const FIRST_HARD = Number(process.env.BENCH_FIRST_HARD ?? 0);
const tmp = mkdtempSync(path.join(tmpdir(), "bench-crop-"));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function main() {
  const cases = benchCases({ count: COUNT, hard: HARD, only: ONLY, first: FIRST, firstHard: FIRST_HARD });
  const cropMs: number[] = [];
  const detectMs: number[] = [];
  let cells = 0;
  let good = 0;
  const failures: string[] = [];
  const perKind: { kind: string; cells: number; good: number }[] = [];
  console.log(`Load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(", ")} (${cpus().length} cores)`);
  for (const [n, { label, spec }] of cases.entries()) {
    const before = { cells, good };
    const sheet = await drawSheet(spec);
    const file = path.join(tmp, `sheet-${n}.${spec.format === "jpeg" ? "jpg" : "png"}`);
    writeFileSync(file, sheet.buffer);
    const out = path.join(tmp, `out-${n}`);
    mkdirSync(out);
    const rows = spec.rows ?? 2;
    const cols = spec.cols ?? 3;

    const t0 = performance.now();
    await detectSheet(file, rows, cols);
    detectMs.push(performance.now() - t0);

    const t1 = performance.now();
    try {
      const result = await cropSheet(file, out, { rows, cols, mode: "detect" });
      cropMs.push(performance.now() - t1);
      result.boxes.forEach((b, i) => {
        cells++;
        if (withinTolerance(b, sheet.cells[i])) good++;
        else failures.push(`${label} cell ${i + 1}: box ${JSON.stringify(b)} vs cell ${JSON.stringify(sheet.cells[i])}`);
      });
    } catch (err) {
      cells += rows * cols;
      failures.push(`${label}: ${(err as Error).message}`);
    }
    rmSync(out, { recursive: true, force: true });
    rmSync(file, { force: true });
    perKind.push({ kind: kindOf(label), cells: cells - before.cells, good: good - before.good });
    if ((n + 1) % 25 === 0) {
      console.log(`  ${n + 1}/${cases.length} sheets: ${good}/${cells} cells within tolerance, whole crop median ${median(cropMs).toFixed(0)} ms, detection median ${median(detectMs).toFixed(0)} ms, load ${loadavg()[0]!.toFixed(1)}`);
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  const kinds = new Map<string, { sheets: number; cells: number; good: number }>();
  for (const k of perKind) {
    const e = kinds.get(k.kind) ?? { sheets: 0, cells: 0, good: 0 };
    e.sheets++;
    e.cells += k.cells;
    e.good += k.good;
    kinds.set(k.kind, e);
  }
  console.log(`Sheets: ${cases.length} at 2528×1696`);
  for (const [kind, e] of kinds) console.log(`  ${kind}: ${e.sheets} sheets, ${e.good}/${e.cells} cells within tolerance`);
  console.log(`Cells within tolerance: ${good}/${cells}${failures.length ? "" : " (all)"}`);
  for (const f of failures.slice(0, 40)) console.log(`  FAIL ${f}`);
  console.log(`Whole crop per sheet (decode, detect, cut, normalise, write the PNGs): median ${median(cropMs).toFixed(0)} ms, p90 ${p90(cropMs).toFixed(0)} ms (target median < 150 ms)`);
  console.log(`Detection alone (decode + detect): median ${median(detectMs).toFixed(0)} ms`);
  console.log(`Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(", ")} (${cpus().length} cores)`);
  if (failures.length) process.exitCode = 1;
}

await main();
