/**
 * The sheets of `npm run bench:crop`, by label, with their specs: the generator's usual variety, the
 * kinds that broke crop on sheets made another way and sheets built from the fixture photos when
 * `../shared` is beside the checkout. Shared by the bench and the crop tests.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { SheetSpec } from "./draw.ts";
import { bareWhiteSpec, greyMixedSpec, noisyGreySpec, offsetSpec, randomSpec, whiteSpec } from "./kinds.ts";

export interface BenchCase {
  label: string;
  spec: SheetSpec;
}

/** The seed shoot's fixture photos, beside the checkout (not part of a user's clone). */
export const FIXTURES = path.resolve(import.meta.dirname, "../../../shared/fixtures/seed-shoot");

export const kindOf = (label: string) => label.replace(/ #\d+$/, "").replace(/^(fixture \w+),.*$/, "$1");

/** Sheets built from the fixture frames and references, when `../shared` is beside the checkout. */
function fixtureCases(): BenchCase[] {
  const framesDir = path.join(FIXTURES, "frames");
  const refsDir = path.join(FIXTURES, "references");
  if (!existsSync(framesDir)) {
    console.log(`Fixture frames not found at ${framesDir}: generated sheets only.`);
    return [];
  }
  const read = (dir: string, re: RegExp) =>
    readdirSync(dir)
      .filter((f) => re.test(f))
      .sort()
      .map((f) => readFileSync(path.join(dir, f)));
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

/**
 * First seed of the held-out sheets of the issue 18 kinds: crop was tuned on seeds 0–119 and
 * 1000–1059 of them (the bench's own 0–29, probes, and an earlier held-out set whose two misses were
 * then looked at), never on these.
 */
export const HELD_OUT_FIRST = 2000;

/**
 * Every sheet of the bench: `count` of the generator's usual variety, `hard` of each kind from issue 11,
 * and the fixture sheets; only those whose label contains `only`. `first` and `firstHard` are the
 * first seed index of the usual and the hard kinds: the bench draws from 0, and other indices draw
 * sheets it has never drawn (a check that a change is not fitted to the bench's own sheets).
 * `heldOut` sheets of the kinds from issue 18 come from seeds never tuned on (from `HELD_OUT_FIRST`),
 * labelled apart. Interleaved by kind, so progress lines printed on the way cover every kind.
 */
export function benchCases({
  count,
  hard,
  heldOut = 0,
  only = "",
  first = 0,
  firstHard = 0,
}: {
  count: number;
  hard: number;
  heldOut?: number;
  only?: string;
  first?: number;
  firstHard?: number;
}): BenchCase[] {
  const kind = (n: number, from: number, label: string, spec: (i: number) => SheetSpec) =>
    Array.from({ length: n }, (_, k) => ({ label: `${label} #${from + k}`, spec: spec(from + k) }));
  return [
    ...kind(count, first, "generated", randomSpec),
    ...kind(hard, firstHard, "offset cells", offsetSpec),
    ...kind(hard, firstHard, "white on white", whiteSpec),
    ...kind(hard, firstHard, "noisy grey", noisyGreySpec),
    ...kind(hard, firstHard, "bare white on white", bareWhiteSpec),
    ...kind(hard, firstHard, "mid-grey gutters, mixed shots, jittered", greyMixedSpec),
    ...kind(heldOut, HELD_OUT_FIRST, "mid-grey gutters, mixed shots, jittered, held out", greyMixedSpec),
    ...fixtureCases(),
  ]
    .filter((c) => c.label.includes(only))
    .map((c, i, all) => ({
      c,
      key: all.slice(0, i).filter((d) => kindOf(d.label) === kindOf(c.label)).length / all.filter((d) => kindOf(d.label) === kindOf(c.label)).length,
    }))
    .sort((a, b) => a.key - b.key)
    .map(({ c }) => c);
}
