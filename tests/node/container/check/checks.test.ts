/**
 * The quality checks (container/check/) on seeded items of the drift set (common/qa/): each check
 * flags its injected defect and passes the untouched twin; the reel check finds black and frozen
 * stretches and a wrong duration. Seeds are from the tuning range (0–59); `npm run bench:qa`
 * measures held-out seeds.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runTool } from "../../../../common/ffmpeg.ts";
import { clipPair, hasClipFixtures, type ClipDrift } from "../../../../common/qa/clips.ts";
import { figureSvg } from "../../../../common/qa/figures.ts";
import { hasFixtures, stillPair, type StillDrift } from "../../../../common/qa/stills.ts";
import { findFace, loadPicture } from "../../../../container/check/image.ts";
import { runChecks } from "../../../../container/check/index.ts";
import type { FindingCheck, CheckResult } from "../../../../src/domain/findings.ts";
import sharp from "sharp";

const dir = mkdtempSync(path.join(tmpdir(), "checks-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inputs(tag: string, entries: [string, Buffer][]): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, data] of entries) {
    const f = path.join(dir, `${tag}-${name}`);
    writeFileSync(f, data);
    files.set(name, f);
  }
  return files;
}

const flagsOf = (r: CheckResult, asset: string) => r.findings.filter((f) => f.asset === asset && f.verdict === "flag").map((f) => f.check);

/** Which check is to flag each still defect (a swapped jacket of another colour is a colour drift where it was). */
const EXPECTED: Record<StillDrift, FindingCheck[]> = {
  "garment-recolour": ["garment-colour"],
  "accessory-removed": ["accessory"],
  "garment-swap": ["garment-swap", "garment-colour"],
  "identity-swap": ["identity"],
};

describe("still checks on seeded drift", () => {
  for (const seed of [0, 4, 24]) {
    for (const kind of Object.keys(EXPECTED) as StillDrift[]) {
      it(`${kind}, synthetic #${seed}: the drifted still flags, its untouched twin passes`, async () => {
        const [clean, drifted] = await stillPair(kind, seed, "synthetic");
        const files = inputs(`${kind}-${seed}`, [
          ...clean.refs.map((r) => [r.name, r.data] as [string, Buffer]),
          ["hero", clean.hero],
          ["clean", clean.still],
          ["drifted", drifted.still],
        ]);
        const result = await runChecks(
          {
            references: clean.refs.map((r) => ({ input: r.name, role: r.role, label: r.label })),
            stills: ["clean", "drifted"],
            hero: "hero",
            clips: [],
            reels: [],
          },
          files,
        );
        expect(flagsOf(result, "clean"), JSON.stringify(result.findings.filter((f) => f.asset === "clean"))).toEqual([]);
        expect(
          flagsOf(result, "drifted").some((c) => EXPECTED[kind].includes(c)),
          JSON.stringify(result.findings.filter((f) => f.asset === "drifted")),
        ).toBe(true);
        for (const f of result.findings) {
          expect(f.reason.length).toBeGreaterThan(10);
          if (f.region) expect(f.region.x + f.region.w).toBeLessThanOrEqual(1.0001);
        }
      });
    }
  }

  it("continuity: a recoloured frame does not match the hero", async () => {
    const [clean, drifted] = await stillPair("garment-recolour", 0, "synthetic");
    const files = inputs("cont", [
      ...clean.refs.map((r) => [r.name, r.data] as [string, Buffer]),
      ["hero", clean.hero],
      ["frame-1", clean.still],
      ["frame-2", drifted.still],
    ]);
    const result = await runChecks(
      {
        references: clean.refs.filter((r) => r.role === "garment").map((r) => ({ input: r.name, role: r.role, label: r.label })),
        stills: ["frame-1", "frame-2"],
        hero: "hero",
        clips: [],
        reels: [],
      },
      files,
    );
    const cont = (asset: string) => result.findings.find((f) => f.asset === asset && f.check === "continuity");
    expect(cont("frame-1")).toMatchObject({ verdict: "pass" });
    expect(cont("frame-2")).toMatchObject({ verdict: "flag" });
    expect(cont("frame-2")!.reason).toMatch(/^jacket does not match the hero: ΔE00 \d+/);
  });

  /** A drawn model on a grey backdrop, as the face finder sees a model reference. */
  const drawnModel = async (seed: number) => {
    const png = await sharp(Buffer.from(figureSvg(seed, seed)))
      .flatten({ background: "#c8ced4" })
      .png()
      .toBuffer();
    return loadPicture(png, 384, "model");
  };

  it("finds the face of a drawn model by skin colour, and says when there is none", async () => {
    const pic = await drawnModel(5);
    const face = findFace(pic)!;
    // The drawn head is centred at (300, 150) of a 600×900 figure.
    expect(Math.abs((face.x + face.w / 2) / pic.width - 0.5)).toBeLessThan(0.05);
    expect((face.y + face.h / 2) / pic.height).toBeLessThan(0.25);
    const blank = await sharp({ create: { width: 300, height: 400, channels: 3, background: "#3050a0" } })
      .png()
      .toBuffer();
    expect(findFace(await loadPicture(blank, 384, "blank"))).toBeUndefined();
  });

  it("takes a drawn model's face down to the chin, not the neck a collar covers in the outputs", async () => {
    const pic = await drawnModel(22);
    const face = findFace(pic)!;
    // The chin of this head is at y ≈ 215 of 900 (0.24), the collar at 255.
    expect((face.y + face.h) / pic.height).toBeLessThan(0.25);
  });
});

