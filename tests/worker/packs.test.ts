/**
 * The channel pack API's refusals: a bad channel choice names the field and creates nothing, a shoot
 * that has not completed cannot be packed, another account's shoot does not exist. Making a pack is
 * covered by tests/worker/workflow.test.ts ("deliver stage") and end to end in tests/e2e/packs.test.ts.
 */
import { describe, expect, it } from "vitest";
import { call, newAccount, parkedWorkflows, uploadRefs } from "./helpers.ts";

async function runningShoot() {
  const { apiKey } = await newAccount();
  const refs = await uploadRefs(apiKey, 1);
  const res = await call("/api/shoots", { method: "POST", key: apiKey, body: JSON.stringify({ brief: "denim editorial", references: refs }) });
  expect(res.status).toBe(201);
  return { apiKey, id: ((await res.json()) as { id: string }).id };
}

const fields = async (res: Response) => ((await res.json()) as { errors: { field: string; message: string }[] }).errors;

describe("channel packs API", () => {
  it("refuses a channel it does not know, a channel twice and a video spec in a still format, naming the field", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey, id } = await runningShoot();
    const post = (body: unknown) => call(`/api/shoots/${id}/packs`, { method: "POST", key: apiKey, body: JSON.stringify(body) });

    const unknown = await post({ channels: ["reels", "myspace"] });
    expect(unknown.status).toBe(400);
    expect((await fields(unknown))[0]).toMatchObject({ field: "channels[1]" });

    const twice = await post({ channels: ["reels", "reels"] });
    expect(twice.status).toBe(400);
    expect((await fields(twice))[0]).toMatchObject({ field: "channels" });

    const spec = { name: "story", label: "Story", media: "video", width: 1080, height: 1920, format: "jpeg" };
    const wrongFormat = await post({ channels: [spec] });
    expect(wrongFormat.status).toBe(400);
    expect(JSON.stringify(await fields(wrongFormat))).toContain("format");

    // Nothing was made by any of them.
    expect((await call(`/api/shoots/${id}/pack`, { key: apiKey })).status).toBe(404);
  });

  it("packs only a completed shoot, and only the owner's", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey, id } = await runningShoot();
    const res = await call(`/api/shoots/${id}/packs`, { method: "POST", key: apiKey, body: JSON.stringify({ channels: ["reels"] }) });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/completed/);

    const other = await newAccount("another studio");
    expect((await call(`/api/shoots/${id}/packs`, { method: "POST", key: other.apiKey, body: "{}" })).status).toBe(404);
    expect((await call(`/api/shoots/${id}/pack`, { key: other.apiKey })).status).toBe(404);
    expect((await call(`/api/shoots/${id}/pack/reels`, { key: other.apiKey })).status).toBe(404);
    expect((await call(`/api/shoots/${id}/pack/reels`)).status).toBe(401);
    const bad = await call(`/api/shoots/${id}/pack/NOT_A_NAME`, { key: apiKey });
    // A path segment that cannot name anything is a missing resource, named in the answer.
    expect(bad.status).toBe(404);
    expect(((await bad.json()) as { detail: string }).detail).toContain("NOT_A_NAME");
  });

  it("a shoot's own channels are validated when it is created", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const res = await call("/api/shoots", {
      method: "POST",
      key: apiKey,
      body: JSON.stringify({
        brief: "denim editorial",
        references: refs,
        channels: ["shopify", { name: "tiny", label: "Tiny", media: "still", width: 10, height: 10, format: "png" }],
      }),
    });
    expect(res.status).toBe(400);
    expect((await fields(res)).map((e) => e.field)).toEqual(expect.arrayContaining(["channels[1].width"]));
    expect(((await (await call("/api/shoots", { key: apiKey })).json()) as { shoots: unknown[] }).shoots).toHaveLength(0);
  });
});
