/**
 * Issue 21, admission control: Workflows refuses instance creations beyond its rate (Workflows
 * "Limits": 100 a second per workflow). Locally the binding never refuses, so the submission
 * consumer is given an env whose SHOOT wraps the real binding and refuses the first calls the way
 * the platform does (a whole call thrown, or per-instance errors), then lets calls through. Rows it
 * refused go back on the real queue and the real consumer places them; the test waits for that
 * through the batch status, as a studio would.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, introspectWorkflow, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BATCH_CREATIONS_PER_SECOND,
  CreationPacer,
  capacityDelaySeconds,
  isCapacityWait,
  isRateRefusal,
  SUBMISSION_CONSUMERS,
} from "../../src/batches/admission.ts";
import { handleSubmissionBatch, rowShootId, type SubmissionMessage } from "../../src/batches/submissions.ts";
import { insertBatch } from "../../src/db/batches.ts";
import { db } from "../../src/db/client.ts";
import { LIVE_SHOOT_STATUSES } from "../../src/domain/contract.ts";
import { DEFAULT_STITCH } from "../../src/domain/shoot.ts";
import worker from "../../src/index.ts";
import { BASE, call, newAccount, uploadRefs } from "./helpers.ts";

interface BatchStatus {
  id: string;
  status: string;
  counts: { byState: Record<string, number> };
  shoots: { index: number; id: string; state: string; error: string | null; waiting: string | null }[];
  failures: unknown[];
}
const status = async (key: string, id: string) => (await (await call(`/api/batches/${id}`, { key })).json()) as BatchStatus;
async function placed(key: string, id: string, timeoutMs: number): Promise<BatchStatus> {
  const start = Date.now();
  for (;;) {
    const s = await status(key, id);
    if (s.shoots.every((r) => r.state !== "queued")) return s;
    if (Date.now() - start > timeoutMs) throw new Error(`rows still queued: ${JSON.stringify(s.counts)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What the platform's refusal looks like as far as it is documented: a 429, or the rate named in the message. */
const rateError = () => Object.assign(new Error("workflows.api.error.instance.rate_limited: too many instance creations, retry later"), { code: 429 });

/**
 * The real SHOOT binding, refusing for the rate: call 1 throws for the whole call, call 2 creates the
 * even rows and answers the odd ones with per-instance rate errors, call 3 throws again; later calls
 * go through untouched.
 */
function refusingShoot(real: Workflow) {
  const calls: { size: number; refused: number }[] = [];
  const startedAt: number[] = [];
  const binding = {
    get: (id: string) => real.get(id),
    create: (o?: WorkflowInstanceCreateOptions) => real.create(o),
    async createBatch(options: { instances: WorkflowInstanceCreateOptions[] }) {
      const n = calls.length + 1;
      const size = options.instances.length;
      startedAt.push(Date.now());
      if (n === 1 || n === 3) {
        calls.push({ size, refused: size });
        throw rateError();
      }
      if (n === 2) {
        const pass = options.instances.filter((_, i) => i % 2 === 0);
        const res = await real.createBatch({ instances: pass });
        const errors = options.instances.flatMap((inst, i) =>
          i % 2 === 1 ? [{ index: i, id: inst.id, code: 429, message: "workflows.api.error.instance.rate_limited" }] : [],
        );
        calls.push({ size, refused: errors.length });
        return { created: res.created, errors: [...res.errors.map((e) => ({ ...e, index: e.index * 2 })), ...errors] };
      }
      calls.push({ size, refused: 0 });
      return real.createBatch(options);
    },
  };
  return { binding: binding as unknown as Workflow, calls, startedAt };
}

/** A queue that keeps what is sent to it (the batch's first messages, which this test delivers itself). */
function capturingQueue() {
  const sent: SubmissionMessage[] = [];
  const queue = {
    send: async (body: SubmissionMessage) => void sent.push(body),
    sendBatch: async (msgs: { body: SubmissionMessage }[]) => void sent.push(...msgs.map((m) => m.body)),
  };
  return { queue: queue as unknown as Queue, sent };
}

let parked: Awaited<ReturnType<typeof introspectWorkflow>>;
beforeAll(async () => {
  // 300 instances run at once on a small machine: each stops at its plan checkpoint (review: plan)
  // with its planning step mocked (no R2 write, no asset), so creating them is what costs.
  parked = await introspectWorkflow(env.SHOOT);
  await parked.modifyAll(async (m) => {
    await m.mockStepResult({ name: "plan#1" }, { plan: {}, assetId: "as_parked" });
  });
});
// Disposing of 300 instances' mocks can outlast the default 10 s hook timeout on a loaded machine.
afterAll(async () => {
  await parked?.dispose();
}, 60_000);

