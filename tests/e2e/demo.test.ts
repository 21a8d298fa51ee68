/**
 * The spine's first promise, measured: the demo drives one shoot through the real stack (wrangler
 * dev, the media service, the simulator) and the reel is what a player expects.
 */
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../scripts/demo.ts";
import { startTestStack, videoFacts } from "./helpers.ts";

describe("npm run demo against the local stack", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  beforeAll(async () => {
    env = await startTestStack("demo", 18700);
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it("completes a shoot with revisions and keeps every version", async () => {
    const lines: string[] = [];
    const result = await runDemo({ url: env.stack.url, apiKey: env.stack.identity.apiKey, log: (l) => lines.push(l), timeoutMs: 12 * 60_000 }).catch((err) => {
      throw new Error(`${err}\n--- demo log ---\n${lines.join("\n")}\n--- stack log (tail) ---\n${env.logs.slice(-60).join("\n")}`);
    });
    const { shoot } = result;
    expect(shoot.status).toBe("completed");

    const versions = (kind: string, index = 0) => shoot.assets.filter((a) => a.kind === kind && a.index === index).map((a) => a.version).sort();
    expect(versions("hero")).toEqual([1, 2]);
    expect(versions("frame", 3)).toEqual([1, 2]);
    for (const i of [1, 2, 4, 5, 6]) expect(versions("frame", i)).toEqual([1]);
    expect(versions("contact-sheet")).toEqual([1]);
    for (const i of [1, 2, 3, 4, 5]) expect(versions("clip", i)).toEqual([1]);

    // Every version is still downloadable, byte for byte.
    for (const a of shoot.assets) {
      const res = await fetch(a.url);
      expect(res.status, `${a.kind}-${a.index} v${a.version}`).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(a.bytes);
    }

    // The reel: H.264, yuv420p, 60 fps, 5 clips x 1.5 s = 450 frames (±1), moov first.
    const reelRes = await fetch(result.reelUrl);
    expect(reelRes.headers.get("content-type")).toBe("video/mp4");
    const facts = await videoFacts(new Uint8Array(await reelRes.arrayBuffer()), path.join(tmpdir(), `atelier-reel-${Date.now()}.mp4`));
    expect(facts.codec).toBe("h264");
    expect(facts.pixFmt).toBe("yuv420p");
    expect(facts.fps).toBe(60);
    expect(Math.abs(facts.frames - 450)).toBeLessThanOrEqual(1);
    expect(facts.moovFirst).toBe(true);

    // Every finished job is on the timeline exactly once, as job.completed, whichever path finished
    // it (FAL webhook, Kling callback, media consumer, poll or watchdog).
    const { jobs, timeline } = shoot as unknown as {
      jobs: { id: string; status: string }[];
      timeline: { type: string; data: { job?: string; by?: string } | null }[];
    };
    const finished = jobs.filter((j) => j.status === "succeeded");
    expect(finished.length).toBeGreaterThanOrEqual(11);
    for (const j of finished) {
      const events = timeline.filter((e) => e.type === "job.completed" && e.data?.job === j.id);
      expect(events, j.id).toHaveLength(1);
      expect(["webhook", "callback", "media", "poll", "watchdog"]).toContain(events[0]!.data!.by);
    }

    // The clips checkpoint's easing switch reached the stitch.
    const reel = shoot.assets.find((a) => a.kind === "reel")!;
    expect((reel as unknown as { provenance: { params: { easing: string } } }).provenance.params.easing).toBe("cinematic");
  });
});
