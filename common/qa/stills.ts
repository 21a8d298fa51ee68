/**
 * Drifted and untouched stills for `npm run bench:qa` and the check tests. Each seed makes a pair
 * from the same references, layout and look: the untouched still and the same still with one defect
 * (the garment recoloured by at least 15 ΔE00, the accessory left out, the garment swapped for
 * another, the face swapped for another), plus a hero from the same references in another layout (the
 * continuity anchor). Two sources: synthetic (references drawn from the seed, common/qa/figures.ts)
 * and the fixture photos (`../shared/fixtures/seed-shoot`: jacket.jpg, watch.jpg and model.jpeg
 * composited; the face swapped for a drawn one or the face in frame-1.png; the garment swapped for
 * a drawn one or the blazer in hero.png).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { deltaE00, rgbToLab } from "../colour.ts";
import { fillHoles } from "../fill-holes.ts";
import { mulberry32 } from "../prng.ts";
import { FIGURE_HAND, FIGURE_HEAD, FIGURE_SIZE, FIGURE_TORSO, accessorySvg, faceSvg, figureSvg, garmentSvg } from "./figures.ts";
import {
  applyLook,
  canvas,
  canvasFrom,
  drawLook,
  drawRecolour,
  encodeCanvas,
  paste,
  recolourSprite,
  sprite,
  spriteColour,
  transformSprite,
  type Canvas,
  type Sprite,
} from "./raw.ts";

export const STILL_DRIFTS = ["garment-recolour", "accessory-removed", "garment-swap", "identity-swap"] as const;
export type StillDrift = (typeof STILL_DRIFTS)[number];
export type Source = "synthetic" | "fixtures";

/** The seed shoot's fixtures, beside the checkout (absent in a user's clone). */
export const FIXTURES = path.resolve(import.meta.dirname, "../../../shared/fixtures/seed-shoot");
export const hasFixtures = () => ["jacket.jpg", "watch.jpg", "model.jpeg"].every((f) => existsSync(path.join(FIXTURES, "references", f)));

/** Where the face is in the fixture model.jpeg (fractions): the room behind him is skin-coloured, so the skin rule cannot find it. */
export const FIXTURE_FACE_BOX = { x: 0.4, y: 0.15, w: 0.19, h: 0.17 } as const;

export interface RefImage {
  name: string;
  role: "garment" | "model" | "accessory";
  label: string;
  data: Buffer;
  box?: { x: number; y: number; w: number; h: number };
}

export interface StillItem {
  label: string;
  source: Source;
  kind: StillDrift;
  drifted: boolean;
  /** What was done (for a drifted item) in words, e.g. "recoloured, ΔE00 23". */
  detail: string;
  refs: RefImage[];
  still: Buffer;
  hero: Buffer;
}

const OUTPUT_SIZES: [number, number][] = [
  [848, 1264],
  [928, 1152],
  [896, 1200],
];

async function svgSprite(svg: string): Promise<Sprite> {
  return sprite(Buffer.from(svg));
}

async function onBackdrop(s: Sprite, rgb: [number, number, number], format: "jpeg" | "png" = "jpeg"): Promise<Buffer> {
  const c = canvas(s.width, s.height);
  for (let i = 0; i < s.width * s.height; i++) {
    c.data[i * 3] = rgb[0];
    c.data[i * 3 + 1] = rgb[1];
    c.data[i * 3 + 2] = rgb[2];
  }
  paste(c, s, 0, 0);
  return encodeCanvas(c, format, 92);
}

function backdrop(width: number, height: number, rand: () => number): Canvas {
  const c = canvas(width, height);
  const top = [40 + rand() * 200, 40 + rand() * 200, 40 + rand() * 200];
  const low = top.map((v) => v * (0.6 + rand() * 0.3));
  const floor = top.map((v) => v * (0.45 + rand() * 0.3));
  const horizon = height * (0.7 + rand() * 0.15);
  for (let y = 0; y < height; y++) {
    const t = y / horizon;
    const col = y < horizon ? top.map((v, k) => v + (low[k]! - v) * t) : floor;
    for (let x = 0; x < width; x++) for (let k = 0; k < 3; k++) c.data[(y * width + x) * 3 + k] = Math.round(col[k]!);
  }
  return c;
}