describe("the creation-rate predicate", () => {
  it("is a refusal for 429 or words of rate, not for other limits or errors", () => {
    expect(isRateRefusal(rateError())).toBe(true);
    expect(isRateRefusal({ code: 429, message: "whatever" })).toBe(true);
    expect(isRateRefusal({ code: 10001, message: "Too Many Requests" })).toBe(true);
    expect(isRateRefusal(new Error("instance creation rate limit exceeded"))).toBe(true);
    expect(isRateRefusal({ code: 10405, message: "workflows.api.error.instance.already_exists" })).toBe(false);
    expect(isRateRefusal(new Error("event payload size limit exceeded"))).toBe(false);
    expect(isRateRefusal(new Error("internal error"))).toBe(false);
    expect(isRateRefusal(null)).toBe(false);
  });

  it("waits the time the limit needs for the refused rows, more after each wait in a row, at most a minute", () => {
    expect(capacityDelaySeconds(100, 0, () => 0)).toBe(1);
    expect(capacityDelaySeconds(100, 0, () => 0.99)).toBe(2);
    expect(capacityDelaySeconds(250, 0, () => 0)).toBe(3);
    expect(capacityDelaySeconds(100, 3, () => 0)).toBe(8);
    expect(capacityDelaySeconds(100, 30, () => 0.99)).toBe(32);
    expect(capacityDelaySeconds(5000, 30, () => 0.99)).toBe(60);
  });
});

describe("pacing", () => {
  it("holds a consumer until what it created fits its share of the limit", async () => {
    expect(BATCH_CREATIONS_PER_SECOND / SUBMISSION_CONSUMERS).toBe(40);
    const slept: number[] = [];
    const pacer = new CreationPacer(40, async (ms) => void slept.push(ms));
    await pacer.ready();
    expect(slept).toEqual([]);
    pacer.book(Date.now(), 100);
    await pacer.ready();
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(2400);
    expect(slept[0]).toBeLessThanOrEqual(2500);
    // A refused call books nothing, and never shortens what was booked.
    pacer.book(Date.now(), 0);
    await pacer.ready();
    expect(slept).toHaveLength(2);
  });
});

