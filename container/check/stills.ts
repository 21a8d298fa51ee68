/**
 * Checks of a still against the references (issue 19): the garment found and its colours kept, the
 * accessory in view, the model's face kept, and the stills' garment colours continuous with the
 * hero's. Each reference is analysed once per job (`analyseReference`), each still once
 * (`measureStill`).
 */
import type { Finding, ReferenceRole, Region } from "../../src/domain/findings.ts";
import { colourName, deltaE00Lab, rgbToLab, type Lab } from "../../common/colour.ts";
import { findFace, halve, loadPicture, productMask, resampleBox, type Picture } from "./image.ts";
import { findPatches, type Match, type Patch, type SearchOptions } from "./match.ts";
import * as P from "./params.ts";

export interface Reference {
  name: string;
  role: ReferenceRole;
  label: string;
  /** What to look for; undefined when the reference has nothing to find (no face, no product on a backdrop). */
  patch?: Patch;
  /** Why there is no patch. */
  problem?: string;
  /** Garment: its dominant colours (Lab) and their shares of the garment. */
  colours?: { lab: Lab; share: number }[];
}

export interface Still {
  name: string;
  fine: Picture;
  coarse: Picture;
  /** The file, for a closer look (`closer`), and that look once made (several accessories share it). */
  file?: string;
  near?: Promise<Still | undefined>;
}

/** A garment's colours as measured on one still (for continuity): per reference colour, the output's. */
export interface GarmentReading {
  still: string;
  reference: string;
  colours: (Lab | undefined)[];
  region: Finding["region"];
  /** How sure the place is (the luma NCC there). */
  likeness: number;
}

function ellipseMask(w: number, h: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = (x + 0.5 - w / 2) / (w / 2);
      const dy = (y + 0.5 - h / 2) / (h / 2);
      m[y * w + x] = dx * dx + dy * dy <= 1 ? 1 : 0;
    }
  }
  return m;
}

/** Plain k-means in Lab with a deterministic start (lightness quantiles). */
function kmeans(points: Lab[], k: number): { lab: Lab; share: number }[] {
  if (!points.length) return [];
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  const centres: Lab[] = Array.from({ length: k }, (_, i) => [...sorted[Math.floor(((i + 0.5) / k) * sorted.length)]!] as Lab);
  const assign = new Int32Array(points.length);
  for (let iter = 0; iter < 12; iter++) {
    const sums = centres.map(() => [0, 0, 0, 0]);
    points.forEach((p, i) => {
      let best = 0;
      let bestD = Infinity;
      centres.forEach((c, j) => {
        const d = (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      });
      assign[i] = best;
      const s = sums[best]!;
      s[0] += p[0];
      s[1] += p[1];
      s[2] += p[2];
      s[3]!++;
    });
    sums.forEach((s, j) => {
      if (s[3]) centres[j] = [s[0]! / s[3]!, s[1]! / s[3]!, s[2]! / s[3]!];
    });
  }
  const counts = centres.map(() => 0);
  for (const a of assign) counts[a]!++;
  return centres.map((lab, j) => ({ lab, share: counts[j]! / points.length })).filter((c) => c.share > 0);
}

/** Reduced copies of a patch's colours and mask (each half the last), so resampling costs what the target does. */
const levels = new WeakMap<Patch, { w: number; h: number; rgb: Float32Array[]; mask?: Float32Array }[]>();

function levelFor(patch: Patch, h: number) {
  let list = levels.get(patch);
  if (!list) {
    const { pic, box } = patch;
    list = [];
    for (let lh = box.h, lw = box.w; lh >= 8; lh = Math.floor(lh / 2), lw = Math.floor(lw / 2)) {
      const b = list.length ? { x: 0, y: 0, w: list.at(-1)!.w, h: list.at(-1)!.h } : box;
      const prev = list.at(-1);
      const srcW = prev ? prev.w : pic.width;
      const channel = (c: number) => (prev ? resampleBox(prev.rgb[c]!, srcW, b, lw, lh) : resampleBox(pic.rgb, pic.width, box, lw, lh, 3, c));
      const mask = prev
        ? prev.mask
          ? resampleBox(prev.mask, srcW, b, lw, lh)
          : undefined
        : patch.mask
          ? resampleBox(patch.mask, pic.width, box, lw, lh)
          : undefined;
      list.push({ w: lw, h: lh, rgb: [channel(0), channel(1), channel(2)], ...(mask ? { mask } : {}) });
    }
    levels.set(patch, list);
  }
  // The smallest copy still at least as tall as the target.
  return [...list].reverse().find((l) => l.h >= h) ?? list[0]!;
}

/**
 * The item's pixels of a patch, resampled to w×h, as Lab (undefined outside its mask); with
 * `step` 2, only every other pixel each way is converted (the others undefined).
 */
function patchColours(patch: Patch, w: number, h: number, step = 1): (Lab | undefined)[] {
  const level = levelFor(patch, h);
  const box = { x: 0, y: 0, w: level.w, h: level.h };
  const r = resampleBox(level.rgb[0]!, level.w, box, w, h);
  const g = resampleBox(level.rgb[1]!, level.w, box, w, h);
  const b = resampleBox(level.rgb[2]!, level.w, box, w, h);
  const m = level.mask ? resampleBox(level.mask, level.w, box, w, h) : undefined;
  const out: (Lab | undefined)[] = [];
  for (let i = 0; i < w * h; i++) {
    const sampled = step === 1 || ((i % w) % step === 0 && Math.floor(i / w) % step === 0);
    // Only the item's inside: pixels at its edge blend with whatever is behind it.
    out.push(sampled && (!m || m[i]! > 0.97) ? rgbToLab(Math.round(r[i]!), Math.round(g[i]!), Math.round(b[i]!)) : undefined);
  }
  return out;
}

const nearest = (p: Lab, centres: { lab: Lab }[]) => {
  let best = 0;
  let bestD = Infinity;
  centres.forEach((c, j) => {
    const d = (p[0] - c.lab[0]) ** 2 + (p[1] - c.lab[1]) ** 2 + (p[2] - c.lab[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = j;
    }
  });
  return best;
};

const medianLab = (xs: Lab[]): Lab | undefined => {
  if (xs.length < 4) return undefined;
  const m = (c: 0 | 1 | 2) => {
    const v = xs.map((x) => x[c]).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)]!;
  };
  return [m(0), m(1), m(2)];
};

