/**
 * `npm run bench:crop`: grid detection on generated 2528×1696 contact sheets with the variations a
 * generator produces (white, black, grey and coloured gutters 3–45 px, margins 0–80 px, cells a few
 * percent unequal, JPEG, noise, white studio backdrops touching white gutters, 2×2 and 3×3 grids),
 * plus sheets built from the fixture frames when present. Every cell must be found within tolerance:
 * the box holds no gutter pixel and covers at least 98 % of its true cell. Reports the median time
 * per sheet of the whole crop (decode, detect, cut and normalise six frames) and of detection alone.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cropSheet, detectGrid, loadRgb } from "../../container/crop.ts";
import { makeSheet, rng, type Rect, type Rgb, type SheetSpec } from "../../tests/node/container/fixtures/sheets.ts";

const COUNT = Number(process.env.BENCH_SHEETS ?? 240);
const FIXTURE_FRAMES = path.resolve(import.meta.dirname, "../../../shared/fixtures/seed-shoot/frames");
const tmp = mkdtempSync(path.join(tmpdir(), "bench-crop-"));

function randomSpec(i: number): SheetSpec {
  const r = rng(1000 + i);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const grid = r() < 0.8 ? { rows: 2, cols: 3 } : pick([{ rows: 2, cols: 2 }, { rows: 3, cols: 3 }]);
  const colours: Rgb[] = [[255, 255, 255], [0, 0, 0], [128, 128, 128], [240, 240, 240], [Math.floor(r() * 255), Math.floor(r() * 255), Math.floor(r() * 255)]];
  const gutterColor = pick(colours);
  const jpeg = r() < 0.5;
  return {
    ...grid,
    width: 2528,
    height: 1696,
    gutter: 3 + Math.floor(r() * 43),
    gutterColor,
    margin: Math.floor(r() * 81),
    unequal: r() * 0.05,
    // A white backdrop against white gutters is the hard case; make it common.
    backdrop: gutterColor[0] === 255 && r() < 0.5 ? "white" : pick(["grey", "white", "black", "warm", "gel"] as const),
    noise: r() * 3,
    format: jpeg ? "jpeg" : "png",
    quality: 70 + Math.floor(r() * 26),
    seed: i,
  };
}

function withinTolerance(box: Rect, cell: Rect): boolean {
  const inside = box.x >= cell.x && box.y >= cell.y && box.x + box.width <= cell.x + cell.width && box.y + box.height <= cell.y + cell.height;
  return inside && (box.width * box.height) / (cell.width * cell.height) >= 0.98;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function fixtureSpecs(): Promise<{ label: string; spec: SheetSpec }[]> {
  if (!existsSync(FIXTURE_FRAMES)) {
    console.log(`Fixture frames not found at ${FIXTURE_FRAMES}: generated sheets only.`);
    return [];
  }
  const files = readdirSync(FIXTURE_FRAMES).filter((f) => /^frame-\d\.png$/.test(f)).sort();
  const cellImages = files.map((f) => readFileSync(path.join(FIXTURE_FRAMES, f)));
  const variants: [string, Partial<SheetSpec>][] = [
    ["white gutters", { gutter: 28, gutterColor: [255, 255, 255], margin: 28 }],
    ["black gutters, JPEG", { gutter: 12, gutterColor: [0, 0, 0], margin: 0, format: "jpeg", quality: 85 }],
    ["grey gutters, wide margin", { gutter: 40, gutterColor: [128, 128, 128], margin: 80 }],
    ["thin off-white, unequal", { gutter: 4, gutterColor: [245, 245, 245], margin: 10, unequal: 0.04 }],
  ];
  return variants.map(([label, v], i) => ({ label: `fixture frames, ${label}`, spec: { width: 2528, height: 1696, backdrop: "grey", noise: 1, seed: 50 + i, cellImages, ...v } as SheetSpec }));
}

async function main() {
  const cases = [
    ...Array.from({ length: COUNT }, (_, i) => ({ label: `generated #${i}`, spec: randomSpec(i) })),
    ...(await fixtureSpecs()),
  ];
  const cropMs: number[] = [];
  const detectMs: number[] = [];
  let cells = 0;
  let good = 0;
  const failures: string[] = [];
  for (const [n, { label, spec }] of cases.entries()) {
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
  }
  rmSync(tmp, { recursive: true, force: true });
  console.log(`Sheets: ${cases.length} (${COUNT} generated at 2528×1696${cases.length > COUNT ? `, ${cases.length - COUNT} from fixture frames` : ""})`);
  console.log(`Cells within tolerance: ${good}/${cells}${failures.length ? "" : " (all)"}`);
  for (const f of failures.slice(0, 20)) console.log(`  FAIL ${f}`);
  console.log(`Whole crop per sheet (decode, detect, cut, normalise, write 6 PNGs): median ${median(cropMs).toFixed(0)} ms, p90 ${p90(cropMs).toFixed(0)} ms (target median < 250 ms)`);
  console.log(`Detection alone (decode + detect): median ${median(detectMs).toFixed(0)} ms`);
  if (failures.length) process.exitCode = 1;
}

await main();
