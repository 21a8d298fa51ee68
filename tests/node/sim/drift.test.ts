/**
 * The simulator's drift (sim/drift.ts): outputs altered at the configured rate, each injection
 * recorded with the provider's job id at GET /__sim/drift, deterministic per seed and request; and
 * the quality checks (container/check/) find what it injected into a hero.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { accessorySvg, figureSvg, garmentSvg } from "../../../common/qa/figures.ts";
import { runChecks } from "../../../container/check/index.ts";
import { mintKlingJwt } from "../../../sim/keys.ts";
import { DRIFT_KINDS, decideDrift, type InjectedDrift } from "../../../sim/drift.ts";
import { startReceiver, startTestSim } from "./helpers.ts";
import sharp from "sharp";

type Sim = Awaited<ReturnType<typeof startTestSim>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const onWhite = async (svg: string, bg = "#f2f2f0") => sharp(Buffer.from(svg)).flatten({ background: bg }).png().toBuffer();

describe("simulator drift", () => {
  let sim: Sim;
  let rx: Receiver;
  let refs: { model: string; garment: string; watch: string };
  const images = new Map<string, Buffer>();
  const dir = mkdtempSync(path.join(tmpdir(), "sim-drift-"));

  beforeAll(async () => {
    sim = await startTestSim({ config: { clipSeconds: 1 } });
    rx = await startReceiver();
    images.set("model", await onWhite(figureSvg(3, 3), "#c8ced4"));
    images.set("garment", await onWhite(garmentSvg(3)));
    images.set("watch", await onWhite(accessorySvg(4).svg, "#fafafa"));
    refs = {
      model: rx.addImage("model.png", images.get("model")!),
      garment: rx.addImage("garment.png", images.get("garment")!),
      watch: rx.addImage("watch.png", images.get("watch")!),
    };
  });
  afterEach(async () => {
    await fetch(`${sim.url}/__sim/reset`, { method: "POST" });
  });
  afterAll(async () => {
    await sim?.close();
    await rx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const setFaults = (patch: unknown) => fetch(`${sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify(patch) });
  const injected = async () => ((await (await fetch(`${sim.url}/__sim/drift`)).json()) as { injected: InjectedDrift[] }).injected;

  /** A hero through the FAL queue; its image bytes and request id. */
  async function hero(prompt: string): Promise<{ id: string; image: Buffer }> {
    const res = await fetch(`${sim.url}/fal/fal-ai/nano-banana-pro/edit`, {
      method: "POST",
      headers: { authorization: "Key k", "content-type": "application/json" },
      body: JSON.stringify({ prompt, image_urls: [refs.model, refs.garment, refs.watch], aspect_ratio: "2:3" }),
    });
    const { request_id, status_url, response_url } = (await res.json()) as { request_id: string; status_url: string; response_url: string };
    for (let i = 0; i < 400; i++) {
      const s = (await (await fetch(status_url, { headers: { authorization: "Key k" } })).json()) as { status: string };
      if (s.status === "COMPLETED") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = (await (await fetch(response_url, { headers: { authorization: "Key k" } })).json()) as { images: { url: string }[] };
    return { id: request_id, image: Buffer.from(await (await fetch(out.images[0]!.url)).arrayBuffer()) };
  }

  it("validates the drift settings and shows them", async () => {
    expect((await setFaults({ drift: { rate: 2 } })).status).toBe(400);
    expect((await setFaults({ drift: { rate: 0.5, kinds: ["nonsense"] } })).status).toBe(400);
    const ok = await setFaults({ drift: { rate: 0.5 } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { drift: unknown }).drift).toEqual({ rate: 0.5, kinds: [...DRIFT_KINDS], seed: 1 });
    expect(await injected()).toEqual([]);
  });

  it("draws the same way for the same seed and request, and at about the configured rate", () => {
    const config = { rate: 0.3, kinds: [...DRIFT_KINDS], seed: 7 };
    const a = Array.from({ length: 400 }, (_, i) => decideDrift(config, "image", ["fal-ai/x", `prompt ${i}`]));
    const b = Array.from({ length: 400 }, (_, i) => decideDrift(config, "image", ["fal-ai/x", `prompt ${i}`]));
    expect(a).toEqual(b);
    const drifted = a.filter((d) => d !== undefined);
    expect(drifted.length / a.length).toBeGreaterThan(0.22);
    expect(drifted.length / a.length).toBeLessThan(0.38);
    // Stills only get still kinds, clips only clip kinds.
    expect(drifted.every((d) => !d!.kind.startsWith("clip-"))).toBe(true);
    expect(decideDrift({ ...config, rate: 1 }, "video", ["k", "p"])!.kind).toMatch(/^clip-/);
    const otherSeed = Array.from({ length: 400 }, (_, i) => decideDrift({ ...config, seed: 8 }, "image", ["fal-ai/x", `prompt ${i}`]));
    expect(otherSeed).not.toEqual(a);
    expect(decideDrift({ ...config, rate: 0 }, "image", ["a"])).toBeUndefined();
  });

  it("recolours the garment of a hero, records it, and the garment colour check flags it", async () => {
    const clean = await hero("Editorial hero, grey studio");
    expect(await injected()).toEqual([]);
    await setFaults({ drift: { rate: 1, kinds: ["garment-recolour"], seed: 3 } });
    const drifted = await hero("Editorial hero, grey studio");
    const [entry, ...rest] = await injected();
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ jobId: drifted.id, provider: "fal", model: "fal-ai/nano-banana-pro/edit", kind: "garment-recolour" });
    expect(entry!.detail).toMatch(/recoloured, ΔE00 \d+/);
    expect(Buffer.compare(clean.image, drifted.image)).not.toBe(0);

    // The checks, on the simulator's own outputs: the clean hero passes, the drifted one is flagged.
    const files = new Map<string, string>();
    for (const [name, data] of [...images, ["clean", clean.image] as const, ["drifted", drifted.image] as const]) {
      const f = path.join(dir, name);
      writeFileSync(f, data);
      files.set(name, f);
    }
    const references = [
      { input: "garment", role: "garment" as const, label: "jacket" },
      { input: "watch", role: "accessory" as const, label: "watch" },
    ];
    const result = await runChecks({ references, stills: ["clean", "drifted"], clips: [], reels: [] }, files);
    const flags = (asset: string) => result.findings.filter((f) => f.asset === asset && f.verdict === "flag").map((f) => f.check);
    expect(flags("clean")).toEqual([]);
    expect(flags("drifted")).toContain("garment-colour");
  });

  it("leaves the accessory out of a hero and records it", async () => {
    await setFaults({ drift: { rate: 1, kinds: ["accessory-removed"], seed: 5 } });
    const drifted = await hero("Editorial hero, white studio");
    expect(await injected()).toMatchObject([{ jobId: drifted.id, kind: "accessory-removed" }]);
    const files = new Map<string, string>();
    for (const [name, data] of [["watch", images.get("watch")!] as const, ["drifted", drifted.image] as const]) {
      const f = path.join(dir, `acc-${name}`);
      writeFileSync(f, data);
      files.set(name, f);
    }
    const result = await runChecks({ references: [{ input: "watch", role: "accessory", label: "watch" }], stills: ["drifted"], clips: [], reels: [] }, files);
    expect(result.findings.find((f) => f.check === "accessory")).toMatchObject({ verdict: "flag" });
  });

  it("makes a Kling clip end away from its end frame and records the task id", async () => {
    await setFaults({ drift: { rate: 1, kinds: ["clip-end-away"], seed: 2 } });
    const res = await fetch(`${sim.url}/kling/v1/videos/image2video`, {
      method: "POST",
      headers: { authorization: `Bearer ${mintKlingJwt("sim-access", "sim-secret")}`, "content-type": "application/json" },
      body: JSON.stringify({ model_name: "kling-v2-6", image: refs.model, image_tail: refs.garment, prompt: "turn" }),
    });
    const { data } = (await res.json()) as { data: { task_id: string } };
    for (let i = 0; i < 600; i++) {
      if ((await injected()).length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const list = await injected();
    expect(list).toMatchObject([{ jobId: data.task_id, provider: "kling", kind: "clip-end-away" }]);
    expect(list[0]!.detail).toMatch(/mirrored/);
  });

  it("reset forgets what was injected", async () => {
    await setFaults({ drift: { rate: 1, kinds: ["garment-swap"], seed: 1 } });
    await hero("Editorial hero");
    expect(await injected()).toHaveLength(1);
    await fetch(`${sim.url}/__sim/reset`, { method: "POST" });
    expect(await injected()).toEqual([]);
    expect(((await (await fetch(`${sim.url}/__sim/drift`)).json()) as { config: { rate: number } }).config.rate).toBe(0);
  });
});
