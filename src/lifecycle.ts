/**
 * The one way a shoot ends. The workflow's last step, a cancel or terminate, recovery of an
 * instance that ended behind its row, and the dead-letter queue all come through here, so each
 * final state is logged once, announced by webhook (`shoot.completed` / `shoot.failed`), recorded
 * on its batch row, and closes its batch (`batch.completed`) when it was the last one.
 */
import { ROOM_WAIT } from "./batches/admission.ts";
import { batchIdsOfShoot, unparkNextRow } from "./db/batches.ts";
import { db, type Db } from "./db/client.ts";
import { logEvent } from "./db/events.ts";
import { finishShoot } from "./db/shoots.ts";
import { releaseShootSlots } from "./limits/pools.ts";
import { notifyShootFinished } from "./notify/emit.ts";
import type { FinalShootStatus } from "./domain/contract.ts";

export type FinalStatus = FinalShootStatus;

export async function endShoot(
  env: Env,
  shoot: { shootId: string; accountId: string },
  status: FinalStatus,
  opts: {
    error?: string;
    stage?: string;
    /** Extra data for the logged event (who ended it, why). */
    data?: Record<string, unknown>;
    /**
     * A workflow step that may be retried after its first run moved the row: notify anyway
     * (deliveries are keyed by event, so a second call sends nothing new).
     */
    replay?: boolean;
  } = {},
): Promise<boolean> {
  const d = db(env.DB);
  const changed = await finishShoot(d, shoot.shootId, status, opts.error);
  if (changed) {
    await logEvent(d, {
      shootId: shoot.shootId,
      accountId: shoot.accountId,
      type: `shoot.${status}`,
      data: { ...(opts.stage ? { stage: opts.stage } : {}), ...(opts.error ? { error: opts.error } : {}), ...opts.data },
    });
  }
  if (changed || opts.replay) await notifyShootFinished(env, shoot, { status, error: opts.error, stage: opts.stage });
  // Ended from outside (a cancel, a terminate, recovery): its provider slots are given back now, not
  // when their leases expire. A workflow that ended itself released them already (a no-op here).
  if (changed && (status === "cancelled" || status === "failed")) {
    await releaseShootSlots(env, shoot.shootId, shoot.accountId).catch((err) =>
      console.warn(JSON.stringify({ msg: "could not release the shoot's provider slots", shoot: shoot.shootId, error: String(err) })),
    );
  }
  // Its room to run is free: the next row of its batch parked for room is sent now.
  if (changed) await sendNextRows(env, d, shoot.shootId);
  return changed;
}

async function sendNextRows(env: Env, d: Db, shootId: string): Promise<void> {
  try {
    for (const { batchId } of await batchIdsOfShoot(d, shootId)) {
      const next = await unparkNextRow(d, batchId, ROOM_WAIT);
      if (next) await env.SUBMISSIONS.send(next, { contentType: "json" });
    }
  } catch (err) {
    // The row, unparked or not, is queued still: the sweep sends it when its account has room.
    console.warn(JSON.stringify({ msg: "could not send the next batch row", shoot: shootId, error: String(err) }));
  }
}
