/**
 * The quality checks (container/check/) on the provider simulator's own outputs, made the way a
 * shoot makes them: a hero from the references (model, garment, accessory, in that order: the sim's
 * convention), a contact sheet of the hero, its six cells as frames, and clips between neighbouring
 * frames. The workflow runs the gate on exactly these, so untouched outputs must raise no flag (a
 * clean shoot reviewed only on flags must never stop), and the drift the sim injects must be flagged.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { accessorySvg, figureSvg, garmentSvg } from "../../../../common/qa/figures.ts";
import { runChecks, type CheckParams } from "../../../../container/check/index.ts";
import { decodeImage } from "../../../../sim/inputs.ts";
import { gridLayout, synthesizeClip, synthesizeImage, type ImageRequest } from "../../../../sim/synth.ts";
import type { ClipDrift, ImageDrift } from "../../../../sim/drift.ts";
import type { CheckResult } from "../../../../src/domain/findings.ts";

const dir = mkdtempSync(path.join(tmpdir(), "sim-outputs-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const onBackdrop = async (svg: string, bg: string) => sharp(Buffer.from(svg)).flatten({ background: bg }).png().toBuffer();

interface Refs {
  model: Buffer;
  garment: Buffer;
  accessory: Buffer;
  accessoryLabel: string;
}

async function references(seed: number): Promise<Refs> {
  const acc = accessorySvg(seed + 1);
  return {
    model: await onBackdrop(figureSvg(seed, seed), ["#c8ced4", "#aabec8", "#bec8ba", "#78828c"][seed % 4]!),
    garment: await onBackdrop(garmentSvg(seed), "#f2f2f0"),
    accessory: await onBackdrop(acc.svg, "#fafafa"),
    accessoryLabel: acc.kind,
  };
}

const decoded = (data: Buffer) => decodeImage(data, "image_urls", "test");

async function image(prompt: string, inputs: Buffer[], drift?: { kind: ImageDrift; seed: number }, aspectRatio = "auto"): Promise<Buffer> {
  const req: ImageRequest = {
    prompt,
    images: await Promise.all(inputs.map(decoded)),
    aspectRatio,
    resolution: "1K",
    outputFormat: "png",
    ...(drift ? { drift } : {}),
  };
  return (await synthesizeImage(req)).data;
}

const heroPrompt = (setting: string) =>
  `Show me a high fashion photoshoot image of the subject from the reference photo wearing the outfit and accessories from the reference images. Full-body shot.\nSetting: ${setting}`;
const SHEET_PROMPT = "Output one 2x3 contact sheet: six frames in a grid with thin uniform gutters, the same scene. Exactly six keyframes.";

/** The six cells of a contact sheet, as the crop job cuts them. */
async function cells(sheet: Buffer): Promise<Buffer[]> {
  const meta = await sharp(sheet).metadata();
  const g = gridLayout(meta.width!, meta.height!);
  const out: Buffer[] = [];
  for (let i = 0; i < 6; i++) {
    const left = g.marginX + (i % g.cols) * (g.cellWidth + g.gutter);
    const top = g.marginY + Math.floor(i / g.cols) * (g.cellHeight + g.gutter);
    out.push(await sharp(sheet).extract({ left, top, width: g.cellWidth, height: g.cellHeight }).png().toBuffer());
  }
  return out;
}

async function clip(start: Buffer, end: Buffer, tag: string, drift?: { kind: ClipDrift; seed: number }): Promise<string> {
  const outFile = path.join(dir, `${tag}.mp4`);
  await synthesizeClip({ start, end, seconds: 1.5, outFile, ...(drift ? { drift } : {}) });
  return outFile;
}

function files(tag: string, entries: [string, Buffer | string][]): Map<string, string> {
  const m = new Map<string, string>();
  for (const [name, data] of entries) {
    if (typeof data === "string") m.set(name, data);
    else {
      const f = path.join(dir, `${tag}-${name}`);
      writeFileSync(f, data);
      m.set(name, f);
    }
  }
  return m;
}

