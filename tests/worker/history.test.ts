/**
 * Issue 21, compaction: a shoot that ended more than COMPACT_AFTER ago keeps a bounded few KB in D1
 * however much it did; its timeline moves to one R2 object that the API still serves (the shoot's
 * page and its event stream), its costs stay, and retention deletes the archive with the shoot.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { db } from "../../src/db/client.ts";
import { logEvent } from "../../src/db/events.ts";
import { ensureJob } from "../../src/db/jobs.ts";
import { approvedArtifacts } from "../../src/db/checkpoints.ts";
import { compactHistory } from "../../src/history.ts";
import { runRetention } from "../../src/retention.ts";
import { historyKey } from "../../src/storage/history-keys.ts";
import { call, newAccount } from "./helpers.ts";

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const TABLES = ["shoots", "events", "jobs", "assets", "checkpoints"] as const;

/** The bytes a shoot's rows hold in D1: every column's length, over every table that names it. */
async function liveBytes(shootId: string): Promise<number> {
  let total = 0;
  for (const t of TABLES) {
    const cols = (await env.DB.prepare(`SELECT name FROM pragma_table_info('${t}')`).all<{ name: string }>()).results.map((c) => c.name);
    const expr = cols.map((c) => `coalesce(length(CAST("${c}" AS BLOB)), 0)`).join(" + ");
    const key = t === "shoots" ? "id" : "shoot_id";
    total += (await env.DB.prepare(`SELECT coalesce(sum(${expr}), 0) AS n FROM ${t} WHERE ${key} = ?1`).bind(shootId).first<{ n: number }>())!.n;
  }
  return total;
}

/** An ended shoot with `events` timeline entries and six jobs whose payloads are a few KB each. */
async function endedShoot(accountId: string, events: number, endedDaysAgo = 30): Promise<string> {
  const id = `sh_hist_${crypto.randomUUID().slice(0, 8)}`;
  const d = db(env.DB);
  await env.DB.prepare(
    "insert into shoots (id, account_id, status, stage, brief, params, plan, completed_at, updated_at) values (?1, ?2, 'completed', 'reel', 'linen suit', ?3, ?5, ?4, ?4)",
  )
    .bind(
      id,
      accountId,
      JSON.stringify({ references: [] }),
      ago(endedDaysAgo),
      JSON.stringify({ angles: Array.from({ length: 6 }, (_, i) => ({ name: `angle ${i}`, prompt: "a long prompt ".repeat(20) })) }),
    )
    .run();
  await logEvent(d, { shootId: id, accountId, type: "shoot.created", data: { brief: "linen suit" } });
  for (let i = 1; i < events - 1; i++) {
    await logEvent(d, { shootId: id, accountId, type: "asset.stored", data: { asset: `as_${i}`, kind: "frame", index: i % 6, version: 1 } });
  }
  await logEvent(d, { shootId: id, accountId, type: "shoot.completed", data: null });
  // Six frames (a large shoot's with long prompts) and a pack file, and the frames' checkpoint
  // with as many findings as the shoot had events.
  const long = "keep the collar's stitching sharp ".repeat(Math.ceil(events / 10));
  const frames: string[] = [];
  for (let i = 0; i <= 6; i++) {
    const asset = `as_${id}_${i}`;
    if (i < 6) frames.push(asset);
    await env.DB.prepare(
      "insert into assets (id, account_id, shoot_id, kind, stage, \"index\", r2_key, bytes, mime, sha256, channel, provenance) values (?1, ?2, ?3, ?4, 'frames', ?5, ?6, 10, 'image/png', 'x', ?7, ?8)",
    )
      .bind(
        asset,
        accountId,
        id,
        i < 6 ? "frame" : "pack",
        i,
        `accounts/${accountId}/shoots/${id}/${asset}.png`,
        i < 6 ? null : "reels",
        JSON.stringify({ prompt: i < 6 ? long : "the reel cut to 9:16", seed: i }),
      )
      .run();
  }
  const findings = Array.from({ length: events }, (_, i) =>
    i === 0
      ? { asset: frames[0], check: "continuity", verdict: "flag", score: 18, threshold: 12, reason: "frame 0 is not the jacket's brown" }
      : { asset: frames[i % 6], check: "continuity", verdict: "pass", score: 3, threshold: 12, reason: `frame ${i} holds the jacket's colour` },
  );
  await env.DB.prepare(
    "insert into checkpoints (id, shoot_id, stage, attempt, status, artifacts, timeout_policy) values (?1, ?2, 'frames', 1, 'approved', ?3, 'expire')",
  )
    .bind(`cp_${id}`, id, JSON.stringify({ assets: frames, quality: { findings } }))
    .run();
  for (let j = 1; j <= 6; j++) {
    await ensureJob(d, {
      id: `${id}-frame-${j}-1`,
      shootId: id,
      accountId,
      type: "provider",
      provider: "fal",
      stage: "frames",
      status: "succeeded",
      costUsd: 0.15,
      request: { prompt: "a long prompt ".repeat(150), image: "https://example.test/x.png" },
      result: { status: "succeeded", output: { images: [{ url: "https://example.test/out.png", width: 848, height: 1264 }], seed: j } },
    });
  }
  return id;
}

/** A batch of one row, the shoot, marked flagged: what the batch report reads. */
async function flaggedBatchOf(accountId: string, shootId: string): Promise<string> {
  const batchId = `ba_hist_${crypto.randomUUID().slice(0, 8)}`;
  await env.DB.batch([
    env.DB.prepare("insert into batches (id, account_id, idempotency_key, total, status) values (?1, ?2, ?1, 1, 'completed')").bind(batchId, accountId),
    env.DB.prepare(
      "insert into batch_rows (batch_id, idx, account_id, idempotency_key, shoot_id, brief, params, state, outcome) values (?1, 1, ?2, 'row-1', ?3, 'linen suit', '{}', 'created', 'completed')",
    ).bind(batchId, accountId, shootId),
    env.DB.prepare("update shoots set flagged = 1 where id = ?1").bind(shootId),
  ]);
  return batchId;
}

