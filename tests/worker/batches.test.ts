/**
 * Batches through the HTTP API and the real submission queue: validation per row, idempotent
 * resubmission, CSV intake, partial placement failure and the dead-letter queue with its retry.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertBatch } from "../../src/db/batches.ts";
import worker from "../../src/index.ts";
import { db } from "../../src/db/client.ts";
import { DEFAULT_STITCH } from "../../src/domain/shoot.ts";
import { rowShootId } from "../../src/batches/submissions.ts";
import { call, newAccount, parkedWorkflows, uploadRefs } from "./helpers.ts";
import { wakeStrandedShoots } from "../../src/recovery.ts";
import { runRetention } from "../../src/retention.ts";
import { LIVE_SHOOT_STATUSES } from "../../src/domain/contract.ts";

interface BatchStatus {
  id: string;
  status: string;
  total: number;
  counts: { byState: Record<string, number>; byStage: Record<string, Record<string, number>> };
  costUsd: number;
  shoots: { index: number; id: string; state: string; error: string | null }[];
  failures: { index: number; shootId: string; reason: string; retry: string }[];
}

const post = (key: string, body: unknown) => call("/api/batches", { method: "POST", key, body: JSON.stringify(body) });
const status = async (key: string, id: string) => (await (await call(`/api/batches/${id}`, { key })).json()) as BatchStatus;
async function placed(key: string, id: string, timeoutMs = 20_000): Promise<BatchStatus> {
  const start = Date.now();
  for (;;) {
    const s = await status(key, id);
    if (s.shoots.every((r) => r.state !== "queued")) return s;
    if (Date.now() - start > timeoutMs) throw new Error(`rows still queued: ${JSON.stringify(s.counts)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const shootCount = async (key: string) => ((await (await call("/api/shoots?limit=100", { key })).json()) as { shoots: unknown[] }).shoots.length;

let parked: Awaited<ReturnType<typeof parkedWorkflows>>;
beforeAll(async () => {
  parked = await parkedWorkflows();
});
afterAll(async () => {
  await parked?.dispose();
});

describe("batch intake", () => {
  it("refuses a batch with one bad row, naming its index and field, and creates nothing", async () => {
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const res = await post(apiKey, {
      shoots: [
        { brief: "linen suit, harbour at dawn", references: refs },
        { brief: "raincoat in the city", references: refs, aspectRatio: "7:1" },
        { brief: "knitwear by the fire", references: ["up_not-mine"] },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors.map((e) => e.field).sort()).toEqual(["shoots[1].aspectRatio", "shoots[2].references[0]"]);
    expect(((await (await call("/api/batches", { key: apiKey })).json()) as { batches: unknown[] }).batches).toHaveLength(0);
    expect(await shootCount(apiKey)).toBe(0);
  });

  it("refuses an empty batch, more than 500 rows, and two rows with the same content", async () => {
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const row = { brief: "denim jacket on a rooftop", references: refs };
    expect((await post(apiKey, { shoots: [] })).status).toBe(400);
    const big = await post(apiKey, { shoots: Array.from({ length: 501 }, (_, i) => ({ ...row, idempotencyKey: `k${i}` })) });
    expect(big.status).toBe(400);
    expect(((await big.json()) as { errors: { field: string }[] }).errors[0].field).toBe("shoots");
    const dup = await post(apiKey, { shoots: [row, row] });
    expect(((await dup.json()) as { errors: { field: string; message: string }[] }).errors).toEqual([
      { field: "shoots[1]", message: expect.stringContaining("shoots[0]") },
    ]);
    expect(await shootCount(apiKey)).toBe(0);
  });

  it("the same batch submitted twice yields the same batch and shoot ids, each shoot created once", { timeout: 30_000 }, async () => {
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 2);
    const body = {
      review: ["reel"],
      presets: { background: "studio-white" },
      shoots: Array.from({ length: 12 }, (_, i) => ({
        brief: `look ${i + 1}: tailored wool coat`,
        references: refs,
        ...(i % 3 === 0 ? { idempotencyKey: `look-${i + 1}` } : {}),
      })),
    };
    const first = await post(apiKey, body);
    expect(first.status).toBe(202);
    const a = (await first.json()) as { id: string; shoots: { id: string }[] };
    expect(new Set(a.shoots.map((s) => s.id)).size).toBe(12);

    const again = await post(apiKey, body);
    expect(again.status).toBe(200);
    const b = (await again.json()) as BatchStatus;
    expect(b.id).toBe(a.id);
    expect(b.shoots.map((s) => s.id)).toEqual(a.shoots.map((s) => s.id));

    const done = await placed(apiKey, a.id);
    expect(done.shoots.every((s) => s.state === "running" || s.state === "awaiting_review")).toBe(true);
    // A third submission after placement changes nothing either.
    expect(((await (await post(apiKey, body)).json()) as BatchStatus).shoots.map((s) => s.id)).toEqual(a.shoots.map((s) => s.id));
    expect(await shootCount(apiKey)).toBe(12);
    // Batch presets and review policy reached each shoot; a row key gives the id a single create with that key gets.
    const shoot = (await (await call(`/api/shoots/${a.shoots[0].id}`, { key: apiKey })).json()) as {
      params: { review: string[]; presets: { background: string } };
    };
    expect(shoot.params).toMatchObject({ review: ["reel"], presets: { background: "studio-white" } });
    const single = await call("/api/shoots", {
      method: "POST",
      key: apiKey,
      body: JSON.stringify({ brief: "look 1: tailored wool coat", references: refs, idempotencyKey: "look-1" }),
    });
    expect(((await single.json()) as { id: string }).id).toBe(a.shoots[0].id);
  });

  it("places a batch larger than one queue delivery (150 rows, two createBatch calls)", { timeout: 120_000 }, async () => {
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const res = await post(apiKey, {
      review: ["plan"],
      shoots: Array.from({ length: 150 }, (_, i) => ({ brief: `catalogue look ${i + 1}`, references: refs })),
    });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { id: string; shoots: { id: string }[] };
    const done = await placed(apiKey, batch.id, 100_000);
    expect(done.counts.byState.dead ?? 0).toBe(0);
    expect(done.shoots.map((s) => s.id)).toEqual(batch.shoots.map((s) => s.id));
  });

  it("takes a CSV upload with per-row errors by row and column", async () => {
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 2);
    const csv = (rows: string[]) => ["brief,references,pose,idempotencyKey", ...rows].join("\n");
    const bad = await call("/api/batches?review=none", {
      method: "POST",
      key: apiKey,
      headers: { "content-type": "text/csv" },
      body: csv([`silk dress in a garden,${refs[0]},,csv-1`, `,${refs[1]},,csv-2`, `velvet blazer,${refs[0]},cartwheel,csv-3`]),
    });
    const badBody = await bad.text();
    expect(bad.status, badBody).toBe(400);
    expect((JSON.parse(badBody) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(["rows[1].brief", "rows[2].presets.pose"]);

    const form = new FormData();
    form.append(
      "file",
      new File([csv([`silk dress in a garden,${refs[0]} ${refs[1]},,csv-1`, `velvet blazer,${refs[1]},,csv-2`])], "looks.csv", { type: "text/csv" }),
    );
    form.append("review", "none");
    const good = await call("/api/batches", { method: "POST", key: apiKey, body: form });
    expect(good.status).toBe(202);
    const batch = (await good.json()) as { id: string; shoots: { idempotencyKey: string }[] };
    expect(batch.shoots.map((s) => s.idempotencyKey)).toEqual(["csv-1", "csv-2"]);
    const done = await placed(apiKey, batch.id);
    expect(done.total).toBe(2);
    const shoot = (await (await call(`/api/shoots/${done.shoots[0].id}`, { key: apiKey })).json()) as { params: { review: string[]; references: string[] } };
    expect(shoot.params).toMatchObject({ review: [], references: refs });
  });

  it("a row whose shoot already exists is placed without a second shoot, next to new ones", async () => {
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const existing = await call("/api/shoots", {
      method: "POST",
      key: apiKey,
      body: JSON.stringify({ brief: "trench coat in rain", references: refs, idempotencyKey: "trench" }),
    });
    const existingId = ((await existing.json()) as { id: string }).id;
    const res = await post(apiKey, {
      shoots: [
        { brief: "trench coat in rain", references: refs, idempotencyKey: "trench" },
        { brief: "parka in snow", references: refs, idempotencyKey: "parka" },
      ],
    });
    const batch = (await res.json()) as { id: string; shoots: { id: string }[] };
    expect(batch.shoots[0].id).toBe(existingId);
    const done = await placed(apiKey, batch.id);
    expect(done.shoots.map((s) => s.state)).not.toContain("dead");
    expect(await shootCount(apiKey)).toBe(2);
  });

  it("keeps batches to their account", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const refs = await uploadRefs(a.apiKey, 1);
    const batch = (await (await post(a.apiKey, { shoots: [{ brief: "private look", references: refs }] })).json()) as { id: string };
    expect((await call(`/api/batches/${batch.id}`, { key: b.apiKey })).status).toBe(404);
    expect((await call(`/api/batches/${batch.id}/retry`, { method: "POST", key: b.apiKey })).status).toBe(404);
    expect((await call(`/api/batches/${batch.id}`)).status).toBe(401);
    // Another account's upload ids are refused by row.
    const res = await post(b.apiKey, { shoots: [{ brief: "borrowed refs", references: refs }] });
    expect(((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(["shoots[0].references[0]"]);
  });
});

describe("how a batch's shoots end", () => {
  it("cancel, recovery of an ended instance and retention each end the shoot through one path: event, webhook, and the batch follows", {
    timeout: 60_000,
  }, async () => {
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const ep = (await (
      await call("/api/webhook-endpoints", { method: "POST", key: apiKey, body: JSON.stringify({ url: "https://hooks.studio.example/in" }) })
    ).json()) as { id: string };
    const res = await post(apiKey, {
      review: [],
      shoots: [
        { brief: "look A: camel coat", references: refs },
        { brief: "look B: silk scarf", references: refs },
      ],
    });
    const batch = (await res.json()) as { id: string; shoots: { id: string }[] };
    await placed(apiKey, batch.id);
    const [a, b] = batch.shoots.map((s) => s.id);

    // A: cancelled by its owner (terminated, no checkpoint pending).
    expect((await call(`/api/shoots/${a}/cancel`, { method: "POST", key: apiKey })).status).toBe(202);
    expect((await status(apiKey, batch.id)).status).toBe("open");

    // B: its instance ends behind its row's back (terminated directly); recovery brings the row in line.
    await (await env.SHOOT.get(b)).terminate();
    const old = new Date(Date.now() - 3600_000).toISOString();
    await env.DB.batch([
      env.DB.prepare("UPDATE shoots SET updated_at = ?1 WHERE id = ?2").bind(old, b),
      env.DB.prepare("UPDATE events SET created_at = ?1 WHERE shoot_id = ?2").bind(old, b),
    ]);
    await env.DB.prepare("DELETE FROM jobs WHERE shoot_id = ?1").bind(b).run();
    const report = await wakeStrandedShoots(env);
    expect(report.finished).toContainEqual({ shoot: b, status: "cancelled" });

    const done = await status(apiKey, batch.id);
    expect(done.status).toBe("completed");
    expect(done.shoots.map((s) => s.state)).toEqual(["cancelled", "cancelled"]);
    const ended = async (id: string) =>
      (await env.DB.prepare("SELECT data FROM events WHERE shoot_id = ?1 AND type = 'shoot.cancelled'").bind(id).all<{ data: string }>()).results.map((r) =>
        JSON.parse(r.data),
      );
    expect(await ended(a)).toEqual([expect.objectContaining({ by: expect.stringContaining("key") })]);
    expect(await ended(b)).toEqual([expect.objectContaining({ by: "recovery", instance: "terminated" })]);
    const deliveries = async () =>
      ((await (await call(`/api/webhook-endpoints/${ep.id}/deliveries`, { key: apiKey })).json()) as { deliveries: { type: string }[] }).deliveries.map(
        (x) => x.type,
      );
    expect((await deliveries()).filter((t) => t === "batch.completed")).toHaveLength(1);

    // Retention deletes both shoots; the batch keeps each row's final state and stays completed.
    const past = new Date(Date.now() - 30 * 86400_000).toISOString();
    await env.DB.prepare("UPDATE shoots SET completed_at = ?1 WHERE id IN (?2, ?3)").bind(past, a, b).run();
    const swept = await runRetention({ ...env, RETENTION_ENDED: "7 days" });
    expect(swept.shoots.map((s) => s.id).sort()).toEqual([a, b].sort());
    const after = await status(apiKey, batch.id);
    expect(after.status).toBe("completed");
    expect(after.counts.byState).toEqual({ cancelled: 2 });
    expect((await deliveries()).filter((t) => t === "batch.completed")).toHaveLength(1);
  });
});

describe("the dead-letter queue", () => {
  it("marks a row the queue gave up on as dead with its reason, and the retry places it", async () => {
    const { apiKey, accountId } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const ep = (await (
      await call("/api/webhook-endpoints", { method: "POST", key: apiKey, body: JSON.stringify({ url: "https://hooks.studio.example/in" }) })
    ).json()) as { id: string };
    // A row recorded at intake whose message the submission queue gave up on.
    const shootId = await rowShootId(accountId, "stuck-row", 1);
    const batchId = `ba_dlq_${accountId.slice(-8)}`;
    await insertBatch(db(env.DB), { id: batchId, accountId, idempotencyKey: "dlq", review: null, presets: null }, [
      {
        index: 0,
        idempotencyKey: "stuck-row",
        shootId,
        brief: "bomber jacket",
        params: { references: refs, presets: {}, aspectRatio: null, review: [], checkpointTimeout: "7 days", timeoutPolicy: "expire", stitch: DEFAULT_STITCH },
      },
    ]);
    const batch = createMessageBatch("atelier-submissions-dlq", [{ id: "m1", timestamp: new Date(), attempts: 6, body: { batchId, index: 0 } }]);
    const ctx = createExecutionContext();
    // The consumer takes no execution context; `ctx` is only where getQueueResult reads the outcome.
    await worker.queue(batch, env);
    await waitOnExecutionContext(ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m1"]);

    const dead = await status(apiKey, batchId);
    expect(dead.counts.byState).toEqual({ dead: 1 });
    expect(dead.failures).toEqual([
      { index: 0, shootId, state: "dead", reason: expect.stringContaining("not placed after 6 tries"), retry: `/api/batches/${batchId}/retry` },
    ]);
    expect(dead.status).toBe("completed");
    // Announced like any shoot that fails, and its batch's completion too.
    const types = (
      (await (await call(`/api/webhook-endpoints/${ep.id}/deliveries`, { key: apiKey })).json()) as { deliveries: { type: string }[] }
    ).deliveries.map((x) => x.type);
    expect(types.sort()).toEqual(["batch.completed", "shoot.failed"]);

    const retry = await call(`/api/batches/${batchId}/retry`, { method: "POST", key: apiKey });
    expect(retry.status).toBe(202);
    expect(((await retry.json()) as { retried: { shootId: string }[] }).retried.map((r) => r.shootId)).toEqual([shootId]);
    const done = await placed(apiKey, batchId);
    expect(done.shoots[0]).toMatchObject({ id: shootId });
    // Placed again: alive, or already through its auto-approved checkpoints.
    expect([...LIVE_SHOOT_STATUSES, "completed"]).toContain(done.shoots[0].state);
    expect(done.status).not.toBe("completed");
  });
});
