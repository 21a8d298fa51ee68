/**
 * Issue 21, admission: batch rows are placed as room frees, so a big batch does not create
 * instances only to sleep in provider slot waits. With room for two running shoots, a batch of five
 * places two; the others wait (shown in the batch status, not a try) and go back on the queue; when a
 * shoot ends, the next row is sent at once and placed.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runningWindow } from "../../src/batches/admission.ts";
import { handleSubmissionBatch, type SubmissionMessage } from "../../src/batches/submissions.ts";
import worker from "../../src/index.ts";
import { endShoot } from "../../src/lifecycle.ts";
import { perAccountCapsTotal } from "../../src/limits/pools.ts";
import { BASE, call, newAccount, parkedWorkflows, uploadRefs } from "./helpers.ts";

interface Sent {
  body: SubmissionMessage;
  delaySeconds?: number;
}
/** A submission queue that keeps what is sent to it, with each send's delay. */
function keepingQueue() {
  const sent: Sent[] = [];
  const queue = {
    send: async (body: SubmissionMessage, o?: { delaySeconds?: number }) => void sent.push({ body, delaySeconds: o?.delaySeconds }),
    sendBatch: async (msgs: { body: SubmissionMessage }[], o?: { delaySeconds?: number }) =>
      void sent.push(...msgs.map((m) => ({ body: m.body, delaySeconds: o?.delaySeconds }))),
  };
  return { queue: queue as unknown as Queue, sent };
}

interface BatchStatus {
  shoots: { index: number; id: string; state: string; error: string | null; waiting: string | null }[];
}

describe("room to run", () => {
  it("is twice the per-account caps unless set, and off at 0", () => {
    expect(perAccountCapsTotal(env)).toBe(16); // wrangler.jsonc: FAL images 8, FAL video 4, Kling 4
    expect(runningWindow("", perAccountCapsTotal(env))).toBe(32);
    expect(runningWindow("5", 16)).toBe(5);
    expect(runningWindow("0", 16)).toBe(0);
  });

  it("places a batch's rows as its running shoots end, never more than the room at once", { timeout: 60_000 }, async () => {
    await using parked = await parkedWorkflows();
    const { apiKey, accountId } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const q = keepingQueue();
    const roomOfTwo = { ...env, BATCH_RUNNING_MAX: "2", SUBMISSIONS: q.queue };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/api/batches`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ review: [], shoots: Array.from({ length: 5 }, (_, i) => ({ brief: `look ${i + 1}`, references: refs })) }),
      }),
      roomOfTwo,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(202);
    const batchId = ((await res.json()) as { id: string }).id;
    const deliver = async (bodies: SubmissionMessage[]) => {
      const delivery = createMessageBatch<SubmissionMessage>(
        "atelier-submissions",
        bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })),
      );
      const qctx = createExecutionContext();
      await handleSubmissionBatch(delivery, roomOfTwo);
      const result = await getQueueResult(delivery, qctx);
      expect(result.retryMessages).toEqual([]); // waiting is not a failed try
    };
    const status = async () => ((await (await call(`/api/batches/${batchId}`, { key: apiKey })).json()) as BatchStatus).shoots;

    const intake = q.sent.splice(0).map((s) => s.body);
    expect(intake).toHaveLength(5);
    await deliver(intake);
    let rows = await status();
    expect(rows.map((r) => r.state === "queued")).toEqual([false, false, true, true, true]);
    for (const r of rows.slice(2)) {
      expect(r.waiting).toBe("waiting for a running shoot to finish (2 of 2 running)");
      expect(r.error).toBeNull();
    }
    // The waiting rows went back on the queue, later.
    const again = q.sent.splice(0);
    expect(again.map((s) => s.body.index).sort()).toEqual([2, 3, 4]);
    expect(again.every((s) => (s.delaySeconds ?? 0) >= 15)).toBe(true);

    // Coming back while two still run, they wait again.
    await deliver(again.map((s) => s.body));
    expect((await status()).filter((r) => r.state === "queued")).toHaveLength(3);
    q.sent.splice(0);

    // A shoot ends: the next row (in row order) is sent at once, and placed.
    await endShoot(roomOfTwo, { shootId: rows[0].id, accountId }, "failed", { error: "a person stopped it" });
    const next = q.sent.splice(0);
    expect(next.map((s) => [s.body.index, s.delaySeconds])).toEqual([[2, undefined]]);
    await deliver(next.map((s) => s.body));
    rows = await status();
    expect(rows.map((r) => r.state === "queued")).toEqual([false, false, false, true, true]);
    expect(rows[3].waiting).toBe("waiting for a running shoot to finish (2 of 2 running)");
    void parked;
  });
});
