/**
 * Issue 21, admission: batch rows are placed as room frees, so a big batch does not create
 * instances only to sleep in provider slot waits. With room for two running shoots, a batch of six
 * places two; the others are parked (shown in the batch status, not a try, no message kept on the
 * queue); when a shoot ends the next row is sent at once and placed, two shoots ending together send
 * two rows, and the sweep sends parked rows only as far as the account has room.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runningWindow } from "../../src/batches/admission.ts";
import { handleSubmissionBatch, resendStaleRows, type SubmissionMessage } from "../../src/batches/submissions.ts";
import { db } from "../../src/db/client.ts";
import { updateShoot } from "../../src/db/shoots.ts";
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
    // The sweep takes rows unchanged for 0 s: every parked row is its to send, room permitting.
    const roomOfTwo = { ...env, BATCH_RUNNING_MAX: "2", SUBMISSION_RESEND_AFTER: "0 seconds", SUBMISSIONS: q.queue };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/api/batches`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ review: [], shoots: Array.from({ length: 6 }, (_, i) => ({ brief: `look ${i + 1}`, references: refs })) }),
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
    const queued = async () => (await status()).map((r) => r.state === "queued");
    const sweep = async () => {
      await new Promise((r) => setTimeout(r, 5)); // rows changed in this millisecond are not yet the sweep's
      await resendStaleRows(roomOfTwo);
      return q.sent.splice(0).map((s) => s.body.index);
    };

    const intake = q.sent.splice(0).map((s) => s.body);
    expect(intake).toHaveLength(6);
    await deliver(intake);
    const rows = await status();
    expect(rows.map((r) => r.state === "queued")).toEqual([false, false, true, true, true, true]);
    for (const r of rows.slice(2)) {
      expect(r.waiting).toBe("waiting for a running shoot to finish (2 of 2 running)");
      expect(r.error).toBeNull();
    }
    // Parked: nothing was put back on the queue for them, and with no room the sweep sends none.
    expect(q.sent).toEqual([]);
    expect(await sweep()).toEqual([]);

    // A shoot ends: the next row (in row order) is sent at once, and placed. Ending it again sends nothing.
    await endShoot(roomOfTwo, { shootId: rows[0].id, accountId }, "failed", { error: "a person stopped it" });
    await endShoot(roomOfTwo, { shootId: rows[0].id, accountId }, "failed", { error: "a person stopped it" });
    const next = q.sent.splice(0);
    expect(next.map((s) => [s.body.index, s.delaySeconds])).toEqual([[2, undefined]]);
    await deliver(next.map((s) => s.body));
    expect(await queued()).toEqual([false, false, false, true, true, true]);
    expect((await status())[3].waiting).toBe("waiting for a running shoot to finish (2 of 2 running)");

    // Two shoots end together: each takes its own row.
    await Promise.all([1, 2].map((i) => endShoot(roomOfTwo, { shootId: rows[i].id, accountId }, "completed")));
    const two = q.sent.splice(0).map((s) => s.body);
    expect(two.map((b) => b.index).sort()).toEqual([3, 4]);
    await deliver(two);
    expect(await queued()).toEqual([false, false, false, false, false, true]);

    // Room frees without an end (a shoot waits for a person): the sweep sends one row, the room there is.
    await updateShoot(db(env.DB), rows[3].id, { status: "awaiting_review" });
    expect(await sweep()).toEqual([5]);
    await deliver([{ batchId, index: 5 }]);
    expect(await queued()).toEqual([false, false, false, false, false, false]);
    void parked;
  });
});
