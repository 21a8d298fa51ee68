/**
 * Stranded instances: shoots whose D1 row says `running` with no submitted job and no pending
 * checkpoint, and no progress (row update or logged event) for longer than STRANDED_AFTER. Nothing
 * outside would ever move them: no webhook, poll or decision is due.
 *
 * How this happens under `wrangler dev`: the local Workflows engine persists each instance's state
 * but does not resume running instances when the runtime starts again (its waker is a stub), so an
 * instance that was inside a step, or between a step and the next, when the runtime died stays put.
 * Any event reaching it makes the engine re-initialise and replay run() from its cached steps
 * (workers-sdk `Engine.receiveEvent` → `init()`), so the watchdog sends a `wake` event, a type no
 * step ever waits for. In production the engine resumes instances itself and a wake is a harmless
 * buffered event. An instance that has in fact ended while its row says running gets its row finished.
 */
import { db } from "./db/client.ts";
import { logEvent } from "./db/events.ts";
import { endShoot } from "./lifecycle.ts";
import { durationMs } from "./lib/duration.ts";

/** The event type of a wake-up. No step may wait for it: it stays buffered and harmless. */
export const WAKE_EVENT = "wake";

export interface RecoveryReport {
  candidates: string[];
  woken: string[];
  finished: { shoot: string; status: string }[];
  missing: string[];
}

export function strandedBefore(env: Env, now: number): string {
  return new Date(now - durationMs(env.STRANDED_AFTER || "5 minutes", 300_000)).toISOString();
}

/** Running shoots with nothing pending and no progress since `before` (ISO time). */
export async function findStrandedShoots(d1: D1Database, before: string, limit = 50) {
  const { results } = await d1
    .prepare(
      `SELECT s.id, s.account_id AS accountId, s.stage, s.updated_at AS updatedAt,
              (SELECT max(e.created_at) FROM events e WHERE e.shoot_id = s.id) AS lastEventAt
         FROM shoots s
        WHERE s.status = 'running'
          AND s.updated_at < ?1
          AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.shoot_id = s.id AND c.status = 'pending')
          AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.shoot_id = s.id AND j.status = 'submitted')
          AND coalesce((SELECT max(e.created_at) FROM events e WHERE e.shoot_id = s.id), '') < ?1
        ORDER BY s.updated_at
        LIMIT ?2`,
    )
    .bind(before, limit)
    .all<{ id: string; accountId: string; stage: string; updatedAt: string; lastEventAt: string | null }>();
  return results;
}

export async function wakeStrandedShoots(env: Env, now = Date.now()): Promise<RecoveryReport> {
  const report: RecoveryReport = { candidates: [], woken: [], finished: [], missing: [] };
  const d = db(env.DB);
  for (const s of await findStrandedShoots(env.DB, strandedBefore(env, now))) {
    report.candidates.push(s.id);
    const idleSeconds = Math.round((now - Date.parse(s.lastEventAt ?? s.updatedAt)) / 1000);
    let instance: WorkflowInstance;
    let status: InstanceStatus;
    try {
      instance = await env.SHOOT.get(s.id);
      status = await instance.status();
    } catch (err) {
      report.missing.push(s.id);
      console.warn(JSON.stringify({ msg: "recovery: no workflow instance for a running shoot", shoot: s.id, error: String(err) }));
      continue;
    }
    const ended = { errored: "failed", terminated: "cancelled", complete: "completed" } as const;
    if (status.status in ended) {
      // The row missed the instance's last step: bring it in line with what the engine says.
      const final = ended[status.status as keyof typeof ended];
      await endShoot(env, { shootId: s.id, accountId: s.accountId }, final, {
        error: status.error?.message,
        stage: s.stage,
        data: { by: "recovery", instance: status.status },
      });
      report.finished.push({ shoot: s.id, status: final });
      console.log(JSON.stringify({ msg: "recovery: finished a shoot whose instance had ended", shoot: s.id, instance: status.status, status: final }));
      continue;
    }
    await instance.sendEvent({ type: WAKE_EVENT, payload: { at: new Date(now).toISOString() } });
    // Logged as progress too, so a shoot that stays stuck is woken once per threshold, not every minute.
    await logEvent(d, { shootId: s.id, accountId: s.accountId, type: "shoot.woken", data: { stage: s.stage, idleSeconds, instance: status.status } });
    report.woken.push(s.id);
    console.log(JSON.stringify({ msg: "recovery: woke a stranded shoot", shoot: s.id, stage: s.stage, idleSeconds, instance: status.status }));
  }
  return report;
}