const detail = async (key: string, id: string) =>
  (await (await call(`/api/shoots/${id}`, { key })).json()) as {
    timeline: { id: number; type: string; data: unknown }[];
    costs: { totalUsd: number };
    jobs: unknown[];
    plan: { angles: unknown[] } | null;
    assets: { id: string; provenance: unknown }[];
    checkpoints: { stage: string; artifacts: { assets: string[] } }[];
  };

describe("compaction of ended shoots", () => {
  it("keeps the same few KB in D1 for a small and a large shoot, and the API still serves all of it", async () => {
    const { accountId, apiKey } = await newAccount();
    const small = await endedShoot(accountId, 20);
    const large = await endedShoot(accountId, 400);
    const recent = await endedShoot(accountId, 20, 1);
    const before = { small: await liveBytes(small), large: await liveBytes(large), recent: await liveBytes(recent) };
    const pages = { small: await detail(apiKey, small), large: await detail(apiKey, large) };
    expect(pages.large.timeline).toHaveLength(400);
    const batchId = await flaggedBatchOf(accountId, large);
    const report = async () => (await (await call(`/api/batches/${batchId}/report`, { key: apiKey })).json()) as { rows: { flags: string[] }[] };
    const flagsBefore = (await report()).rows[0].flags;
    expect(flagsBefore).toEqual(["frames: frame 0 is not the jacket's brown"]);

    const compaction = await compactHistory(env);
    const mine = compaction.shoots.filter((s) => [small, large, recent].includes(s.id));
    expect(mine.map((s) => s.id).sort()).toEqual([small, large].sort());
    const after = { small: await liveBytes(small), large: await liveBytes(large), recent: await liveBytes(recent) };
    console.log(JSON.stringify({ before, after, archive: mine.map((s) => s.bytes) }));
    // Bounded: what it did no longer shows in D1; a shoot that ended yesterday is untouched.
    expect(after.large).toBe(after.small);
    expect(after.large).toBeLessThan(before.large / 10);
    expect(after.recent).toBe(before.recent);

    // The shoot's page is the same as before: the whole timeline, its jobs and its costs.
    for (const [id, page] of [
      [small, pages.small],
      [large, pages.large],
    ] as const) {
      const now = await detail(apiKey, id);
      expect(now.timeline).toEqual(page.timeline);
      expect(now.jobs).toEqual(page.jobs);
      expect(now.costs).toEqual(page.costs);
      expect(now.assets.map((a) => [a.id, a.provenance])).toEqual(page.assets.map((a) => [a.id, a.provenance]));
      expect(now.checkpoints).toEqual(page.checkpoints);
      expect(now.plan).toEqual(page.plan);
      expect(now.plan?.angles).toHaveLength(6);
      // Downloads and packs read which frames were approved from D1 alone.
      expect((await approvedArtifacts(db(env.DB), id)).get("frames")?.assets).toEqual(page.checkpoints[0].artifacts.assets);
    }
    expect(pages.large.checkpoints[0].artifacts).toHaveProperty("quality.findings.length", 400);
    // The batch report still names what was flagged, from the archive.
    expect((await report()).rows[0].flags).toEqual(flagsBefore);
    // A pack file (made after the shoot ended, read by the pack's page) keeps its provenance in D1.
    const packRow = await env.DB.prepare("SELECT provenance FROM assets WHERE shoot_id = ?1 AND channel IS NOT NULL")
      .bind(large)
      .first<{ provenance: string }>();
    expect(JSON.parse(packRow!.provenance)).toHaveProperty("seed", 6);
    expect(pages.large.costs.totalUsd).toBeCloseTo(0.9);

    // Its event stream resumes from an id and ends, from the archive.
    const lastSeen = pages.small.timeline[9].id;
    const stream = await call(`/api/shoots/${small}/events`, { key: apiKey, headers: { "last-event-id": String(lastSeen) } });
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const ids = [...(await stream.text()).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(pages.small.timeline.slice(10).map((e) => e.id));

    // An event written later (a channel pack of the finished shoot) follows the archived ones.
    await logEvent(db(env.DB), { shootId: small, accountId, type: "pack.started", data: { pack: `${small}-pack-1`, version: 1, channels: ["reels"] } });
    const later = await detail(apiKey, small);
    expect(later.timeline.map((e) => e.type)).toEqual([...pages.small.timeline.map((e) => e.type), "pack.started"]);

    // Done once: a second run leaves them alone.
    expect((await compactHistory(env)).shoots.filter((s) => [small, large].includes(s.id))).toEqual([]);
  });

  it("is never seen by another account, and goes with the shoot when retention deletes it", async () => {
    const { accountId, apiKey } = await newAccount();
    const other = await newAccount("another studio");
    const id = await endedShoot(accountId, 12, 120);
    await compactHistory(env);
    expect(await env.BUCKET.head(historyKey(accountId, id))).not.toBeNull();
    expect((await call(`/api/shoots/${id}`, { key: other.apiKey })).status).toBe(404);
    expect((await call(`/api/shoots/${id}/events`, { key: other.apiKey })).status).toBe(404);
    expect((await detail(apiKey, id)).timeline).toHaveLength(12);

    await runRetention(env);
    expect(await env.BUCKET.head(historyKey(accountId, id))).toBeNull();
    expect((await call(`/api/shoots/${id}`, { key: apiKey })).status).toBe(404);
  });
});
