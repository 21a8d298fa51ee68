/**
 * Admission control for shoot instances made from batch rows.
 *
 * Workflows limits how fast instances are created. The Workflows "Limits" page (reference, last
 * updated Jun 15, 2026) gives "Maximum Workflow instance creation rate": 100 per second on Workers
 * Free; on Workers Paid 300 per second per account and 100 per second per workflow. Each instance
 * of a `createBatch` call counts toward it, a batch is not one creation (the Workflows docs' batch
 * section, since their change "Updating Workflows batch logic", Jan 2026). A creation refused for that
 * rate is not a failure of the row: the row waits for capacity and is sent again; it never counts
 * toward the queue's `max_retries` and never reaches the dead-letter queue for that reason alone.
 */

/** The per-workflow creation limit the SHOOT workflow shares with every other caller of it. */
export const WORKFLOW_CREATIONS_PER_SECOND = 100;
/** The consumer takes this share of it: single `POST /api/shoots` creates use the same workflow's limit. */
export const BATCH_CREATIONS_PER_SECOND = 80;
/** Keep equal to `max_concurrency` of the atelier-submissions consumer (wrangler.jsonc). */
export const SUBMISSION_CONSUMERS = 2;

/**
 * Whether a Workflows error (a thrown error, a per-instance `createBatch` error, or its text) is a
 * refusal for the creation rate. The single place that decides it. The platform's exact code is not
 * documented, so HTTP's 429 and the words a rate refusal uses are matched; "limit" alone is not
 * (a payload or size limit will not pass by waiting).
 */
export function isRateRefusal(error: unknown): boolean {
  if (error == null) return false;
  if (typeof error === "string") return RATE_WORDS.test(error);
  if (typeof error !== "object") return false;
  const e = error as { code?: unknown; status?: unknown; message?: unknown };
  if (Number(e.code) === 429 || Number(e.status) === 429) return true;
  return typeof e.message === "string" && RATE_WORDS.test(e.message);
}
const RATE_WORDS = /rate[\s._-]?limit|too[\s._-]?many|throttl/i;

const CAPACITY_WAIT = "waiting for creation capacity";
/** How a row parked for room to run starts its error (the sweep and an ending shoot find it by it). */
export const ROOM_WAIT = "waiting for a running shoot to finish";

/** The row's error while it waits: what the batch status shows as `waiting`. */
export function capacityWait(detail: string): string {
  return `${CAPACITY_WAIT} (Workflows refused for rate: ${detail.slice(0, 200)})`;
}

/** Whether a row's last recorded error is a wait (creation capacity, or room to run) and nothing worse. */
export function isCapacityWait(rowError: string | null | undefined): boolean {
  return !!rowError && (rowError.startsWith(CAPACITY_WAIT) || rowError.startsWith(ROOM_WAIT));
}

/**
 * How many of an account's shoots may be running (working, not waiting at a checkpoint) before
 * its batch rows wait for one to finish, so a batch does not create instances only to sleep in
 * provider slot waits: BATCH_RUNNING_MAX, or, when it is empty, twice the per-account caps of
 * every provider pool together (enough to keep every slot busy while others stitch or start).
 * "0": no limit.
 */
export function runningWindow(setting: string | undefined, perAccountCaps: number): number {
  const set = setting?.trim();
  if (set) return Math.max(0, Math.floor(Number(set)) || 0);
  return 2 * perAccountCaps;
}

/** The row's error while it waits for room: what the batch status shows as `waiting`. */
export function roomWait(running: number, window: number): string {
  return `${ROOM_WAIT} (${running} of ${window} running)`;
}

/**
 * How long refused rows wait before they are sent again: the time the workflow's limit needs to
 * create them, doubled for each wait in a row (up to 16x), plus as much again at random so refused
 * consumers do not come back together. Under SUBMISSION_RESEND_AFTER's 2 minutes, so the sweep does
 * not send the same rows too.
 */
export function capacityDelaySeconds(refused: number, waits: number, random = Math.random): number {
  const need = Math.max(1, refused) / WORKFLOW_CREATIONS_PER_SECOND;
  const base = need * 2 ** Math.min(Math.max(0, waits), 4);
  return Math.min(60, Math.max(1, Math.ceil(base * (1 + random()))));
}

/**
 * Paces one consumer's `createBatch` calls to its share of the limit: a call that created n instances
 * holds the next call, and the delivery's end, until n / rate seconds after it started, so with
 * max_concurrency consumers the queue creates at most BATCH_CREATIONS_PER_SECOND instances a second.
 * Rows refused for the rate book nothing (they were not created; they wait on the queue instead).
 */
export class CreationPacer {
  #nextAt = 0;
  constructor(
    private readonly perSecond = BATCH_CREATIONS_PER_SECOND / SUBMISSION_CONSUMERS,
    private readonly sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  ) {}

  /** Waits until what earlier calls booked has passed. */
  async ready(): Promise<void> {
    const wait = this.#nextAt - Date.now();
    if (wait > 0) await this.sleep(wait);
  }

  /** Books `n` instances to a call that started at `startedAt` (ms). */
  book(startedAt: number, n: number): void {
    this.#nextAt = Math.max(this.#nextAt, startedAt + (n * 1000) / this.perSecond);
  }
}