/** Decodes a reference and finds what the checks look for in it (in `given`, when the job says where). */
export async function analyseReference(name: string, file: string, role: ReferenceRole, label: string, given?: Region): Promise<Reference> {
  const pic = await loadPicture(file, P.REFERENCE_EDGE, `reference "${name}"`);
  const givenBox = given && {
    x: Math.round(given.x * pic.width),
    y: Math.round(given.y * pic.height),
    w: Math.max(4, Math.min(pic.width - Math.round(given.x * pic.width), Math.round(given.w * pic.width))),
    h: Math.max(4, Math.min(pic.height - Math.round(given.y * pic.height), Math.round(given.h * pic.height))),
  };
  if (role === "model") {
    const face = givenBox ?? findFace(pic);
    if (!face) {
      return {
        name,
        role,
        label,
        problem: `no face found in the model reference "${name}" (none, or the background is skin-coloured too); give its box in params.references`,
      };
    }
    // The face itself, as an ellipse inside the skin region (or the box given): hair and what is
    // behind the head change between shots and would outweigh the features.
    const inset = givenBox ? 0 : 0.06;
    const x = Math.round(face.x + face.w * inset);
    const y = Math.round(face.y + face.h * inset * 0.5);
    const w = Math.max(4, Math.round(face.w * (1 - 2 * inset)));
    const h = Math.max(4, Math.min(pic.height - y, Math.round(face.h * (1 - inset))));
    const box = { x, y, w, h };
    const mask = new Uint8Array(pic.width * pic.height);
    const e = ellipseMask(w, h);
    for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) mask[(y + yy) * pic.width + x + xx] = e[yy * w + xx]!;
    return { name, role, label, patch: { pic, box, mask } };
  }
  const product = givenBox ? undefined : productMask(pic);
  // A product photographed on location (no plain backdrop): the box given, else the whole picture, is the template.
  const patch: Patch = product ? { pic, box: product.box, mask: product.mask } : { pic, box: givenBox ?? { x: 0, y: 0, w: pic.width, h: pic.height } };
  const ref: Reference = { name, role, label, patch };
  if (role === "garment") {
    const h = 64;
    const w = Math.max(4, Math.round((h * patch.box.w) / patch.box.h));
    const points = patchColours(patch, w, h).filter((p): p is Lab => !!p);
    ref.colours = kmeans(points, 3).sort((a, b) => b.share - a.share);
  }
  return ref;
}

export async function loadStill(name: string, file: string): Promise<Still> {
  const fine = await loadPicture(file, P.STILL_EDGE, `still "${name}"`);
  return { name, fine, coarse: halve(fine), file };
}

