/**
 * The delivery queue's consumer: each message is one delivery. An attempt signs the stored body
 * afresh (Standard Webhooks: same `webhook-id`, new timestamp), with every active secret during a
 * rotation. 2xx is delivered; 410 disables the endpoint; anything else, or no answer within
 * WEBHOOK_TIMEOUT, is retried with exponential backoff and jitter until WEBHOOK_MAX_TRIES.
 */
import { webhookUrlProblem } from "./url-check.ts";
import { and, eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { db, schema } from "../db/client.ts";
import { getDelivery, getEndpointById, overdueDeliveries, recordAttempt } from "../db/webhooks.ts";
import { durationMs } from "../lib/duration.ts";
import type { DeliveryMessage } from "./events.ts";
import { activeSecrets, openSecret, type StoredSecret } from "./secrets.ts";

export interface DeliveryPolicy {
  maxTries: number;
  firstDelaySeconds: number;
  timeoutMs: number;
}

export function deliveryPolicy(env: Env): DeliveryPolicy {
  return {
    maxTries: Math.max(1, Number(env.WEBHOOK_MAX_TRIES) || 8),
    firstDelaySeconds: Math.max(1, Number(env.WEBHOOK_BACKOFF_SECONDS) || 30),
    timeoutMs: durationMs(env.WEBHOOK_TIMEOUT || "15 seconds", 15_000),
  };
}

/** Delay before try `next` (2, 3, …): first × 2^(next-2), ±20% jitter, at most 12 hours (the queue's limit). */
export function backoffSeconds(p: DeliveryPolicy, next: number): number {
  const base = p.firstDelaySeconds * 2 ** Math.max(0, next - 2);
  return Math.min(43_200, Math.max(1, Math.round(base * (0.8 + Math.random() * 0.4))));
}

export async function handleDeliveryBatch(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  const policy = deliveryPolicy(env);
  // In parallel: an endpoint that never answers must not hold up the others.
  await Promise.all(
    batch.messages.map(async (msg) => {
      try {
        const retryIn = await attempt(env, msg.body.deliveryId, policy);
        if (retryIn === null) msg.ack();
        else msg.retry({ delaySeconds: retryIn });
      } catch (err) {
        console.error(JSON.stringify({ msg: "webhook delivery error", delivery: msg.body.deliveryId, error: String(err) }));
        msg.retry({ delaySeconds: policy.firstDelaySeconds });
      }
    }),
  );
}

/** Makes one attempt; returns seconds until the next one, or null when the delivery is settled. */
export async function attempt(env: Env, deliveryId: string, policy: DeliveryPolicy): Promise<number | null> {
  const d = db(env.DB);
  const delivery = await getDelivery(d, deliveryId);
  if (delivery?.status !== "pending") return null;
  const endpoint = await getEndpointById(d, delivery.endpointId);
  const n = delivery.attempts + 1;
  if (!endpoint || endpoint.disabledAt) {
    await recordAttempt(
      d,
      delivery,
      { attempt: n, status: null, error: "endpoint disabled or deleted", durationMs: 0 },
      { status: "failed", nextAttemptAt: null },
    );
    return null;
  }

  // Checked again at send time: the allow flag may have been on when the endpoint was registered.
  const refused = webhookUrlProblem(endpoint.url, env.WEBHOOK_ALLOW_LOCAL === "true");
  if (refused) {
    await recordAttempt(
      d,
      delivery,
      { attempt: n, status: null, error: `not sent: the URL ${refused}`, durationMs: 0 },
      { status: "failed", nextAttemptAt: null },
    );
    return null;
  }
  const secrets = await Promise.all(activeSecrets(endpoint.secrets as StoredSecret[]).map((s) => openSecret(env, s.enc)));
  const sentAt = new Date();
  const signature = secrets.map((s) => new Webhook(s).sign(delivery.eventId, sentAt, delivery.payload)).join(" ");
  const started = Date.now();
  let status: number | null = null;
  let error: string | null = null;
  try {
    const res = await fetch(endpoint.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Atelier-Webhooks/1",
        "webhook-id": delivery.eventId,
        "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
        "webhook-signature": signature,
      },
      body: delivery.payload,
      redirect: "manual",
      signal: AbortSignal.timeout(policy.timeoutMs),
    });
    status = res.status;
    await res.body?.cancel();
    if (status < 200 || status >= 300) error = `HTTP ${status}`;
  } catch (err) {
    const e = err as Error;
    error =
      e?.name === "TimeoutError" || /timed? ?out|abort/i.test(e?.message ?? "")
        ? `no answer within ${policy.timeoutMs} ms`
        : `request failed: ${e?.message ?? String(err)}`;
  }
  const durationMs = Date.now() - started;

  if (status !== null && status >= 200 && status < 300) {
    await recordAttempt(d, delivery, { attempt: n, status, error: null, durationMs }, { status: "succeeded", nextAttemptAt: null });
    return null;
  }
  if (status === 410) {
    // The receiver says it is gone for good: stop sending to it.
    await d
      .update(schema.webhookEndpoints)
      .set({ disabledAt: new Date().toISOString(), disabledReason: "the endpoint answered 410 Gone" })
      .where(and(eq(schema.webhookEndpoints.id, endpoint.id)));
    await recordAttempt(d, delivery, { attempt: n, status, error, durationMs }, { status: "failed", nextAttemptAt: null });
    return null;
  }
  if (n >= policy.maxTries) {
    await recordAttempt(
      d,
      delivery,
      { attempt: n, status, error: `${error}; gave up after ${n} tries`, durationMs },
      { status: "failed", nextAttemptAt: null },
    );
    return null;
  }
  const delay = backoffSeconds(policy, n + 1);
  await recordAttempt(
    d,
    delivery,
    { attempt: n, status, error, durationMs },
    { status: "pending", nextAttemptAt: new Date(Date.now() + delay * 1000).toISOString() },
  );
  return delay;
}

/** Pending deliveries a minute past their next attempt lost their message (a restart): send them again. */
export async function resendOverdueDeliveries(env: Env): Promise<number> {
  const overdue = await overdueDeliveries(db(env.DB), new Date(Date.now() - 60_000).toISOString());
  for (let i = 0; i < overdue.length; i += 100) {
    await env.WEBHOOK_DELIVERIES.sendBatch(
      overdue.slice(i, i + 100).map((r) => ({ body: { deliveryId: r.id } satisfies DeliveryMessage, contentType: "json" as const })),
    );
  }
  return overdue.length;
}