// Places the checks once got wrong on untouched stills of the tuning seeds: a drawn face 13–20 px tall
// at the coarse level (now searched again at 256 px when not matched), a face template reaching into
// the neck the jacket's collar covers, and a jacket whose best place in pattern and colour was the
// fifth found (only the first three were looked at, two of them the same place).
describe("untouched stills placed where the item is", () => {
  async function check(kind: StillDrift, seed: number, roles: string[], drifted = false) {
    const [clean, changed] = await stillPair(kind, seed, "synthetic");
    const refs = clean.refs.filter((r) => roles.includes(r.role));
    const files = inputs(`placed-${kind}-${seed}`, [...refs.map((r) => [r.name, r.data] as [string, Buffer]), ["still", (drifted ? changed : clean).still]]);
    const result = await runChecks(
      { references: refs.map((r) => ({ input: r.name, role: r.role, label: r.label })), stills: ["still"], clips: [], reels: [] },
      files,
    );
    return (check: FindingCheck) => result.findings.find((f) => f.check === check)!;
  }

  for (const [kind, seed] of [
    ["garment-swap", 12],
    ["garment-recolour", 22],
    // Found only by the second look at 256 px.
    ["identity-swap", 6],
    ["identity-swap", 22],
  ] as const) {
    it(`${kind}, synthetic #${seed}: the model's face is found and matches`, async () => {
      const found = await check(kind, seed, ["model"]);
      expect(found("identity").verdict, found("identity").reason).toBe("pass");
    });
  }

  it("identity-swap, synthetic #22: another face where the model's was is flagged", async () => {
    const swapped = await check("identity-swap", 22, ["model"], true);
    expect(swapped("identity").verdict, swapped("identity").reason).toBe("flag");
  });

  it("garment-swap, synthetic #20: the jacket is placed on the figure and its colour kept", async () => {
    const found = await check("garment-swap", 20, ["garment"]);
    expect(found("garment-colour").verdict, found("garment-colour").reason).toBe("pass");
    // On the figure (the middle of the picture), not a corner of the floor.
    expect(found("garment-colour").region!.w).toBeGreaterThan(0.3);
  });
});

// The fixture watch pasted at his hand is 13–16 % of the width: about 20 px at the checks' 256 px,
// where it was often not found (a false "missing"); a closer look at 512 px finds it, and a still
// without it is still flagged.
describe.skipIf(!hasFixtures())("a small accessory (the fixture composites; skipped without ../shared/fixtures)", () => {
  for (const [kind, seed] of [
    ["garment-swap", 13],
    ["identity-swap", 5],
  ] as const) {
    it(`${kind}, fixtures #${seed}: the untouched still's watch is found, and the still without it is flagged`, async () => {
      const [clean] = await stillPair(kind, seed, "fixtures");
      const [, missing] = await stillPair("accessory-removed", seed, "fixtures");
      const files = inputs(`small-${kind}-${seed}`, [
        ...clean.refs.map((r) => [r.name, r.data] as [string, Buffer]),
        ["clean", clean.still],
        ["missing", missing.still],
      ]);
      const result = await runChecks(
        {
          references: clean.refs.filter((r) => r.role === "accessory").map((r) => ({ input: r.name, role: r.role, label: r.label })),
          stills: ["clean", "missing"],
          clips: [],
          reels: [],
        },
        files,
      );
      const accessory = (asset: string) => result.findings.find((f) => f.asset === asset && f.check === "accessory")!;
      expect(accessory("clean").verdict, accessory("clean").reason).toBe("pass");
      expect(accessory("clean").region!.w).toBeLessThan(0.25);
      expect(accessory("missing").verdict, accessory("missing").reason).toBe("flag");
    });
  }
});

/** Both clips of a pair checked against the untouched clip's start and end stills. */
async function checkPair(kind: ClipDrift, seed: number, source: "synthetic" | "fixture reels"): Promise<CheckResult> {
  const [clean, drifted] = await clipPair(kind, seed, source);
  const files = inputs(`${kind}-${source}-${seed}`, [
    ["clean", clean.clip],
    ["drifted", drifted.clip],
    ["start", clean.start],
    ["end", clean.end],
  ]);
  return runChecks(
    {
      references: [],
      stills: [],
      clips: [
        { input: "clean", start: "start", end: "end" },
        { input: "drifted", start: "start", end: "end" },
      ],
      reels: [],
    },
    files,
  );
}

