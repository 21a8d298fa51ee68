/**
 * A batch whose consumer dies mid-batch: the Worker runtime (wrangler dev and workerd, which runs
 * the submission consumer) is SIGKILLed while rows are being placed. After the restart every row
 * becomes exactly one shoot (local queue messages die with the runtime; the rows recorded in D1 are
 * sent again by the watchdog, and placing is idempotent), and every shoot runs to its first checkpoint.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, startTestStack, until } from "./helpers.ts";

const ROWS = 120;

interface Batch {
  id: string;
  total: number;
  counts: { byState: Record<string, number> };
  shoots: { index: number; id: string; state: string; stage: string | null }[];
}

describe("a batch survives SIGKILL of the runtime while it is being placed", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  beforeAll(async () => {
    env = await startTestStack("batch-durability", 19200, { SUBMISSION_RESEND_AFTER: "5 seconds", STRANDED_AFTER: "15 seconds" });
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it("loses no row and makes no duplicate", async () => {
    const api = client(env.stack);
    const form = new FormData();
    const png = await sharp({ create: { width: 240, height: 320, channels: 3, background: { r: 120, g: 90, b: 60 } } })
      .png()
      .toBuffer();
    form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${env.stack.identity.apiKey}` }, body: form });
    const refs = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);

    // Every shoot stops at its plan checkpoint: placement is what is under test, not providers.
    const body = { review: ["plan"], shoots: Array.from({ length: ROWS }, (_, i) => ({ brief: `look ${i + 1}: wool coat, grey morning`, references: refs })) };
    const created = await api<{ id: string; shoots: { id: string }[] }>("POST", "/api/batches", body);
    expect(created.status).toBe(202);
    const ids = created.body.shoots.map((s) => s.id);
    const batchId = created.body.id;

    // Kill as soon as the consumer has placed some rows but not all (it places up to 100 per delivery,
    // so with 120 rows there is a moment in between); after 30 s, kill whatever the state.
    const started = Date.now();
    let placedAtKill = 0;
    for (;;) {
      const s = (await api<Batch>("GET", `/api/batches/${batchId}`)).body;
      placedAtKill = ROWS - (s.counts.byState.queued ?? 0);
      if ((placedAtKill > 0 && placedAtKill < ROWS) || Date.now() - started > 30_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await env.stack.kill("worker", "SIGKILL");
    console.log(`SIGKILL with ${placedAtKill}/${ROWS} rows placed`);
    expect(placedAtKill).toBeLessThan(ROWS);
    // On a loaded machine wrangler can take longer than start()'s 120 s to come back: keep waiting.
    await env.stack.start(["worker"]).catch(() => env.stack.waitHealthy("worker", 600_000));

    // The same batch submitted again after the restart is the same batch.
    const again = await api<Batch>("POST", "/api/batches", body);
    expect(again.status).toBe(200);
    expect(again.body.shoots.map((s) => s.id)).toEqual(ids);

    const placed = await until(
      "every row placed",
      async () => {
        const s = (await api<Batch>("GET", `/api/batches/${batchId}`)).body;
        return (s.counts.byState.queued ?? 0) === 0 ? s : null;
      },
      180_000,
      1000,
    );
    expect(placed.shoots.map((s) => s.id)).toEqual(ids);
    expect(placed.counts.byState.dead ?? 0).toBe(0);

    // Exactly one shoot per row in the account's list.
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { shoots: { id: string }[]; nextCursor: string | null } } = await api(
        "GET",
        `/api/shoots?limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      );
      listed.push(...page.body.shoots.map((s) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(listed).toHaveLength(ROWS);
    expect(new Set(listed)).toEqual(new Set(ids));

    // And each is a live workflow: none stays `running` (the watchdog wakes what the restart left
    // mid-step), and every one reaches its plan checkpoint; none fails.
    const settled = await until(
      "every shoot at its plan checkpoint",
      async () => {
        const s = (await api<Batch & { failures: { shootId: string; reason: string | null }[] }>("GET", `/api/batches/${batchId}`)).body;
        return (s.counts.byState.running ?? 0) === 0 ? s : null;
      },
      300_000,
      2000,
    );
    expect(settled.failures).toEqual([]);
    expect(settled.counts.byState).toEqual({ awaiting_review: ROWS });
    expect(settled.shoots.every((s) => s.stage === "plan")).toBe(true);
    for (const s of settled.shoots.slice(0, 2)) {
      const shoot = (await api<{ assets: { kind: string }[]; checkpoints: { stage: string }[] }>("GET", `/api/shoots/${s.id}`)).body;
      expect(shoot.assets.filter((a) => a.kind === "plan")).toHaveLength(1);
      expect(shoot.checkpoints.map((c) => c.stage)).toEqual(["plan"]);
    }
  });
});