interface Pieces {
  garment?: Sprite;
  accessory?: Sprite;
  accessoryWidth: number;
  figure: Sprite;
}

/** A synthetic scene: backdrop, the figure, the garment over its torso, the accessory at its hand. */
async function syntheticScene(p: Pieces, width: number, height: number, layoutSeed: number): Promise<Canvas> {
  const rand = mulberry32(layoutSeed);
  const c = backdrop(width, height, rand);
  const k = (height * (0.72 + rand() * 0.23)) / FIGURE_SIZE.height;
  const fx = width * (0.5 + (rand() - 0.5) * 0.24) - (FIGURE_SIZE.width * k) / 2;
  const fy = height * (0.97 + rand() * 0.03) - FIGURE_SIZE.height * k;
  const figure = await transformSprite(p.figure, FIGURE_SIZE.width * k);
  paste(c, figure, fx, fy);
  if (p.garment) {
    const gw = FIGURE_TORSO.width * 2.1 * k * (0.95 + rand() * 0.1);
    const g = await transformSprite(p.garment, gw, (rand() - 0.5) * 6);
    // The collar sits at the shoulders (figure y ≈ 255), below the chin.
    paste(c, g, fx + FIGURE_TORSO.x * k - g.width / 2, fy + (FIGURE_TORSO.y - 115) * k);
  }
  if (p.accessory) {
    const a = await transformSprite(p.accessory, p.accessoryWidth * k * (0.9 + rand() * 0.2), (rand() - 0.5) * 6);
    paste(c, a, fx + FIGURE_HAND.x * k - a.width / 2, fy + FIGURE_HAND.y * k - a.height * 0.3);
  }
  return c;
}

/** Accessory widths in figure pixels: held or worn large enough to see at the checks' 256 px (a wristwatch in a full-length shot is smaller; see docs/benchmarks.md). */
const ACCESSORY_WIDTH = { watch: 150, bag: 230, sunglasses: 190, hat: 200 } as const;

async function finish(c: Canvas, seed: number): Promise<Buffer> {
  const rand = mulberry32(seed * 31 + 17);
  const look = drawLook(rand);
  applyLook(c, look, rand);
  const jpeg = rand() < 0.7;
  return encodeCanvas(c, jpeg ? "jpeg" : "png", 78 + Math.round(rand() * 17), look.blur);
}

/** Recolours a sprite by at least 15 ΔE00 of its dominant colour, as measured on the result. */
function recoloured(s: Sprite, rand: () => number): { sprite: Sprite; de: number } {
  const before = spriteColour(s);
  let best: { sprite: Sprite; de: number } | undefined;
  for (let i = 0; i < 12; i++) {
    const { recolour, shift } = drawRecolour(before, rand, 17);
    const out = recolourSprite(s, recolour, shift);
    const after = spriteColour(out);
    const de = deltaE00(before[0], before[1], before[2], after[0], after[1], after[2]);
    if (!best || de > best.de) best = { sprite: out, de };
    if (de >= 15) return { sprite: out, de };
  }
  return best!;
}