/** The still at `CLOSER_EDGE` (its fine picture as the coarse level), decoded only when asked. */
function closer(still: Still): Promise<Still | undefined> {
  const file = still.file;
  if (!file) return Promise.resolve(undefined);
  still.near ??= loadPicture(file, P.CLOSER_EDGE, `still "${still.name}"`).then((fine) =>
    fine.width > still.fine.width ? { name: still.name, fine, coarse: still.fine } : undefined,
  );
  return still.near;
}

const region = (m: Match, p: Picture) => ({
  x: clamp01(m.x / p.width),
  y: clamp01(m.y / p.height),
  w: clamp01(m.w / p.width),
  h: clamp01(m.h / p.height),
});
const clamp01 = (v: number) => Math.min(1, Math.max(0, Number(v.toFixed(4))));
const r2 = (v: number) => Number(v.toFixed(2));

/** The colours of the garment where it was found: for each reference colour, the output's median there. */
function readGarment(ref: Reference, still: Still, m: Match): (Lab | undefined)[] {
  const colours = ref.colours ?? [];
  // Every other pixel each way, as for `colourGap`.
  const refPixels = patchColours(ref.patch!, m.w, m.h, 2);
  const groups: Lab[][] = colours.map(() => []);
  const p = still.fine;
  for (let y = 0; y < m.h; y += 2) {
    for (let x = 0; x < m.w; x += 2) {
      const rp = refPixels[y * m.w + x];
      if (!rp) continue;
      const i = ((m.y + y) * p.width + m.x + x) * 3;
      groups[nearest(rp, colours)]!.push(rgbToLab(p.rgb[i]!, p.rgb[i + 1]!, p.rgb[i + 2]!));
    }
  }
  // The reference's own colour is re-measured the same way (same resolution, same pixels), so a
  // difference is the output's, not the resampling's.
  const refGroups: Lab[][] = colours.map(() => []);
  for (const rp of refPixels) if (rp) refGroups[nearest(rp, colours)]!.push(rp);
  return groups.map((g, j) => {
    const out = medianLab(g);
    const own = medianLab(refGroups[j]!);
    return out && own ? ([out[0] - own[0] + colours[j]!.lab[0], out[1] - own[1] + colours[j]!.lab[1], out[2] - own[2] + colours[j]!.lab[2]] as Lab) : undefined;
  });
}

/**
 * How far the colours where a match was found are from the reference's: ΔE00 between the median
 * colour of the reference's pixels and of the output's pixels at the same places (the item's own
 * colour, robust to a few pixels of background at its edge).
 */
function colourGap(patch: Patch, still: Still, m: Match): number {
  // Every other pixel each way: a median needs no more.
  const refPixels = patchColours(patch, m.w, m.h, 2);
  const out: Lab[] = [];
  const own: Lab[] = [];
  const p = still.fine;
  for (let y = 0; y < m.h; y += 2) {
    for (let x = 0; x < m.w; x += 2) {
      const rp = refPixels[y * m.w + x];
      if (!rp) continue;
      const i = ((m.y + y) * p.width + m.x + x) * 3;
      own.push(rp);
      out.push(rgbToLab(p.rgb[i]!, p.rgb[i + 1]!, p.rgb[i + 2]!));
    }
  }
  const a = medianLab(own);
  const b = medianLab(out);
  return a && b ? deltaE00Lab(a, b) : 100;
}

/**
 * Likeness of an item where it was found: the luma NCC, scaled down when its colours are off too
 * (by the ΔE00 beyond `COLOUR_SLACK`, over `COLOUR_SPAN`): a watch's pattern matched by a
 * jacket's buttons, or a face of another skin tone with the same layout, is not the item.
 */
function likeness(patch: Patch, still: Still, m: Match, slack: number = P.COLOUR_SLACK): { value: number; gap: number } {
  const gap = colourGap(patch, still, m);
  const factor = Math.max(0, Math.min(1, 1 - Math.max(0, gap - slack) / P.COLOUR_SPAN));
  return { value: m.score * factor, gap };
}

/** Of the first three places found, the one most like the item in pattern and colour (likeness 0 where none was found). */
function mostLike(patch: Patch, still: Still, places: Match[], slack?: number): { m: Match | undefined; like: { value: number; gap: number } } {
  const best = places
    .slice(0, 3)
    .map((m) => ({ m, like: likeness(patch, still, m, slack) }))
    .sort((a, b) => b.like.value - a.like.value)[0];
  return { m: best?.m, like: best?.like ?? { value: 0, gap: 0 } };
}

/**
 * An accessory: the place most like it (`mostLike`) at 256 px and, when that is below `threshold`,
 * at `CLOSER_EDGE` before the still is flagged (a watch in a half-length shot is about 20 px wide
 * at 256). The place is in the still's fine pixels. (Tried for faces too: on the held-out drift set
 * it cleared two false flags and let two swapped faces pass.)
 */
