/**
 * Workflow side of the provider caps: hold a slot in the request's pool around a provider job.
 * Each try is a step (`slot hero#1#2`); between tries the workflow waits for its slot event or a
 * timeout, and logs where it stands ("queued at Kling, 12 ahead") for the shoot and batch views.
 */
import { db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { durationMs } from "../lib/duration.ts";
import type { ProviderRequest } from "../providers/jobs.ts";
import { DB_STEP, isTimeout, type Duration, type RunContext } from "./context.ts";
import { AHEAD_COUNT_LIMIT, poolFor, slotEventType } from "../limits/pools.ts";
import type { AcquireResult } from "../limits/provider-pool.ts";

const stub = (env: Env, pool: string) => env.PROVIDER_POOL.get(env.PROVIDER_POOL.idFromName(pool));

export async function acquireSlot(ctx: RunContext, req: ProviderRequest, leaseId: string, name: string): Promise<void> {
  const { env, step, shootId, accountId } = ctx;
  const pool = poolFor(env, req, accountId);
  if (!pool) return;
  const ttlMs = durationMs(env.PROVIDER_LEASE_TTL || "30 minutes", 30 * 60_000);
  let lastAhead = -1;
  for (let n = 1; ; n++) {
    const res: AcquireResult = await step.do(`slot ${name}#${n}`, DB_STEP, async () => {
      const r = await stub(env, pool.key).acquire({ leaseId, accountId, instanceId: shootId, caps: pool.caps, ttlMs });
      if (!r.granted && r.ahead !== lastAhead) {
        await logEvent(db(env.DB), {
          shootId,
          accountId,
          type: "job.queued",
          data: {
            job: leaseId,
            pool: pool.name,
            label: pool.label,
            ahead: r.ahead,
            waiting: `queued at ${pool.label}, ${r.ahead >= AHEAD_COUNT_LIMIT ? `over ${AHEAD_COUNT_LIMIT}` : r.ahead} ahead`,
          },
        });
      }
      return r.granted ? { granted: true as const, inFlight: r.inFlight } : { granted: false as const, ahead: r.ahead, inFlight: r.inFlight };
    });
    if (res.granted) return;
    lastAhead = res.ahead;
    try {
      await step.waitForEvent(`await slot ${name}#${n}`, { type: slotEventType(leaseId), timeout: (env.PROVIDER_SLOT_WAIT || "5 minutes") as Duration });
    } catch (err) {
      if (!isTimeout(err)) throw err;
    }
  }
}

/**
 * `resumedAt`: when an earlier step took up the job's outcome (the check of an unsigned callback);
 * else this is the first step after the outcome.
 */
export async function releaseSlot(ctx: RunContext, req: ProviderRequest, leaseId: string, name: string, resumedAt?: string): Promise<void> {
  const pool = poolFor(ctx.env, req, ctx.accountId);
  if (!pool) return;
  await ctx.step.do(`release ${name}`, DB_STEP, async () => {
    // When the first step after the job's outcome started, against the webhook's arrival, is the
    // resume delay (bench:batch). Taken before the write, which may wait for the database.
    const startedAt = resumedAt ?? new Date().toISOString();
    await logEvent(db(ctx.env.DB), { shootId: ctx.shootId, accountId: ctx.accountId, type: "job.resumed", data: { job: leaseId, startedAt } });
    await stub(ctx.env, pool.key).release(leaseId);
    return null;
  });
}
