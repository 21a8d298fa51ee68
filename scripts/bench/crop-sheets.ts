/**
 * Draws the sheets of `npm run bench:crop` (their list is common/sheets/cases.ts) through a cache, so
 * a probe of one sheet (`BENCH_ONLY`) draws exactly what the bench draws, and quickly.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { makeSheet, type Sheet, type SheetSpec } from "../../common/sheets/draw.ts";

/**
 * Drawing a sheet takes several times longer than cropping it, so drawn sheets are kept here between
 * runs, keyed by the spec and the drawing code's source (not the list of kinds, which the spec
 * covers): a changed generator draws afresh.
 * `BENCH_CACHE=0` draws every sheet.
 */
const CACHE = process.env.BENCH_CACHE === "0" ? undefined : path.join(tmpdir(), "atelier-bench-crop-sheets");
const GENERATOR = ["sheets/draw.ts", "prng.ts"].map((f) => readFileSync(path.resolve(import.meta.dirname, "../../common", f))).join("\n");

export async function drawSheet(spec: SheetSpec): Promise<Sheet> {
  if (!CACHE) return makeSheet(spec);
  const key = createHash("sha256")
    .update(GENERATOR)
    .update(JSON.stringify({ ...spec, cellImages: spec.cellImages?.map((b) => createHash("sha256").update(b).digest("hex")) }))
    .digest("hex")
    .slice(0, 32);
  const file = path.join(CACHE, `${key}.sheet`);
  const meta = path.join(CACHE, `${key}.json`);
  if (existsSync(file) && existsSync(meta)) {
    const { width, height, cells } = JSON.parse(readFileSync(meta, "utf8")) as Omit<Sheet, "buffer">;
    return { buffer: readFileSync(file), width, height, cells };
  }
  const sheet = await makeSheet(spec);
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(file, sheet.buffer);
  writeFileSync(meta, JSON.stringify({ width: sheet.width, height: sheet.height, cells: sheet.cells }));
  return sheet;
}
