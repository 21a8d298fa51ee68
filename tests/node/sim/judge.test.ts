/**
 * The simulated vision judge (sim/judge.ts) with the product's judge client (src/quality/judge.ts):
 * it looks at the images it is sent, knows a still the simulator drifted (its bytes, or the same
 * picture scaled down and re-encoded) and flags the rubric item the drift spoils, with a box where
 * the drift is; an untouched output passes. Its faults (refusal, malformed, slow), its 400 for an
 * image it cannot download, and the request log (`GET /__sim/anthropic/requests`).
 */
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { accessorySvg, figureSvg, garmentSvg } from "../../../common/qa/figures.ts";
import { FindingSchema } from "../../../src/domain/findings.ts";
import { JUDGE_TOOL, judgeOutputs, type JudgeInput, type JudgeOutcome } from "../../../src/quality/judge.ts";
import type { InjectedDrift } from "../../../sim/drift.ts";
import { startReceiver, startTestSim } from "./helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const onWhite = async (svg: string, bg = "#f2f2f0") => sharp(Buffer.from(svg)).flatten({ background: bg }).png().toBuffer();

describe("simulated vision judge", () => {
  let sim: Sim;
  let rx: Receiver;
  let refs: JudgeInput["references"];

  beforeAll(async () => {
    sim = await startTestSim();
    rx = await startReceiver();
    refs = [
      { url: rx.addImage("model.png", await onWhite(figureSvg(3, 3), "#c8ced4")), role: "model" },
      { url: rx.addImage("garment.png", await onWhite(garmentSvg(3))), role: "garment", label: "the jacket" },
      { url: rx.addImage("watch.png", await onWhite(accessorySvg(4).svg, "#fafafa")), role: "accessory" },
    ];
  });
  afterEach(async () => {
    await fetch(`${sim.url}/__sim/reset`, { method: "POST" });
  });
  afterAll(async () => {
    await sim?.close();
    await rx?.close();
  });

  const faults = (patch: unknown) => fetch(`${sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify(patch) });
  const env = (over: Record<string, string> = {}) => ({
    ANTHROPIC_API_KEY: "sk-ant-test",
    ANTHROPIC_BASE_URL: `${sim.url}/anthropic`,
    ANTHROPIC_MODEL: "claude-sonnet-4-6",
    JUDGE_MODEL: "claude-sonnet-4-6",
    JUDGE_TIMEOUT_MS: "20000",
    JUDGE_INPUT_USD_PER_MTOK: "3",
    JUDGE_OUTPUT_USD_PER_MTOK: "15",
    ...over,
  });

  /** A hero from the references through the FAL queue: its output URL and bytes. */
  async function hero(prompt: string): Promise<{ url: string; image: Buffer }> {
    const res = await fetch(`${sim.url}/fal/fal-ai/nano-banana-pro/edit`, {
      method: "POST",
      headers: { authorization: "Key k", "content-type": "application/json" },
      body: JSON.stringify({ prompt, image_urls: refs.map((r) => r.url), aspect_ratio: "2:3" }),
    });
    const { status_url, response_url } = (await res.json()) as { status_url: string; response_url: string };
    for (let i = 0; i < 400; i++) {
      const s = (await (await fetch(status_url, { headers: { authorization: "Key k" } })).json()) as { status: string };
      if (s.status === "COMPLETED") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = (await (await fetch(response_url, { headers: { authorization: "Key k" } })).json()) as { images: { url: string }[] };
    const url = out.images[0]!.url;
    return { url, image: Buffer.from(await (await fetch(url)).arrayBuffer()) };
  }

  const flags = (o: JudgeOutcome, asset: string) =>
    o.status === "answered" ? o.findings.filter((f) => f.asset === asset && f.verdict === "flag").map((f) => f.check) : null;

  for (const [kind, check] of [
    ["garment-swap", "judge-garment"],
    ["garment-recolour", "judge-garment"],
    ["accessory-removed", "judge-accessories"],
    ["face-swap", "judge-identity"],
  ] as const) {
    it(`flags ${check} on a hero the sim drifted with ${kind}, with a box; an untouched hero passes`, async () => {
      const clean = await hero(`A full-body editorial still of the jacket, ${kind}. Setting: grey studio`);
      await faults({ drift: { rate: 1, kinds: [kind] } });
      const drifted = await hero(`A full-body editorial still of the jacket, ${kind}. Setting: grey studio`);
      const injected = ((await (await fetch(`${sim.url}/__sim/drift`)).json()) as { injected: InjectedDrift[] }).injected;
      expect(injected).toHaveLength(1);
      expect(injected[0]!.output).toMatchObject({ url: drifted.url, picture: "hero" });
      expect(injected[0]!.output!.sha256).toMatch(/^[0-9a-f]{64}$/);

      const outcome = await judgeOutputs(env(), {
        stage: "hero",
        references: refs,
        outputs: [
          { name: "hero", url: drifted.url },
          { name: "hero-clean", url: clean.url },
        ],
      });
      expect(outcome.status).toBe("answered");
      if (outcome.status !== "answered") return;
      for (const f of outcome.findings) FindingSchema.parse(f);
      expect(flags(outcome, "hero")).toEqual([check]);
      expect(flags(outcome, "hero-clean")).toEqual([]);
      const flagged = outcome.findings.find((f) => f.verdict === "flag")!;
      expect(flagged.score).toBeGreaterThanOrEqual(flagged.threshold);
      expect(flagged.region).toBeDefined();
      expect(flagged.reason).toContain(injected[0]!.detail);
    });
  }

  it("knows a drifted still scaled down and re-encoded as JPEG, as a Worker may send it", async () => {
    await faults({ drift: { rate: 1, kinds: ["garment-swap"] } });
    const drifted = await hero("A full-body editorial still. Setting: warm daylight");
    const small = await sharp(drifted.image)
      .resize({ width: Math.round(1568 * (2 / 3)) })
      .jpeg({ quality: 80 })
      .toBuffer();
    const other = await sharp(drifted.image).flop().jpeg({ quality: 80 }).toBuffer();
    const outcome = await judgeOutputs(env(), {
      stage: "hero",
      references: refs,
      outputs: [
        { name: "small", url: rx.addImage("small.jpg", small, "image/jpeg") },
        { name: "mirrored", url: rx.addImage("mirrored.jpg", other, "image/jpeg") },
      ],
    });
    expect(flags(outcome, "small")).toEqual(["judge-garment"]);
    expect(flags(outcome, "mirrored")).toEqual([]);
  });

  it("answers a refusal, a malformed review and a late one as the faults say, in the Messages API shape", async () => {
    const input: JudgeInput = {
      stage: "hero",
      references: refs.slice(0, 1),
      outputs: [
        { name: "a", url: refs[1]!.url },
        { name: "b", url: refs[2]!.url },
      ],
    };
    await faults({ judgeFault: "refusal" });
    expect(await judgeOutputs(env(), input)).toMatchObject({ status: "refused" });
    await faults({ judgeFault: "malformed" });
    const bad = await judgeOutputs(env(), input);
    expect(bad.status).toBe("invalid");
    await faults({ judgeFault: "slow", slowMs: 2000 });
    expect(await judgeOutputs(env({ JUDGE_TIMEOUT_MS: "300" }), input)).toMatchObject({ status: "timeout", costUsd: 0 });
    // The planner's faults leave the judge alone.
    await faults({ judgeFault: "none", plannerFault: "refusal" });
    expect((await judgeOutputs(env(), input)).status).toBe("answered");

    const { requests } = (await (await fetch(`${sim.url}/__sim/anthropic/requests`)).json()) as {
      requests: { tool: string; answer: { status: number; stopReason?: string } }[];
    };
    const answers = requests.filter((r) => r.tool === JUDGE_TOOL).map((r) => r.answer);
    expect(answers[0]).toEqual({ status: 200, stopReason: "refusal" });
    expect(answers[1]).toEqual({ status: 200, stopReason: "tool_use" });
    expect(answers.at(-1)).toEqual({ status: 200, stopReason: "tool_use" });
  });

  it("a malformed review is a tool_use whose input fails the schema: a flag without a place, a confidence in words, an output left out", async () => {
    await faults({ judgeFault: "malformed" });
    const res = await fetch(`${sim.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "k", "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: "claude-sonnet-4-6",
        max_tokens: 2000,
        tools: [{ name: JUDGE_TOOL, input_schema: { type: "object", properties: { outputs: { type: "object", properties: { a: {}, b: {} } } } } }],
        tool_choice: { type: "tool", name: JUDGE_TOOL },
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: 'Output "a":' },
              { type: "image", source: { type: "url", url: refs[1]!.url } },
            ],
          },
        ],
      }),
    });
    const message = (await res.json()) as { stop_reason: string; content: { type: string; input: { outputs: Record<string, Record<string, unknown>> } }[] };
    expect(message.stop_reason).toBe("tool_use");
    const outputs = message.content[0]!.input.outputs;
    expect(Object.keys(outputs)).toEqual(["a"]);
    expect(outputs.a!.garment).toEqual({ verdict: "flag", confidence: "high", reason: "", region: null });
  });

  it("answers 400 for an image it cannot download, and logs requests with base64 data and URL credentials hidden", async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#808080" } })
      .png()
      .toBuffer();
    const res = await fetch(`${sim.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "k", "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: "claude-sonnet-4-6",
        max_tokens: 2000,
        tools: [{ name: JUDGE_TOOL, input_schema: { type: "object" } }],
        tool_choice: { type: "tool", name: JUDGE_TOOL },
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { type: "base64", media_type: "image/png", data: png.toString("base64") } },
              { type: "image", source: { type: "url", url: "http://127.0.0.1:9/x.png?sig=secret-value&exp=1" } },
            ],
          },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringMatching(/content\.1\.image.*Unable to download/) },
    });
    const { requests } = (await (await fetch(`${sim.url}/__sim/anthropic/requests`)).json()) as { requests: unknown[] };
    const logged = JSON.stringify(requests.at(-1));
    expect(logged).not.toContain("secret-value");
    expect(logged).not.toContain(png.toString("base64"));
    expect(logged).toContain(`<${png.length} bytes of base64>`);
    expect((requests.at(-1) as { answer: unknown }).answer).toMatchObject({ status: 400, error: expect.stringMatching(/Unable to download/) });
  });
});