async function syntheticPair(kind: StillDrift, seed: number): Promise<[StillItem, StillItem]> {
  const rand = mulberry32(seed * 2654435761);
  const garment = await svgSprite(garmentSvg(seed));
  const acc = accessorySvg(seed);
  const accessory = await svgSprite(acc.svg);
  const figure = await svgSprite(figureSvg(seed, seed));
  const refBackdrop: [number, number, number] = [236 + Math.round(rand() * 18), 236 + Math.round(rand() * 18), 236 + Math.round(rand() * 18)];
  const modelBackdrop = (
    [
      [200, 206, 212],
      [170, 190, 200],
      [190, 200, 186],
      [120, 130, 140],
    ] as [number, number, number][]
  )[seed % 4]!;
  const refs: RefImage[] = [
    { name: "garment", role: "garment", label: "jacket", data: await onBackdrop(garment, refBackdrop) },
    { name: "accessory", role: "accessory", label: acc.kind, data: await onBackdrop(accessory, [250, 250, 250]) },
    { name: "model", role: "model", label: "model", data: await onBackdrop(figure, modelBackdrop) },
  ];
  const [width, height] = OUTPUT_SIZES[seed % OUTPUT_SIZES.length]!;
  const pieces: Pieces = { garment, accessory, accessoryWidth: ACCESSORY_WIDTH[acc.kind], figure };
  // Each kind's pair has its own layout and look; the references and the hero are the seed's.
  const layout = seed * 7 + 1 + STILL_DRIFTS.indexOf(kind) * 1_000_003;
  const look = seed + STILL_DRIFTS.indexOf(kind) * 1_000_003;
  const untouched = await finish(await syntheticScene(pieces, width, height, layout), look);
  const hero = await finish(await syntheticScene(pieces, width, height, seed * 7 + 100_001), seed + 100_000);
  let detail = "";
  const changed: Pieces = { ...pieces };
  if (kind === "garment-recolour") {
    const r = recoloured(garment, rand);
    changed.garment = r.sprite;
    detail = `jacket recoloured, ΔE00 ${r.de.toFixed(0)}`;
  } else if (kind === "accessory-removed") {
    changed.accessory = undefined;
    detail = `${acc.kind} left out`;
  } else if (kind === "garment-swap") {
    changed.garment = await svgSprite(garmentSvg(seed + 500_000));
    detail = "another jacket";
  } else {
    changed.figure = await svgSprite(figureSvg(seed, seed + 700_000));
    detail = "another face";
  }
  const drifted = await finish(await syntheticScene(changed, width, height, layout), look);
  const label = `synthetic #${seed}`;
  return [
    { label, source: "synthetic", kind, drifted: false, detail: "", refs, still: untouched, hero },
    { label, source: "synthetic", kind, drifted: true, detail, refs, still: drifted, hero },
  ];
}

// ---------------------------------------------------------------------------------------------
// From the fixture photos

interface FixturePieces {
  model: Buffer;
  jacket: Sprite;
  watch: Sprite;
  herFace?: Sprite;
  blazer?: Sprite;
  refs: RefImage[];
}

let fixturePieces: Promise<FixturePieces> | undefined;

/**
 * A product shot's product as a sprite: pixels off the backdrop, holes filled. The backdrop is taken
 * as a smooth surface through the picture's border (each side's colour, blended inward), so a studio
 * lit brighter at the top than at the floor is backdrop everywhere.
 */
async function cutOut(file: Buffer, width: number): Promise<Sprite> {
  const { data, info } = await sharp(file).removeAlpha().resize({ width }).raw().toBuffer({ resolveWithObject: true });
  const w = info.width;
  const h = info.height;
  const lab = (x: number, y: number) => rgbToLab(data[(y * w + x) * 3]!, data[(y * w + x) * 3 + 1]!, data[(y * w + x) * 3 + 2]!);
  const band = Math.max(2, Math.round(w * 0.03));
  const med = (xs: number[][]) => [0, 1, 2].map((c) => xs.map((e) => e[c]!).sort((p, q) => p - q)[Math.floor(xs.length / 2)]!);
  const left = Array.from({ length: h }, (_, y) => med(Array.from({ length: band }, (_, k) => lab(k, y))));
  const right = Array.from({ length: h }, (_, y) => med(Array.from({ length: band }, (_, k) => lab(w - 1 - k, y))));
  const top = Array.from({ length: w }, (_, x) => med(Array.from({ length: band }, (_, k) => lab(x, k))));
  const bottom = Array.from({ length: w }, (_, x) => med(Array.from({ length: band }, (_, k) => lab(x, h - 1 - k))));
  const on = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = x / (w - 1);
      const v = y / (h - 1);
      const bg = [0, 1, 2].map(
        (c) =>
          (1 - u) * left[y]![c]! +
          u * right[y]![c]! +
          (1 - v) * top[x]![c]! +
          v * bottom[x]![c]! -
          ((1 - u) * (1 - v) * top[0]![c]! + u * (1 - v) * top[w - 1]![c]! + (1 - u) * v * bottom[0]![c]! + u * v * bottom[w - 1]![c]!),
      );
      const p = lab(x, y);
      on[y * w + x] = Math.hypot(p[0] - bg[0]!, (p[1] - bg[1]!) * 1.5, (p[2] - bg[2]!) * 1.5) > 14 ? 1 : 0;
    }
  }
  const mask = fillHoles(on, w, h);
  const out = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    out[i * 4] = data[i * 3]!;
    out[i * 4 + 1] = data[i * 3 + 1]!;
    out[i * 4 + 2] = data[i * 3 + 2]!;
    out[i * 4 + 3] = mask[i] ? 255 : 0;
  }
  return { width: w, height: h, data: out };
}