const refParams = (r: Refs): CheckParams["references"] => [
  { input: "model", role: "model", label: "model" },
  { input: "garment", role: "garment", label: "jacket" },
  { input: "accessory", role: "accessory", label: r.accessoryLabel },
];
const refEntries = (r: Refs): [string, Buffer][] => [
  ["model", r.model],
  ["garment", r.garment],
  ["accessory", r.accessory],
];
const flags = (r: CheckResult, asset?: string) => r.findings.filter((f) => f.verdict === "flag" && (!asset || f.asset === asset));
const show = (r: CheckResult) => JSON.stringify(flags(r).map((f) => `${f.asset} ${f.check} ${f.score}/${f.threshold}: ${f.reason}`));

const SETTINGS = [
  "seamless grey studio backdrop, timeless and clean",
  "white cyclorama, high-key, commercial brightness",
  "dark void backdrop, low-key, strong subject isolation",
  "raw concrete walls and exposed architecture",
  "soft window light, warm and diffused",
  "bold solid-colour backdrop lit with saturated gel lighting",
  "city street with metropolitan context",
];

interface Shoot {
  refs: Refs;
  hero: Buffer;
  frames: Buffer[];
}

async function shoot(i: number): Promise<Shoot> {
  const refs = await references(i * 5 + 1);
  const hero = await image(heroPrompt(SETTINGS[i]!), [refs.model, refs.garment, refs.accessory]);
  return { refs, hero, frames: await cells(await image(SHEET_PROMPT, [hero])) };
}

async function clipChecks(s: Shoot, tag: string, drift?: { kind: ClipDrift; seed: number }): Promise<CheckResult> {
  const clipFile = await clip(s.frames[0]!, s.frames[1]!, tag, drift);
  return runChecks(
    { references: [], stills: [], clips: [{ input: "clip", start: "start", end: "end" }], reels: [] },
    files(tag, [
      ["clip", clipFile],
      ["start", s.frames[0]!],
      ["end", s.frames[1]!],
    ]),
  );
}

describe("checks on the simulator's clips", () => {
  for (const [i, setting] of SETTINGS.entries()) {
    it(`shoot ${i + 1} (${setting.split(",")[0]}): a clip between two clean frames raises no flag; morphed and ending away, it is flagged`, async () => {
      const s = await shoot(i);
      const clean = await clipChecks(s, `s${i}-clip`);
      expect(flags(clean), show(clean)).toEqual([]);
      const morph = await clipChecks(s, `s${i}-morph`, { kind: "clip-morph", seed: i + 1 });
      expect(
        flags(morph).map((f) => f.check),
        show(morph),
      ).toContain("clip-stability");
      const away = await clipChecks(s, `s${i}-away`, { kind: "clip-end-away", seed: i + 1 });
      expect(
        flags(away).map((f) => f.check),
        show(away),
      ).toContain("clip-end");
    }, 120_000);
  }
});

/**
 * Known not met (docs/benchmarks.md, bench:qa Run 2): on the simulator's stills the reference checks
 * still flag clean outputs. The sim shows the garment and the accessory as side inserts, not worn,
 * and its contact-sheet cells are crops that leave the inserts (and, in the garment detail, the
 * face) out, so a frame checked against every reference flags "missing"; the garment is then
 * "found" on the figure in another colour; and a hero now and then misplaces the drawn garment or
 * face. `it.fails` keeps this visible: it turns red the day every clean hero and frame passes.
 */
describe("checks on the simulator's untouched stills", () => {
  it.fails("no clean hero or frame of seven shoots raises a flag", async () => {
    const all: string[] = [];
    for (const i of SETTINGS.keys()) {
      const s = await shoot(i);
      const names = s.frames.map((_, k) => `frame-${k + 1}`);
      const result = await runChecks(
        { references: refParams(s.refs), stills: ["hero", ...names], hero: "hero", clips: [], reels: [] },
        files(`s${i}-stills`, [...refEntries(s.refs), ["hero", s.hero], ...s.frames.map((f, k) => [names[k]!, f] as [string, Buffer])]),
      );
      all.push(...flags(result).map((f) => `shoot ${i + 1} ${f.asset} ${f.check} ${f.score}/${f.threshold}`));
    }
    expect(all).toEqual([]);
  }, 300_000);
});
