/** Outbound webhook endpoints, deliveries and their attempts. Every read is scoped to an account. */
import { and, desc, eq, inArray, isNull, lt } from "drizzle-orm";
import type { Db } from "./client.ts";
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from "./schema.ts";
import type { DeliveryStatus } from "../domain/contract.ts";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export function getEndpoint(d: Db, accountId: string, id: string) {
  return d
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, accountId)))
    .get();
}

export function getEndpointById(d: Db, id: string) {
  return d.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).get();
}

export function endpointsOf(d: Db, accountId: string) {
  return d.select().from(webhookEndpoints).where(eq(webhookEndpoints.accountId, accountId)).orderBy(desc(webhookEndpoints.createdAt)).all();
}

export function activeEndpoints(d: Db, accountId: string) {
  return d
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.accountId, accountId), isNull(webhookEndpoints.disabledAt)))
    .all();
}

export function getDelivery(d: Db, id: string) {
  return d.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get();
}

export function deliveriesOf(d: Db, endpointId: string, limit: number) {
  return d
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.endpointId, endpointId))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit)
    .all();
}

/** In chunks: D1 binds at most 100 parameters per statement. */
export async function attemptsOf(d: Db, deliveryIds: string[]) {
  const out: (typeof webhookAttempts.$inferSelect)[] = [];
  for (let i = 0; i < deliveryIds.length; i += 90) {
    out.push(
      ...(await d
        .select()
        .from(webhookAttempts)
        .where(inArray(webhookAttempts.deliveryId, deliveryIds.slice(i, i + 90)))
        .orderBy(webhookAttempts.deliveryId, webhookAttempts.attempt)
        .all()),
    );
  }
  return out;
}

/** Pending deliveries whose next attempt is long overdue: their queue message was lost. */
export function overdueDeliveries(d: Db, before: string, limit = 200) {
  return d
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, "pending"), lt(webhookDeliveries.nextAttemptAt, before)))
    .limit(limit)
    .all();
}

export async function recordAttempt(
  d: Db,
  delivery: DeliveryRow,
  a: { attempt: number; status: number | null; error: string | null; durationMs: number },
  next: { status: DeliveryStatus; nextAttemptAt: string | null },
): Promise<boolean> {
  const now = new Date().toISOString();
  const [, res] = await d.batch([
    d.insert(webhookAttempts).values({ deliveryId: delivery.id, ...a }),
    // Guarded by the attempt count, so a message delivered twice records its attempt once.
    d
      .update(webhookDeliveries)
      .set({
        status: next.status,
        attempts: a.attempt,
        lastStatus: a.status,
        lastError: a.error,
        nextAttemptAt: next.nextAttemptAt,
        deliveredAt: next.status === "succeeded" ? now : null,
        updatedAt: now,
      })
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.attempts, a.attempt - 1))),
  ]);
  return ((res as D1Result).meta?.changes ?? 0) > 0;
}