function loadFixtures(): Promise<FixturePieces> {
  fixturePieces ??= (async () => {
    const ref = (f: string) => readFileSync(path.join(FIXTURES, "references", f));
    const jacketFile = ref("jacket.jpg");
    const watchFile = ref("watch.jpg");
    const model = ref("model.jpeg");
    const frame1 = path.join(FIXTURES, "frames", "frame-1.png");
    const heroFile = path.join(FIXTURES, "references", "hero.png");
    // Her face in frame-1 (a close-up portrait), as an ellipse.
    let herFace: Sprite | undefined;
    if (existsSync(frame1)) {
      const { data, info } = await sharp(readFileSync(frame1))
        .extract({ left: 180, top: 20, width: 460, height: 560 })
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const d = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (let y = 0; y < info.height; y++) {
        for (let x = 0; x < info.width; x++) {
          const e = ((x - info.width / 2) / (info.width / 2)) ** 2 + ((y - info.height / 2) / (info.height / 2)) ** 2;
          d[(y * info.width + x) * 4 + 3] = e >= 1 ? 0 : Math.round(255 * Math.min(1, (1 - e) * 4));
        }
      }
      herFace = { width: info.width, height: info.height, data: d };
    }
    // The patterned blazer of hero.png (a different garment on the same man).
    const blazer = existsSync(heroFile)
      ? await sprite(await sharp(readFileSync(heroFile)).extract({ left: 150, top: 420, width: 560, height: 620 }).png().toBuffer())
      : undefined;
    return {
      model,
      jacket: await cutOut(jacketFile, 700),
      watch: await cutOut(watchFile, 500),
      herFace,
      blazer,
      refs: [
        { name: "garment", role: "garment", label: "jacket", data: jacketFile },
        { name: "accessory", role: "accessory", label: "watch", data: watchFile },
        { name: "model", role: "model", label: "model", data: model, box: { ...FIXTURE_FACE_BOX } },
      ],
    };
  })();
  return fixturePieces;
}

interface FixtureChanges {
  jacket?: Sprite | null;
  watch?: Sprite | null;
  face?: Sprite;
}

