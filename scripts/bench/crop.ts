/**
 * `npm run bench:crop`: grid detection on generated 2528×1696 contact sheets with the variations a
 * generator produces (white, black, grey and coloured gutters 3–45 px, margins 0–80 px, cells a few
 * percent unequal, JPEG, noise, white studio backdrops touching white gutters, 2×2 and 3×3 grids),
 * plus sheets built from the fixture frames when present. Every cell must be found within tolerance:
 * the box holds no gutter pixel and covers at least 98 % of its true cell. Reports the median time
 * per sheet of the whole crop (decode, detect, cut and normalise six frames) and of detection alone.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { cropSheet, detectGrid, loadRgb } from "../../container/crop.ts";
import { makeSheet, type Rect, type SheetSpec } from "../../tests/node/container/fixtures/sheets.ts";
import { noisyGreySpec, offsetSpec, randomSpec, whiteSpec } from "../../tests/node/container/fixtures/sheet-kinds.ts";

const COUNT = Number(process.env.BENCH_SHEETS ?? 240);
/** Sheets of each harder kind (offset cells, seamless white on white, noisy grey gutters). */
const HARD = Number(process.env.BENCH_HARD_SHEETS ?? 30);
/** Only cases whose label contains this (to look at one kind). */
const ONLY = process.env.BENCH_ONLY ?? "";
const FIXTURES = path.resolve(import.meta.dirname, "../../../shared/fixtures/seed-shoot");
const tmp = mkdtempSync(path.join(tmpdir(), "bench-crop-"));

function withinTolerance(box: Rect, cell: Rect): boolean {
  const inside = box.x >= cell.x && box.y >= cell.y && box.x + box.width <= cell.x + cell.width && box.y + box.height <= cell.y + cell.height;
  return inside && (box.width * box.height) / (cell.width * cell.height) >= 0.98;
}

const kindOf = (label: string) => label.replace(/ #\d+$/, "").replace(/^(fixture \w+),.*$/, "$1");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function fixtureSpecs(): Promise<{ label: string; spec: SheetSpec }[]> {
  const framesDir = path.join(FIXTURES, "frames");
  const refsDir = path.join(FIXTURES, "references");
  if (!existsSync(framesDir)) {
    console.log(`Fixture frames not found at ${framesDir}: generated sheets only.`);
    return [];
  }
  const read = (dir: string, re: RegExp) => readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => readFileSync(path.join(dir, f)));
  const frames = read(framesDir, /^frame-\d\.png$/);
  const refs = existsSync(refsDir) ? read(refsDir, /\.(png|jpe?g)$/i) : [];
  const variants: [string, Partial<SheetSpec>][] = [
    ["white gutters", { gutter: 28, gutterColor: [255, 255, 255], margin: 28 }],
    ["black gutters, JPEG", { gutter: 12, gutterColor: [0, 0, 0], margin: 0, format: "jpeg", quality: 85 }],
    ["grey gutters, wide margin", { gutter: 40, gutterColor: [128, 128, 128], margin: 80 }],
    ["thin off-white, unequal", { gutter: 4, gutterColor: [245, 245, 245], margin: 10, unequal: 0.04 }],
    ["offset cells, white gutters", { gutter: 16, gutterColor: [255, 255, 255], margin: 24, offset: 3, grain: 1 }],
    ["offset and sheared cells, black gutters, JPEG", { gutter: 12, gutterColor: [0, 0, 0], margin: 6, offset: 3, tilt: 1, format: "jpeg", quality: 80 }],
    ["noisy mid-grey gutters", { gutter: 18, gutterColor: [128, 128, 128], margin: 20, noise: 7, grain: 1 }],
    ["noisy mid-grey gutters, offset cells, JPEG", { gutter: 14, gutterColor: [140, 140, 140], margin: 0, noise: 6, offset: 2, format: "jpeg", quality: 85 }],
  ];
  const sets: [string, Buffer[]][] = [["fixture frames", frames]];
  // The references mix white studio shots (jacket, watch) with dark ones: white on white from real photos.
  if (refs.length) sets.push(["fixture references", refs]);
  const refVariants: [string, Partial<SheetSpec>][] = [
    ["white gutters against white studio shots", { gutter: 20, gutterColor: [255, 255, 255], margin: 30, grain: 1 }],
    ["white gutters, offset cells, JPEG", { gutter: 14, gutterColor: [255, 255, 255], margin: 0, offset: 3, format: "jpeg", quality: 82 }],
    ["off-white gutters, no margin", { gutter: 10, gutterColor: [246, 246, 246], margin: 0, noise: 1 }],
    ["noisy grey gutters", { gutter: 16, gutterColor: [120, 120, 120], margin: 16, noise: 6 }],
  ];
  return sets.flatMap(([set, cellImages], k) =>
    [...variants, ...(k > 0 ? refVariants : refVariants.slice(0, 1))].map(([label, v], i) => ({
      label: `${set}, ${label}`,
      spec: { width: 2528, height: 1696, backdrop: "grey", noise: 1, seed: 50 + 20 * k + i, cellImages, ...v } as SheetSpec,
    })),
  );
}

async function main() {
  const cases = [
    ...Array.from({ length: COUNT }, (_, i) => ({ label: `generated #${i}`, spec: randomSpec(i) })),
    ...Array.from({ length: HARD }, (_, i) => ({ label: `offset cells #${i}`, spec: offsetSpec(i) })),
    ...Array.from({ length: HARD }, (_, i) => ({ label: `white on white #${i}`, spec: whiteSpec(i) })),
    ...Array.from({ length: HARD }, (_, i) => ({ label: `noisy grey #${i}`, spec: noisyGreySpec(i) })),
    ...(await fixtureSpecs()),
  ]
    .filter((c) => c.label.includes(ONLY))
    // Interleaved by kind, so the progress lines printed on the way cover every kind.
    .map((c, i, all) => ({ c, key: all.slice(0, i).filter((d) => kindOf(d.label) === kindOf(c.label)).length / all.filter((d) => kindOf(d.label) === kindOf(c.label)).length }))
    .sort((a, b) => a.key - b.key)
    .map(({ c }) => c);
  const cropMs: number[] = [];
  const detectMs: number[] = [];
  let cells = 0;
  let good = 0;
  const failures: string[] = [];
  const perKind: { kind: string; cells: number; good: number }[] = [];
  console.log(`Load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(", ")} (${cpus().length} cores)`);
  for (const [n, { label, spec }] of cases.entries()) {
    const before = { cells, good };
    const sheet = await makeSheet(spec);
    const file = path.join(tmp, `sheet-${n}.${spec.format === "jpeg" ? "jpg" : "png"}`);
    writeFileSync(file, sheet.buffer);
    const out = path.join(tmp, `out-${n}`);
    mkdirSync(out);
    const rows = spec.rows ?? 2;
    const cols = spec.cols ?? 3;

    const t0 = performance.now();
    const img = await loadRgb(file);
    detectGrid(img, rows, cols);
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