async function findAccessory(patch: Patch, still: Still, opts: SearchOptions, threshold: number) {
  const first = mostLike(patch, still, findPatches(patch, still.coarse, still.fine, opts));
  if (first.like.value >= threshold) return first;
  const near = await closer(still);
  if (!near) return first;
  const again = mostLike(patch, near, findPatches(patch, near.coarse, near.fine, opts));
  if (!again.m || again.like.value <= first.like.value) return first;
  const k = still.fine.width / near.fine.width;
  return { m: { ...again.m, x: again.m.x * k, y: again.m.y * k, w: again.m.w * k, h: again.m.h * k }, like: again.like };
}

/** Every reference check on one still. */
export async function checkStill(still: Still, refs: Reference[], findings: Finding[], skipped: { asset: string; check: Finding["check"]; reason: string }[]) {
  const readings: GarmentReading[] = [];
  for (const ref of refs) {
    if (!ref.patch) {
      const check = ref.role === "model" ? "identity" : ref.role === "garment" ? "garment-swap" : "accessory";
      skipped.push({ asset: still.name, check, reason: ref.problem ?? `nothing to look for in "${ref.name}"` });
      continue;
    }
    if (ref.role === "garment") {
      // Where the garment is: the place most like it in pattern and colour, if that place is like it
      // enough; else (a recoloured garment) the place most like it in pattern alone.
      const places = findPatches(ref.patch, still.coarse, still.fine, {
        minSize: P.GARMENT_SIZES.min,
        maxSize: P.GARMENT_SIZES.max,
        degrees: P.ROTATIONS,
      });
      const liked = places
        // Likeness is at most the NCC: a place under the bar cannot be the garment.
        .filter((m) => m.score >= P.GARMENT_FOUND)
        .map((m) => ({ m, like: likeness(ref.patch!, still, m).value }))
        .sort((a, b) => b.like - a.like)[0];
      const m = liked && liked.like >= P.GARMENT_FOUND ? liked.m : places[0];
      const score = m?.score ?? 0;
      const found = score >= P.GARMENT_FOUND;
      findings.push({
        asset: still.name,
        check: "garment-swap",
        verdict: found ? "pass" : "flag",
        score: r2(score),
        threshold: P.GARMENT_FOUND,
        ...(m && found ? { region: region(m, still.fine) } : {}),
        reason: found
          ? `the ${ref.label} of the reference is in the picture (likeness ${score.toFixed(2)})`
          : `the ${ref.label} of the reference was not found (best likeness ${score.toFixed(2)}, needs ${P.GARMENT_FOUND}): it may have been swapped for another garment`,
      });
      if (!m || score < P.GARMENT_PLACED) {
        skipped.push({
          asset: still.name,
          check: "garment-colour",
          reason: found
            ? `the ${ref.label} was not placed surely enough (likeness ${score.toFixed(2)}, needs ${P.GARMENT_PLACED}) to measure its colour`
            : `the ${ref.label} was not found, so its colour was not measured`,
        });
        continue;
      }
      const measured = readGarment(ref, still, m);
      readings.push({ still: still.name, reference: ref.name, colours: measured, region: region(m, still.fine), likeness: m.score });
      let worst: { de: number; ref: Lab; out: Lab } | undefined;
      (ref.colours ?? []).forEach((c, j) => {
        const out = measured[j];
        if (!out || c.share < P.GARMENT_COLOUR_SHARE) return;
        const de = deltaE00Lab(c.lab, out);
        if (!worst || de > worst.de) worst = { de, ref: c.lab, out };
      });
      if (!worst) {
        skipped.push({ asset: still.name, check: "garment-colour", reason: `too little of the ${ref.label} in view to measure its colour` });
        continue;
      }
      const w: { de: number; ref: Lab; out: Lab } = worst;
      const drifted = w.de > P.GARMENT_DELTA_E;
      findings.push({
        asset: still.name,
        check: "garment-colour",
        verdict: drifted ? "flag" : "pass",
        score: r2(w.de),
        threshold: P.GARMENT_DELTA_E,
        region: region(m, still.fine),
        reason: drifted
          ? `${ref.label} colour drifted: ΔE00 ${w.de.toFixed(0)} from the reference's ${colourName(w.ref)} (now ${colourName(w.out)})`
          : `${ref.label} colour kept: ΔE00 ${w.de.toFixed(1)} from the reference's ${colourName(w.ref)}`,
      });
    } else if (ref.role === "accessory") {
      const { m, like } = await findAccessory(
        ref.patch,
        still,
        { minSize: P.ACCESSORY_SIZES.min, maxSize: P.ACCESSORY_SIZES.max, degrees: P.ROTATIONS },
        P.ACCESSORY_FOUND,
      );
      const score = like.value;
      const found = score >= P.ACCESSORY_FOUND;
      findings.push({
        asset: still.name,
        check: "accessory",
        verdict: found ? "pass" : "flag",
        score: r2(score),
        threshold: P.ACCESSORY_FOUND,
        ...(m && found ? { region: region(m, still.fine) } : {}),
        reason: found
          ? `the ${ref.label} is in the picture (likeness ${score.toFixed(2)})`
          : `the ${ref.label} is missing: nothing in the picture looks like the reference (best likeness ${score.toFixed(2)}, needs ${P.ACCESSORY_FOUND}; pattern ${(m?.score ?? 0).toFixed(2)}, colour ΔE00 ${like.gap.toFixed(0)})`,
      });
    } else {
      let { m, like } = mostLike(
        ref.patch,
        still,
        findPatches(ref.patch, still.coarse, still.fine, { minSize: P.FACE_SIZES.min, maxSize: P.FACE_SIZES.max, candidates: 4 }),
        P.FACE_COLOUR_SLACK,
      );
      // Not the model's face at first look: the smaller faces searched again on the 256 px picture
      // itself (a face 13–20 px tall at 128 px is lost among hair and collars there).
      if (like.value < P.IDENTITY_FOUND) {
        const places = findPatches(ref.patch, still.fine, still.fine, { minSize: P.FACE_SIZES.min, maxSize: P.FACE_SECOND_LOOK_MAX, candidates: 4 });
        const again = mostLike(ref.patch, still, places, P.FACE_COLOUR_SLACK);
        if (again.like.value > like.value) ({ m, like } = again);
      }
      const score = like.value;
      const same = score >= P.IDENTITY_FOUND;
      findings.push({
        asset: still.name,
        check: "identity",
        verdict: same ? "pass" : "flag",
        score: r2(score),
        threshold: P.IDENTITY_FOUND,
        ...(m ? { region: region(m, still.fine) } : {}),
        reason: same
          ? `the model's face matches the reference (likeness ${score.toFixed(2)})`
          : `the face does not match the model reference (likeness ${score.toFixed(2)}, needs ${P.IDENTITY_FOUND}; pattern ${(m?.score ?? 0).toFixed(2)}, skin and hair colour ΔE00 ${like.gap.toFixed(0)}): the model may have changed`,
      });
    }
  }
  return readings;
}