/** model.jpeg zoomed and moved, the jacket over his torso, the watch at his hand. */
async function fixtureScene(f: FixturePieces, layoutSeed: number, changes: FixtureChanges): Promise<Canvas> {
  const rand = mulberry32(layoutSeed);
  const [width, height] = [848, 1264];
  const zoom = 1 + rand() * 0.25;
  const base = await canvasFrom(f.model, Math.round(width * zoom), Math.round(height * zoom));
  const ox = Math.round(rand() * (base.width - width));
  const oy = Math.round(rand() * (base.height - height));
  const c = canvas(width, height);
  for (let y = 0; y < height; y++) c.data.set(base.data.subarray(((y + oy) * base.width + ox) * 3, ((y + oy) * base.width + ox + width) * 3), y * width * 3);
  const X = (fx: number) => fx * base.width - ox;
  const Y = (fy: number) => fy * base.height - oy;
  if (changes.face) {
    const b = FIXTURE_FACE_BOX;
    const fw = b.w * base.width * 1.15;
    const s = await transformSprite(changes.face, fw);
    paste(c, s, X(b.x + b.w / 2) - s.width / 2, Y(b.y + b.h / 2) - s.height / 2);
  }
  const jacket = changes.jacket === null ? undefined : (changes.jacket ?? f.jacket);
  if (jacket) {
    const s = await transformSprite(jacket, base.width * (0.6 + rand() * 0.06), (rand() - 0.5) * 6);
    paste(c, s, X(0.52) - s.width / 2, Y(0.33));
  }
  const watch = changes.watch === null ? undefined : (changes.watch ?? f.watch);
  if (watch) {
    const s = await transformSprite(watch, base.width * (0.13 + rand() * 0.03), (rand() - 0.5) * 6);
    // At his hand, kept inside the picture.
    const x = Math.min(width - s.width, Math.max(0, X(0.2 + rand() * 0.05) - s.width / 2));
    const y = Math.min(height - s.height, Math.max(0, Y(0.74 + rand() * 0.05)));
    paste(c, s, x, y);
  }
  return c;
}

async function fixturePair(kind: StillDrift, seed: number): Promise<[StillItem, StillItem]> {
  const f = await loadFixtures();
  const rand = mulberry32(seed * 40503 + 9);
  const layout = seed * 13 + 5 + STILL_DRIFTS.indexOf(kind) * 1_000_003;
  const look = seed + STILL_DRIFTS.indexOf(kind) * 1_000_003;
  const untouched = await finish(await fixtureScene(f, layout, {}), look);
  const hero = await finish(await fixtureScene(f, seed * 13 + 100_005, {}), seed + 100_000);
  let changes: FixtureChanges;
  let detail: string;
  if (kind === "garment-recolour") {
    const r = recoloured(f.jacket, rand);
    changes = { jacket: r.sprite };
    detail = `jacket recoloured, ΔE00 ${r.de.toFixed(0)}`;
  } else if (kind === "accessory-removed") {
    changes = { watch: null };
    detail = "watch left out";
  } else if (kind === "garment-swap") {
    const useBlazer = f.blazer && seed % 3 === 0;
    changes = { jacket: useBlazer ? f.blazer! : await svgSprite(garmentSvg(seed + 500_000)) };
    detail = useBlazer ? "the blazer of hero.png instead of the jacket" : "a drawn jacket instead";
  } else {
    const useHers = f.herFace && seed % 2 === 1;
    if (useHers) changes = { face: f.herFace! };
    else {
      const face = await svgSprite(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${FIGURE_SIZE.width}" height="${FIGURE_SIZE.height}">${faceSvg(seed + 700_000)}</svg>`,
      );
      const { x, y } = FIGURE_HEAD;
      const crop = await sharp(Buffer.from(face.data), { raw: { width: face.width, height: face.height, channels: 4 } })
        .extract({ left: x - 100, top: y - 115, width: 200, height: 230 })
        .png()
        .toBuffer();
      changes = { face: await sprite(crop) };
    }
    detail = useHers ? "her face (frame-1.png) on him" : "a drawn face on him";
  }
  const drifted = await finish(await fixtureScene(f, layout, changes), look);
  const label = `fixtures #${seed}`;
  return [
    { label, source: "fixtures", kind, drifted: false, detail: "", refs: f.refs, still: untouched, hero },
    { label, source: "fixtures", kind, drifted: true, detail, refs: f.refs, still: drifted, hero },
  ];
}

/** The untouched and the drifted still of one seed. */
export function stillPair(kind: StillDrift, seed: number, source: Source): Promise<[StillItem, StillItem]> {
  return source === "fixtures" ? fixturePair(kind, seed) : syntheticPair(kind, seed);
}