describe("clip checks on seeded drift", () => {
  for (const seed of [0, 1]) {
    it(`a clip morphing mid-way, synthetic #${seed}: stability flags with the time, the untouched clip passes`, async () => {
      const result = await checkPair("clip-morph", seed, "synthetic");
      expect(flagsOf(result, "clean")).toEqual([]);
      const flag = result.findings.find((f) => f.asset === "drifted" && f.check === "clip-stability")!;
      expect(flag.verdict, flag.reason).toBe("flag");
      expect(flag.timeRange!.to).toBeGreaterThan(flag.timeRange!.from);
      expect(flag.reason).toMatch(/morphs mid-way|changes suddenly/);
    });

    it(`a clip ending away from its end frame, synthetic #${seed}: the end check flags, the untouched clip passes`, async () => {
      const result = await checkPair("clip-end-away", seed, "synthetic");
      expect(flagsOf(result, "clean")).toEqual([]);
      expect(result.findings.find((f) => f.asset === "drifted" && f.check === "clip-end")).toMatchObject({ verdict: "flag" });
    });
  }
});

// Real footage (stretches of the fixture reels): a person moving a lot is not a morph, and a clip
// that ends on its end frame moved 20–35 % across and zoomed in on a plain studio backdrop ends away.
describe.skipIf(!hasClipFixtures())("clip checks on real footage (the fixture reels; skipped without ../shared/fixtures)", () => {
  for (const [kind, seed] of [
    ["clip-end-away", 17],
    ["clip-end-away", 29],
    ["clip-morph", 20],
  ] as const) {
    it(`${kind} #${seed}: the untouched stretch, moving a lot, raises no flag; the drifted one is flagged`, async () => {
      const result = await checkPair(kind, seed, "fixture reels");
      expect(flagsOf(result, "clean")).toEqual([]);
      expect(flagsOf(result, "drifted").length).toBeGreaterThan(0);
    });
  }
  for (const seed of [5, 23]) {
    it(`clip-end-away #${seed}: ending moved and zoomed in on the studio backdrop is flagged by the end check`, async () => {
      const [, drifted] = await clipPair("clip-end-away", seed, "fixture reels");
      expect(drifted.detail).toMatch(/moved and zoomed/);
      const result = await checkPair("clip-end-away", seed, "fixture reels");
      expect(flagsOf(result, "clean")).toEqual([]);
      expect(result.findings.find((f) => f.asset === "drifted" && f.check === "clip-end")).toMatchObject({ verdict: "flag" });
    });
  }
});

describe("reel sanity", () => {
  async function reel(name: string, graph: string, seconds: number): Promise<string> {
    const out = path.join(dir, name);
    await runTool(
      "ffmpeg",
      ["-v", "error", "-y", "-f", "lavfi", "-i", graph, "-t", String(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out],
      {
        timeoutMs: 60_000,
      },
    );
    return out;
  }

  it("passes a moving reel of the expected length, and flags black, frozen and a wrong length", async () => {
    const moving = await reel("moving.mp4", "testsrc2=size=160x240:rate=24:duration=3", 3);
    // A second of picture, a second of black, then one frame held for two seconds.
    const bad = await reel(
      "bad.mp4",
      "testsrc2=s=160x240:r=24:d=1,format=yuv420p[a];color=c=black:s=160x240:r=24:d=1,format=yuv420p[b];" +
        "testsrc2=s=160x240:r=24:d=0.042,format=yuv420p,tpad=stop_mode=clone:stop_duration=2[c];[a][b][c]concat=n=3:v=1:a=0[out0]",
      4,
    );
    const files = new Map([
      ["moving", moving],
      ["bad", bad],
    ]);
    const result = await runChecks(
      {
        references: [],
        stills: [],
        clips: [],
        reels: [
          { input: "moving", expectedSeconds: 3, maxBlackSeconds: 0.25, maxFrozenSeconds: 1 },
          { input: "bad", expectedSeconds: 3, maxBlackSeconds: 0.25, maxFrozenSeconds: 1 },
        ],
      },
      files,
    );
    expect(result.findings.filter((f) => f.asset === "moving")).toMatchObject([{ check: "reel-sanity", verdict: "pass" }]);
    const bads = result.findings.filter((f) => f.asset === "bad");
    expect(bads.every((f) => f.verdict === "flag")).toBe(true);
    const reasons = bads.map((f) => f.reason).join(" | ");
    expect(reasons).toMatch(/runs 4\.\d+ s, 1\.\d+ s over the expected 3\.00 s/);
    const black = bads.find((f) => /black/.test(f.reason))!;
    expect(black.timeRange!.from).toBeCloseTo(1, 0);
    expect(black.timeRange!.to).toBeCloseTo(2, 0);
    const frozen = bads.find((f) => /freezes/.test(f.reason) && f.timeRange!.from >= 1.9)!;
    expect(frozen.timeRange!.to).toBeCloseTo(4, 0);
  });
});
