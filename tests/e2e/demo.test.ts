/**
 * The spine's first promise, measured: the demo drives one shoot through the real stack (wrangler
 * dev, the media service, the simulator) and the reel is what a player expects. Every API response
 * on the way (uploads, create, get, decisions, then list, events and errors) is checked against the
 * served OpenAPI document as it arrives.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../scripts/demo.ts";
import type { Problem, ShootList, TimelineEvent } from "../../src/api/types.ts";
import { ContractViolation } from "./contract.ts";
import { contractFetch, servedDocument, startTestStack, videoFacts } from "./helpers.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

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
    const checked = contractFetch(env.stack);
    const result = await runDemo({
      url: env.stack.url,
      apiKey: env.stack.identity.apiKey,
      log: (l) => lines.push(l),
      timeoutMs: 12 * 60_000,
      fetch: checked,
    }).catch((err) => {
      throw new Error(`${err}\n--- demo log ---\n${lines.join("\n")}\n--- stack log (tail) ---\n${env.logs.slice(-60).join("\n")}`);
    });
    const { shoot } = result;
    expect(shoot.status).toBe("completed");

    const versions = (kind: string, index = 0) =>
      shoot.assets
        .filter((a) => a.kind === kind && a.index === index)
        .map((a) => a.version)
        .sort();
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

    // The rest of the API a client uses, checked against the document the same way.
    const auth = { authorization: `Bearer ${env.stack.identity.apiKey}` };
    const list = await checked(`${env.stack.url}/api/shoots?status=completed&limit=5`, { headers: auth });
    expect(list.status).toBe(200);
    expect(((await list.json()) as ShootList).shoots.map((s) => s.id)).toContain(result.shootId);

    // The finished shoot's event stream replays the whole timeline, then ends.
    const events = await checked(`${env.stack.url}/api/shoots/${result.shootId}/events`, { headers: auth });
    expect(events.headers.get("content-type")).toContain("text/event-stream");
    const types = [...(await events.text()).matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(types[0]).toBe("shoot.created");
    expect(types.at(-1)).toBe("shoot.completed");
    expect(types).toEqual(shoot.timeline.map((e: TimelineEvent) => e.type));

    const problems: [string, RequestInit, number][] = [
      ["/api/shoots", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ brief: "x", references: [] }) }, 400],
      ["/api/shoots?limit=500", { headers: auth }, 400],
      ["/api/shoots", { headers: { authorization: "Bearer atl_wrong" } }, 401],
      ["/api/shoots/sh_missing", { headers: auth }, 404],
      [
        `/api/shoots/${result.shootId}/checkpoints/reel/decision`,
        { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ action: "approve" }) },
        409,
      ],
      [`/api/shoots/${result.shootId}/cancel`, { method: "POST", headers: auth }, 409],
    ];
    for (const [p, init, status] of problems) {
      const res = await checked(`${env.stack.url}${p}`, init);
      expect(res.status, `${init.method ?? "GET"} ${p}`).toBe(status);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(((await res.json()) as Problem).status).toBe(status);
    }
  });

  it("serves the committed document, which Redocly's recommended rules pass", async () => {
    const doc = (await servedDocument(env.stack)) as unknown as Record<string, unknown>;
    const committed = JSON.parse(readFileSync(path.join(ROOT, "src/api/openapi.json"), "utf8"));
    // Only the server differs: it is the origin each copy was served from.
    expect({ ...doc, servers: undefined }).toEqual({ ...committed, servers: undefined });
    const file = path.join(tmpdir(), `atelier-openapi-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(doc));
    const lint = spawnSync(path.join(ROOT, "node_modules/.bin/redocly"), ["lint", file, "--format=json"], { cwd: ROOT, encoding: "utf8" });
    expect(JSON.parse(lint.stdout).totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it("the response check fails on a field of the wrong type", async () => {
    // The same checker, given the served document with one field's type changed.
    const doc = structuredClone(await servedDocument(env.stack));
    (doc.components.schemas.ShootSummary as { properties: Record<string, unknown> }).properties.brief = { type: "integer" };
    const { contractChecker } = await import("./contract.ts");
    const strict = contractChecker(doc).wrap(fetch);
    const res = strict(`${env.stack.url}/api/shoots?limit=1`, { headers: { authorization: `Bearer ${env.stack.identity.apiKey}` } });
    await expect(res).rejects.toThrow(ContractViolation);
    await expect(res).rejects.toThrow(/brief/);
  });
});
