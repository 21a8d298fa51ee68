/**
 * Emitting an event: one delivery row per subscribed endpoint, written with an id derived from the
 * event (so a retried workflow step or a repeated status read writes it once), then queued.
 */
import { eq } from "drizzle-orm";
import { db, schema, type Db } from "../db/client.ts";
import { batchIdsOfShoot, completeBatchIfDone, recordOutcome, rowsWithShoots } from "../db/batches.ts";
import { activeEndpoints } from "../db/webhooks.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { rowState } from "../db/batches.ts";
import type { DeliveryMessage, WebhookEvent, WebhookPayload } from "./events.ts";
import type { FinalShootStatus } from "../domain/contract.ts";
import type { Finding } from "../domain/findings.ts";

export async function emit(env: Env, d: Db, accountId: string, type: WebhookEvent, key: string, data: Record<string, unknown>): Promise<number> {
  const endpoints = (await activeEndpoints(d, accountId)).filter((e) => (e.events as string[]).includes(type));
  if (!endpoints.length) return 0;
  const eventId = `evt_${(await sha256Hex(`${accountId}\n${type}\n${key}`)).slice(0, 24)}`;
  const body: WebhookPayload = { type, timestamp: new Date().toISOString(), data };
  const payload = JSON.stringify(body);
  const now = new Date().toISOString();
  const rows = await Promise.all(
    endpoints.map(async (e) => ({
      id: `dl_${(await sha256Hex(`${e.id}\n${eventId}`)).slice(0, 24)}`,
      endpointId: e.id,
      accountId,
      eventId,
      type,
      payload,
      nextAttemptAt: now,
    })),
  );
  await d.batch(rows.map((r) => d.insert(schema.webhookDeliveries).values(r).onConflictDoNothing()) as [never, ...never[]]);
  try {
    await env.WEBHOOK_DELIVERIES.sendBatch(rows.map((r) => ({ body: { deliveryId: r.id } satisfies DeliveryMessage, contentType: "json" as const })));
  } catch (err) {
    // The rows are written; the watchdog sends overdue deliveries again.
    console.warn(JSON.stringify({ msg: "webhook enqueue failed", type, error: String(err) }));
  }
  return rows.length;
}

/** Called by endShoot (src/lifecycle.ts) only: the shoot's own event, its batch row's outcome, then its batch's event if that was the last shoot. */
export async function notifyShootFinished(
  env: Env,
  shoot: { shootId: string; accountId: string },
  outcome: { status: FinalShootStatus; error?: string; stage?: string },
): Promise<void> {
  const d = db(env.DB);
  if (outcome.status === "completed" || outcome.status === "failed") {
    await emit(env, d, shoot.accountId, `shoot.${outcome.status}`, shoot.shootId, {
      shootId: shoot.shootId,
      status: outcome.status,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
  }
  await recordOutcome(d, shoot.shootId, outcome.status);
  await closeBatchesOf(env, d, shoot.shootId);
}

/** Completes (and announces) each batch of the shoot whose every row has now ended. */
export async function closeBatchesOf(env: Env, d: Db, shootId: string): Promise<void> {
  for (const { batchId } of await batchIdsOfShoot(d, shootId)) {
    if (await completeBatchIfDone(d, batchId)) await emitBatchCompleted(env, d, batchId);
  }
}

export async function notifyCheckpointPending(
  env: Env,
  shoot: { shootId: string; accountId: string },
  checkpoint: { stage: string; attempt: number; expiresAt: string; findings: Finding[] },
) {
  await emit(env, db(env.DB), shoot.accountId, "checkpoint.pending", `${shoot.shootId}:${checkpoint.stage}:${checkpoint.attempt}`, {
    shootId: shoot.shootId,
    ...checkpoint,
  });
}

export async function emitBatchCompleted(env: Env, d: Db, batchId: string): Promise<void> {
  const rows = await rowsWithShoots(d, batchId);
  const batch = rows.length ? await d.select().from(schema.batches).where(eq(schema.batches.id, batchId)).get() : null;
  if (!batch) return;
  const counts: Record<string, number> = {};
  for (const r of rows) {
    const s = rowState(r);
    counts[s] = (counts[s] ?? 0) + 1;
  }
  // Keyed by the completion time, so a batch reopened by a retry announces its next completion too.
  await emit(env, d, batch.accountId, "batch.completed", `${batchId}:${batch.completedAt}`, { batchId, total: batch.total, counts });
}