/**
 * Continuity: each still's garment colours against the hero's (or, without a hero, the stills'
 * median), colour by colour. Stills where the garment was not found take no part.
 */
export function checkContinuity(readings: GarmentReading[], refs: Reference[], hero: string | undefined, findings: Finding[]): void {
  for (const ref of refs) {
    if (ref.role !== "garment" || !ref.colours) continue;
    // Only stills where the garment was placed surely: a misplaced reading would differ from all.
    const mine = readings.filter((r) => r.reference === ref.name && r.likeness >= P.CONTINUITY_PLACED);
    if (mine.length < 2) continue;
    const anchorReading = hero ? mine.find((r) => r.still === hero) : undefined;
    const anchor: (Lab | undefined)[] = ref.colours.map((_, j) => {
      if (anchorReading) return anchorReading.colours[j];
      const all = mine.map((r) => r.colours[j]).filter((c): c is Lab => !!c);
      return medianLab(all);
    });
    for (const r of mine) {
      if (r === anchorReading) continue;
      let worst: { de: number; a: Lab; b: Lab } | undefined;
      ref.colours.forEach((c, j) => {
        const a = anchor[j];
        const b = r.colours[j];
        if (!a || !b || c.share < P.GARMENT_COLOUR_SHARE) return;
        const de = deltaE00Lab(a, b);
        if (!worst || de > worst.de) worst = { de, a, b };
      });
      if (!worst) continue;
      const w: { de: number; a: Lab; b: Lab } = worst;
      const off = w.de > P.CONTINUITY_DELTA_E;
      const against = anchorReading ? "the hero" : "the other stills";
      findings.push({
        asset: r.still,
        check: "continuity",
        verdict: off ? "flag" : "pass",
        score: r2(w.de),
        threshold: P.CONTINUITY_DELTA_E,
        region: r.region,
        reason: off
          ? `${ref.label} does not match ${against}: ΔE00 ${w.de.toFixed(0)} (${colourName(w.b)} here, ${colourName(w.a)} in ${against})`
          : `${ref.label} matches ${against} (ΔE00 ${w.de.toFixed(1)})`,
      });
    }
  }
}
