/** A pack job's body: what the media service refuses before starting (container/schema.ts). */
import { describe, expect, it } from "vitest";
import { parseJob } from "../../../../container/schema.ts";

const url = (k: string) => `http://blobs.test/${k}`;

function body(over: { inputs?: string[]; outputs?: string[]; params?: Record<string, unknown> }) {
  const inputs = over.inputs ?? ["reel", "hero"];
  const outputs = over.outputs ?? ["reels", "shopify"];
  return {
    kind: "pack",
    inputs: inputs.map((name) => ({ name, url: url(name) })),
    outputs: Object.fromEntries(outputs.map((n) => [n, url(`out/${n}`)])),
    params: over.params ?? {
      videos: [{ output: "reels", width: 1080, height: 1920 }],
      stills: [{ input: "hero", output: "shopify", width: 2048, height: 2048 }],
    },
  };
}

describe("pack job rules", () => {
  it("accepts videos from the reel and stills from named inputs, with the encoder defaults", () => {
    const r = parseJob(body({}));
    expect("job" in r && r.job.kind === "pack" && r.job.params).toMatchObject({ crf: expect.any(Number), preset: expect.any(String), cuts: [] });
  });

  it("refuses videos without a reel, a still from a missing input, and outputs that do not match the params", () => {
    const noReel = parseJob(body({ inputs: ["hero"] }));
    expect(noReel).toMatchObject({ invalid: { field: "inputs", error: expect.stringContaining('"reel"') } });
    const noInput = parseJob(body({ inputs: ["reel"] }));
    expect(noInput).toMatchObject({ invalid: { field: "params.stills", error: expect.stringContaining('"hero"') } });
    const noUrl = parseJob(body({ outputs: ["reels"] }));
    expect(noUrl).toMatchObject({ invalid: { field: "outputs.shopify" } });
    const extra = parseJob(body({ outputs: ["reels", "shopify", "banner"] }));
    expect(extra).toMatchObject({ invalid: { field: "outputs.banner" } });
    const twice = parseJob(
      body({
        outputs: ["reels"],
        params: {
          videos: [
            { output: "reels", width: 1080, height: 1920 },
            { output: "reels", width: 1080, height: 1350 },
          ],
        },
      }),
    );
    expect(twice).toMatchObject({ invalid: { field: "params", error: expect.stringContaining('"reels" is used twice') } });
    expect(parseJob(body({ outputs: [], params: {} }))).toMatchObject({ invalid: { field: "params" } });
  });
});
