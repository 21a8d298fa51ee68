/**
 * The Worker and the media service agree on every stitch setting: edge values of each (every easing
 * name and near-misses, custom bezier bounds, clip seconds, fps, transition) go through both real
 * validators, the Worker's decision and create schemas and the media service over HTTP, and each
 * value is accepted by both or refused by both. A stitch setting the Worker took but the service
 * refused would fail the reel after the reviewer approved it; the other way round, a reviewer could
 * not ask for a reel the service can make.
 *
 * The service's answer tells acceptance apart without making a reel: a refused body is a 400 naming
 * the field; an accepted one starts the job, whose input is missing, so it ends as a 422 saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EASING_NAMES } from "../../../common/easing.ts";
import { CreateShootSchema, DecisionSchema } from "../../../src/domain/shoot.ts";
import { postJob, startBlobServer, startService, type BlobServer } from "./helpers.ts";

let blobs: BlobServer;
let svc: Awaited<ReturnType<typeof startService>>;

beforeAll(async () => {
  blobs = await startBlobServer();
  svc = await startService();
});

afterAll(async () => {
  await svc?.close();
  await blobs?.close();
});

type Setting = "easing" | "clipSeconds" | "fps" | "transition";

const bezier = (x1: unknown, y1: unknown, x2: unknown, y2: unknown) => ({ bezier: [x1, y1, x2, y2] });

const CASES: Record<Setting, unknown[]> = {
  easing: [
    ...EASING_NAMES,
    "",
    "Linear",
    "linear ",
    "easeinoutcubic",
    "easeInOutWobble",
    "toString",
    "constructor",
    "__proto__",
    "hasOwnProperty",
    42,
    null,
    true,
    {},
    ["linear"],
    { name: "linear" },
    { bezier: [] },
    { bezier: [0.25, 0.1, 0.25] },
    { bezier: [0.25, 0.1, 0.25, 1, 0] },
    { bezier: [0.25, 0.1, 0.25, 1], extra: true },
    { bezier: "0.25,0.1,0.25,1" },
    // x1 and x2 at, inside and just outside [0, 1]
    bezier(0, 0, 0, 0),
    bezier(1, 1, 1, 1),
    bezier(0, 0, 1, 1),
    bezier(0.5, 0.5, 0.5, 0.5),
    bezier(-0.0001, 0, 0.5, 1),
    bezier(1.0001, 0, 0.5, 1),
    bezier(0.5, 0, -0.0001, 1),
    bezier(0.5, 0, 1.0001, 1),
    bezier(-1, 0, 2, 1),
    // y1 and y2 may overshoot either way
    bezier(0.5, -2, 0.5, 3),
    bezier(0.68, -0.55, 0.265, 1.55),
    bezier(0.5, 1e6, 0.5, -1e6),
    bezier(0.5, -0, 0.5, 1),
    // not numbers
    bezier("0.5", 0, 0.5, 1),
    bezier(0.5, "0", 0.5, 1),
    bezier(0.5, 0, 0.5, null),
    bezier(null, 0, 0.5, 1),
  ],
  clipSeconds: [0.5, 0.4999, 0.5001, 3, 3.0001, 2.9999, 1.2345, 1, 0, -1, 1e9, "1.5", null, true, [1.5]],
  fps: [24, 23, 23.999, 24.5, 29.97, 60, 59.94, 120, 120.0001, 121, 0, -24, "60", null, 1e9],
  transition: ["cut", "crossfade", "fadeblack", "Cut", "CROSSFADE", "wipe", "fade", "", " cut", null, 1, ["cut"]],
};

/** The Worker: a reviewer's revise decision carrying the setting, and a new shoot's settings. */
function workerAccepts(setting: Setting, value: unknown): boolean {
  const decision = DecisionSchema.safeParse({ action: "revise", stitch: { [setting]: value } }).success;
  const create = CreateShootSchema.safeParse({ brief: "studio editorial", references: ["as_1"], stitch: { [setting]: value } }).success;
  // The two entry points share one schema; if they ever disagree, that is a finding on its own.
  expect(create, `create and decision disagree on ${setting} = ${JSON.stringify(value)}`).toBe(decision);
  return decision;
}

let seq = 0;

/** The media service: a stitch job whose params carry the setting, as the workflow sends them. */
async function serviceAccepts(setting: Setting, value: unknown): Promise<boolean> {
  const tag = `edge-${++seq}`;
  const body = {
    kind: "stitch",
    inputs: [{ name: "clip-1", url: blobs.inUrl(`${tag}/missing.mp4`) }],
    outputs: { reel: blobs.outUrl(`${tag}/reel.mp4`), poster: blobs.outUrl(`${tag}/poster.jpg`) },
    params: { [setting]: value },
  };
  const res = await postJob(svc, tag, body);
  if (res.status === 400) {
    // Refused by the validator: the error names this setting, not some other field.
    expect(res.json.field, JSON.stringify(res.json)).toMatch(new RegExp(`^params\\.${setting}\\b`));
    return false;
  }
  // Accepted: the job ran and found its input missing.
  expect(res.status, `${setting} = ${JSON.stringify(value)}: ${JSON.stringify(res.json)}`).toBe(422);
  expect(res.json.error).toMatch(/could not be downloaded/);
  return true;
}

describe("stitch settings: the Worker and the media service accept the same values", () => {
  for (const setting of Object.keys(CASES) as Setting[]) {
    it(`${setting}: every edge value is accepted by both or refused by both`, async () => {
      const verdicts: { value: unknown; worker: boolean; service: boolean }[] = [];
      for (const value of CASES[setting]) {
        verdicts.push({ value, worker: workerAccepts(setting, value), service: await serviceAccepts(setting, value) });
      }
      const disagreements = verdicts.filter((v) => v.worker !== v.service);
      expect(disagreements, JSON.stringify(disagreements)).toEqual([]);
      // The walk covers both sides of every bound: some values pass, some are refused.
      expect(verdicts.some((v) => v.worker)).toBe(true);
      expect(verdicts.some((v) => !v.worker)).toBe(true);
      expect(blobs.puts).toHaveLength(0);
    });
  }

  it("the edges fall where the contract says", () => {
    const ok = (setting: Setting, value: unknown) => workerAccepts(setting, value);
    expect(EASING_NAMES.every((n) => ok("easing", n))).toBe(true);
    expect(ok("easing", "toString")).toBe(false);
    expect(ok("easing", bezier(0, -2, 1, 3))).toBe(true);
    expect(ok("easing", bezier(1.0001, 0, 0.5, 1))).toBe(false);
    expect([0.5, 3].every((v) => ok("clipSeconds", v))).toBe(true);
    expect([0.4999, 3.0001].some((v) => ok("clipSeconds", v))).toBe(false);
    expect([24, 120].every((v) => ok("fps", v))).toBe(true);
    expect([23, 121, 29.97].some((v) => ok("fps", v))).toBe(false);
    expect(["cut", "crossfade", "fadeblack"].every((v) => ok("transition", v))).toBe(true);
  });
});
