/** Planner inputs: references larger than Claude's 1568 px are scaled down before they are sent. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PLANNER_MAX_SIDE, plannerReferences } from "../../src/storage/downscale.ts";
import { makePng } from "./png.ts";

describe("planner references", () => {
  it("scales a reference past 1568 px down to 1568 on its long side and leaves a small one alone", async () => {
    await env.BUCKET.put("test/planner/big.png", await makePng(2400, 1600));
    await env.BUCKET.put("test/planner/small.png", await makePng(800, 1000));
    const keys = await plannerReferences(env, "acct", "sh_planner", ["test/planner/big.png", "test/planner/small.png"]);
    expect(keys[1]).toBe("test/planner/small.png");
    expect(keys[0]).toBe("accounts/acct/shoots/sh_planner/claude/reference-1.jpg");
    const obj = await env.BUCKET.get(keys[0]);
    expect(obj?.httpMetadata?.contentType).toBe("image/jpeg");
    const info = (await env.IMAGES.info(obj!.body)) as { width: number; height: number; format: string };
    expect(Math.max(info.width, info.height)).toBe(PLANNER_MAX_SIDE);
    expect(info.width / info.height).toBeCloseTo(1.5, 1);
  });
});
