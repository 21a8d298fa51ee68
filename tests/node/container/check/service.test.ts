/**
 * The `check` job over the media service's HTTP contract (docs/contracts.md), with signed-URL-style
 * inputs from a blob server, as crop is: findings in the result in the shared shape
 * (src/domain/findings.ts), nothing uploaded, idempotent by id, and bodies that name inputs wrongly
 * refused with the field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stillPair } from "../../../../common/qa/stills.ts";
import { CheckResultSchema } from "../../../../src/domain/findings.ts";
import { postJob, startBlobServer, startService, type BlobServer } from "../helpers.ts";

let blobs: BlobServer;

beforeAll(async () => {
  blobs = await startBlobServer();
  const [clean, drifted] = await stillPair("garment-recolour", 4, "synthetic");
  for (const r of clean.refs) blobs.set(`${r.name}.jpg`, r.data);
  blobs.set("hero.png", clean.hero);
  blobs.set("frame-1.png", clean.still);
  blobs.set("frame-2.png", drifted.still);
});

afterAll(async () => {
  await blobs?.close();
});

function checkBody(query = "sig=a") {
  return {
    kind: "check",
    inputs: [
      { name: "jacket", url: blobs.inUrl("garment.jpg", query) },
      { name: "watch", url: blobs.inUrl("accessory.jpg", query) },
      { name: "model", url: blobs.inUrl("model.jpg", query) },
      { name: "hero", url: blobs.inUrl("hero.png", query) },
      { name: "frame-1", url: blobs.inUrl("frame-1.png", query) },
      { name: "frame-2", url: blobs.inUrl("frame-2.png", query) },
    ],
    params: {
      references: [
        { input: "jacket", role: "garment", label: "jacket" },
        { input: "watch", role: "accessory", label: "accessory" },
        { input: "model", role: "model" },
      ],
      stills: ["frame-1", "frame-2"],
      hero: "hero",
    },
  };
}

describe("media service: the check job", () => {
  it("answers findings for each still, flags the recoloured one, uploads nothing, and replays by id", async () => {
    const svc = await startService();
    try {
      const puts = blobs.puts.length;
      const res = await postJob(svc, "shoot-9:check:frames:1", checkBody());
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json).toMatchObject({ id: "shoot-9:check:frames:1", status: "done" });
      const result = CheckResultSchema.parse(res.json.result);
      expect(result.flagged).toBe(result.findings.filter((f) => f.verdict === "flag").length);
      const of = (asset: string) => result.findings.filter((f) => f.asset === asset);
      // Every reference check on every still; the hero is only the continuity anchor.
      for (const still of ["frame-1", "frame-2"]) {
        expect(new Set(of(still).map((f) => f.check))).toEqual(new Set(["garment-swap", "garment-colour", "accessory", "identity", "continuity"]));
      }
      expect(of("hero")).toEqual([]);
      expect(of("frame-1").filter((f) => f.verdict === "flag")).toEqual([]);
      const colour = of("frame-2").find((f) => f.check === "garment-colour")!;
      expect(colour).toMatchObject({ verdict: "flag" });
      expect(colour.score).toBeGreaterThan(colour.threshold);
      expect(colour.reason).toMatch(/^jacket colour drifted: ΔE00 \d+ from the reference's [a-z -]+ \(now [a-z -]+\)$/);
      expect(colour.region!.w).toBeGreaterThan(0);
      expect(blobs.puts.length).toBe(puts);

      const again = await postJob(svc, "shoot-9:check:frames:1", checkBody("sig=b"));
      expect(again.status).toBe(200);
      expect(again.json).toEqual(res.json);
    } finally {
      await svc.close();
    }
  });

  it("refuses params that name no input, inputs that params do not name, and outputs", async () => {
    const svc = await startService();
    try {
      const base = checkBody();
      const ghost = await postJob(svc, "bad-1", { ...base, params: { ...base.params, stills: ["frame-1", "frame-9"] } });
      expect(ghost.status).toBe(400);
      expect(ghost.json).toMatchObject({ field: "params", error: expect.stringMatching(/"frame-9" is not one of the job's inputs/) });

      const unused = await postJob(svc, "bad-2", { ...base, params: { ...base.params, stills: ["frame-1"] } });
      expect(unused.status).toBe(400);
      expect(unused.json).toMatchObject({ field: "inputs", error: expect.stringMatching(/"frame-2" is not named in params/) });

      const outputs = await postJob(svc, "bad-3", { ...base, outputs: { report: blobs.outUrl("report.json") } });
      expect(outputs.status).toBe(400);
      expect(outputs.json).toMatchObject({ field: "outputs.report" });

      const role = await postJob(svc, "bad-4", { ...base, params: { ...base.params, references: [{ input: "jacket", role: "shoe" }] } });
      expect(role.status).toBe(400);
      expect(role.json.field).toBe("params.references[0].role");
    } finally {
      await svc.close();
    }
  });

  it("answers 422 with a reason when an input is not an image", async () => {
    const svc = await startService();
    try {
      blobs.set("broken.png", Buffer.from("not an image at all"));
      const base = checkBody();
      const body = { ...base, inputs: base.inputs.map((i) => (i.name === "frame-1" ? { ...i, url: blobs.inUrl("broken.png") } : i)) };
      const res = await postJob(svc, "broken-1", body);
      expect(res.status).toBe(422);
      expect(res.json.error).toMatch(/still "frame-1" is not a readable image/);
    } finally {
      await svc.close();
    }
  });
});
