/**
 * Wakes shoots that are `running` but have not moved for WAKE_AFTER. Under `wrangler dev` a
 * SIGKILLed runtime leaves instances that were mid-step marked running, and the local engine never
 * resumes them by itself (no waker at startup); any event re-enters the engine, which replays the
 * run from its cached steps and carries on. `__wake` is never awaited by any step, so in production
 * (where instances resume on their own) it is a harmless buffered event.
 */
import { and, eq, lt, notExists } from "drizzle-orm";
import { db, schema } from "./db/client.ts";
import { durationMs } from "./lib/duration.ts";

export const WAKE_EVENT = "__wake";

export async function wakeStalledShoots(env: Env, now = Date.now()): Promise<number> {
  const d = db(env.DB);
  const before = new Date(now - durationMs(env.WAKE_AFTER || "2 minutes", 120_000)).toISOString();
  const stalled = await d
    .select({ id: schema.shoots.id })
    .from(schema.shoots)
    .where(
      and(
        eq(schema.shoots.status, "running"),
        lt(schema.shoots.updatedAt, before),
        // Shoots waiting on a submitted job are the job watchdog's (it polls and reports back).
        notExists(d.select({ one: schema.jobs.id }).from(schema.jobs).where(and(eq(schema.jobs.shootId, schema.shoots.id), eq(schema.jobs.status, "submitted")))),
      ),
    )
    .limit(50)
    .all();
  let woken = 0;
  for (const { id } of stalled) {
    try {
      await (await env.SHOOT.get(id)).sendEvent({ type: WAKE_EVENT, payload: null });
      woken++;
    } catch (err) {
      console.warn(JSON.stringify({ msg: "wake failed", shoot: id, error: String(err) }));
    }
    // A heartbeat, so the same shoot is not woken on every tick.
    await d.update(schema.shoots).set({ updatedAt: new Date(now).toISOString() }).where(eq(schema.shoots.id, id));
  }
  if (woken) console.log(JSON.stringify({ msg: "woke stalled shoots", count: woken }));
  return woken;
}