describe("admission control for batch submissions", () => {
  it("300 batch rows meet a creation rate refusal: none is marked dead, every row becomes exactly one shoot", { timeout: 90_000 }, async () => {
    const { apiKey, accountId } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    // Intake through the API; its messages are kept so this test delivers them with the refusing binding.
    const intake = capturingQueue();
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/api/batches`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ review: ["plan"], shoots: Array.from({ length: 300 }, (_, i) => ({ brief: `catalogue look ${i + 1}`, references: refs })) }),
      }),
      { ...env, SUBMISSIONS: intake.queue },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { id: string; shoots: { id: string }[] };
    expect(intake.sent).toHaveLength(300);

    // Three deliveries of 100, as the queue makes them, to a consumer whose workflow binding refuses.
    const shoot = refusingShoot(env.SHOOT);
    const refusing = { ...env, SHOOT: shoot.binding };
    for (let d = 0; d < 3; d++) {
      const messages = intake.sent.slice(d * 100, d * 100 + 100).map((body, i) => ({ id: `m${d}-${i}`, timestamp: new Date(), attempts: 1, body }));
      const delivery = createMessageBatch<SubmissionMessage>("atelier-submissions", messages);
      const qctx = createExecutionContext();
      await handleSubmissionBatch(delivery, refusing);
      await waitOnExecutionContext(qctx);
      const result = await getQueueResult(delivery, qctx);
      // Every message is acked (placed, or sent again as a new message): none is retried toward the dead-letter queue.
      expect(result.retryMessages).toEqual([]);
      expect(result.explicitAcks).toHaveLength(100);
      if (d === 0) {
        // The studio sees why the first hundred have not started yet.
        const s = await status(apiKey, batch.id);
        const first = s.shoots.filter((r) => r.index < 100);
        expect(first.every((r) => r.state === "queued" && r.waiting !== null && isCapacityWait(r.waiting) && r.error === null)).toBe(true);
      }
    }
    expect(shoot.calls).toEqual([
      { size: 100, refused: 100 },
      { size: 100, refused: 50 },
      { size: 100, refused: 100 },
    ]);
    // Paced: the 50 instances call 2 created held the consumer 50 / 40 per second = 1.25 s before its next
    // call; a refused call (nothing created) held it for nothing.
    expect(shoot.startedAt[2] - shoot.startedAt[1]).toBeGreaterThanOrEqual(1250);

    // The 250 refused rows come back through the real queue and consumer.
    const done = await placed(apiKey, batch.id, 60_000);
    expect(done.counts.byState.dead ?? 0).toBe(0);
    expect(done.counts.byState.queued ?? 0).toBe(0);
    expect(done.failures).toEqual([]);
    expect(done.shoots).toHaveLength(300);
    for (const r of done.shoots) expect([...LIVE_SHOOT_STATUSES, "completed"]).toContain(r.state);
    expect(done.shoots.every((r) => r.waiting === null || !isCapacityWait(r.waiting))).toBe(true);
    const ids = done.shoots.map((r) => r.id);
    expect(new Set(ids).size).toBe(300);
    expect(ids).toEqual(batch.shoots.map((s) => s.id));

    // Each shoot's instance exists, and was created once: one shoot row and one `shoot.created` event per row.
    const instances = await Promise.all(ids.map((id) => env.SHOOT.get(id).then((i) => i.id)));
    expect(new Set(instances).size).toBe(300);
    const d1 = env.DB;
    const shootRows = await d1
      .prepare("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM shoots WHERE account_id = ?1")
      .bind(accountId)
      .first<{ n: number; ids: number }>();
    expect(shootRows).toEqual({ n: 300, ids: 300 });
    const created = await d1
      .prepare("SELECT shoot_id, count(*) AS n FROM events WHERE account_id = ?1 AND type = 'shoot.created' GROUP BY shoot_id")
      .bind(accountId)
      .all<{ shoot_id: string; n: number }>();
    expect(created.results).toHaveLength(300);
    expect(created.results.every((r) => r.n === 1)).toBe(true);
    // A wait for capacity is not a try.
    const tries = await d1.prepare("SELECT max(tries) AS t FROM batch_rows WHERE batch_id = ?1").bind(batch.id).first<{ t: number }>();
    expect(tries?.t).toBe(0);
  });

  it("the dead-letter consumer sends a row refused only for the rate back to the queue instead of killing it", { timeout: 30_000 }, async () => {
    const { apiKey, accountId } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const shootId = await rowShootId(accountId, "rate-row", 1);
    const batchId = `ba_rate_${accountId.slice(-8)}`;
    await insertBatch(db(env.DB), { id: batchId, accountId, idempotencyKey: "rate-dlq", review: ["plan"], presets: null }, [
      {
        index: 0,
        idempotencyKey: "rate-row",
        shootId,
        brief: "bomber jacket",
        params: {
          references: refs,
          presets: {},
          aspectRatio: null,
          review: ["plan"],
          checkpointTimeout: "7 days",
          timeoutPolicy: "expire",
          stitch: DEFAULT_STITCH,
        },
      },
    ]);
    // The consumer met only rate refusals for this row (its message then reached the dead-letter queue,
    // e.g. after a failed re-send fell back to the queue's retries).
    const always = { ...env, SHOOT: { ...refusingShoot(env.SHOOT).binding, createBatch: async () => Promise.reject(rateError()) } as unknown as Workflow };
    const kept = capturingQueue();
    const first = createMessageBatch<SubmissionMessage>("atelier-submissions", [{ id: "r1", timestamp: new Date(), attempts: 5, body: { batchId, index: 0 } }]);
    await handleSubmissionBatch(first, { ...always, SUBMISSIONS: kept.queue });
    expect(kept.sent).toEqual([{ batchId, index: 0, waits: 1 }]);

    const dead = createMessageBatch<SubmissionMessage>("atelier-submissions-dlq", [
      { id: "m1", timestamp: new Date(), attempts: 6, body: { batchId, index: 0 } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(dead, env);
    await waitOnExecutionContext(ctx);
    expect((await getQueueResult(dead, ctx)).explicitAcks).toEqual(["m1"]);
    const waiting = await status(apiKey, batchId);
    expect(waiting.counts.byState).toEqual({ queued: 1 });
    expect(waiting.failures).toEqual([]);
    expect(isCapacityWait(waiting.shoots[0].waiting)).toBe(true);

    // Sent back to the real queue: the real consumer places it; it never failed.
    const done = await placed(apiKey, batchId, 20_000);
    expect(done.shoots[0]).toMatchObject({ id: shootId, error: null });
    expect([...LIVE_SHOOT_STATUSES, "completed"]).toContain(done.shoots[0].state);
    const failed = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE shoot_id = ?1 AND type = 'shoot.failed'").bind(shootId).first<{ n: number }>();
    expect(failed?.n).toBe(0);
  });
});
