/**
 * ProviderPool: one Durable Object per provider pool, handing out leases on in-flight jobs so
 * that every shoot, across waits and restarts, shares one cap (global, and per account).
 *
 * Each call runs in one synchronous block over the object's SQLite (no await between read and
 * write), so two acquires never both take the last slot. A lease is held from before the submit
 * until the job's outcome is known, and expires after its TTL if its holder never releases it (a
 * crashed shoot); a shoot ended from outside (cancelled, terminated) gives back all of its own at
 * once (`releaseShoot`). Waiters are served in arrival order, except that a waiter whose
 * account is at its own cap does not hold up others. A slot that frees is handed straight to the
 * next waiter that fits (its lease is made for it) and that waiter is woken with its slot event;
 * its next acquire finds the lease. A waiter also retries on its own after a while, so a lost
 * wake-up only delays it, and a lease handed to a waiter that never comes back expires.
 */
import { DurableObject } from "cloudflare:workers";
import { AHEAD_COUNT_LIMIT, slotEventType, type PoolCaps } from "./pools.ts";
import { metered } from "../meter.ts";

export interface AcquireRequest {
  leaseId: string;
  accountId: string;
  /** The workflow instance to wake when a slot frees. */
  instanceId: string;
  caps: PoolCaps;
  ttlMs: number;
}

export type AcquireResult = { granted: true; inFlight: number } | { granted: false; ahead: number; inFlight: number };

/** Rows the object's SQLite read and wrote for its last call (docs/scale.md; the cost test). */
export interface CallCost {
  rowsRead: number;
  rowsWritten: number;
}

/**
 * A waiter not seen for this long has gone away (cancelled, or it will register again); a lease
 * handed to a waiter holds this long until it claims it (longer than PROVIDER_SLOT_WAIT, after which
 * a waiter whose wake-up was lost asks again).
 */
const WAITER_TTL_MS = 10 * 60_000;

interface Waiter {
  lease_id: string;
  account_id: string;
  instance_id: string;
  since: number;
}

/**
 * Every call's cost follows the caps (leases) and the number of accounts waiting, never the number
 * of waiters: waiters are read through two indexes, by arrival and by account in arrival order, and
 * only the front of each account's line is looked at.
 */
export class ProviderPool extends DurableObject<Env> {
  private caps: PoolCaps = { global: 1, perAccount: 1 };
  private cost: CallCost = { rowsRead: 0, rowsWritten: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, metered(env));
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS leases (lease_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, expires_at INTEGER NOT NULL, instance_id TEXT)`);
    // Objects made before leases knew their shoot get the column (their old leases expire as before).
    if (
      !sql
        .exec<{ name: string }>(`SELECT name FROM pragma_table_info('leases')`)
        .toArray()
        .some((c) => c.name === "instance_id")
    ) {
      sql.exec(`ALTER TABLE leases ADD COLUMN instance_id TEXT`);
    }
    sql.exec(
      `CREATE TABLE IF NOT EXISTS waiters (lease_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, instance_id TEXT NOT NULL, since INTEGER NOT NULL, seen_at INTEGER NOT NULL)`,
    );
    sql.exec(`CREATE INDEX IF NOT EXISTS leases_by_expiry ON leases (expires_at)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS leases_by_account ON leases (account_id)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS leases_by_instance ON leases (instance_id)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS waiters_by_instance ON waiters (instance_id)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS waiters_in_order ON waiters (since, lease_id)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS waiters_by_account ON waiters (account_id, since, lease_id)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS waiters_by_seen ON waiters (seen_at)`);
    // The caps of the last acquire, so a release or an alarm after a restart hands slots out by them.
    sql.exec(`CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    const saved = sql.exec<{ value: string }>(`SELECT value FROM settings WHERE key = 'caps'`).toArray()[0];
    if (saved) this.caps = JSON.parse(saved.value) as PoolCaps;
  }

  acquire(req: AcquireRequest): AcquireResult {
    const now = Date.now();
    this.cost = { rowsRead: 0, rowsWritten: 0 };
    if (req.caps.global !== this.caps.global || req.caps.perAccount !== this.caps.perAccount) {
      this.caps = req.caps;
      this.q(`INSERT OR REPLACE INTO settings (key, value) VALUES ('caps', ?)`, JSON.stringify(req.caps));
    }
    const result = this.ctx.storage.transactionSync((): AcquireResult => {
      this.expire(now);
      if (this.q(`SELECT 1 FROM leases WHERE lease_id = ?`, req.leaseId).length > 0) {
        // A lease handed to this waiter, or a retried step asking again for the lease it holds.
        this.q(`UPDATE leases SET expires_at = ? WHERE lease_id = ?`, now + req.ttlMs, req.leaseId);
        return { granted: true, inFlight: this.inFlight() };
      }
      const since = this.q<{ since: number }>(`SELECT since FROM waiters WHERE lease_id = ?`, req.leaseId)[0]?.since ?? now;
      const before = (w: Waiter) => w.since < since || (w.since === since && w.lease_id < req.leaseId);
      // Any waiter that could take a slot and came first goes first; the front of each account's
      // line is enough to know (an account's later waiters came after its front).
      const eligibleAhead = this.fronts(1).some((w) => w.lease_id !== req.leaseId && before(w));
      if (this.fits(req.accountId) && !eligibleAhead) {
        this.grant(req.leaseId, req.accountId, req.instanceId, now + req.ttlMs);
        return { granted: true, inFlight: this.inFlight() };
      }
      this.q(
        `INSERT INTO waiters (lease_id, account_id, instance_id, since, seen_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(lease_id) DO UPDATE SET seen_at = excluded.seen_at`,
        req.leaseId,
        req.accountId,
        req.instanceId,
        since,
        now,
      );
      const ahead = this.q<{ n: number }>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM waiters WHERE (since, lease_id) < (?, ?) LIMIT ?)`,
        since,
        req.leaseId,
        AHEAD_COUNT_LIMIT,
      )[0].n;
      return { granted: false, ahead, inFlight: this.inFlight() };
    });
    this.armAlarm();
    return result;
  }

  /** Ends a lease (the job's outcome is known) and hands the slot to whoever is next. Safe to repeat. */
  async release(leaseId: string): Promise<void> {
    await this.endAndHandOver("lease_id", leaseId);
  }

  /**
   * Ends every lease and wait of one shoot (cancelled or terminated: its own releases will never
   * run) and hands the slots on, instead of holding them until they expire. Safe to repeat.
   */
  async releaseShoot(instanceId: string): Promise<void> {
    await this.endAndHandOver("instance_id", instanceId);
  }

  private async endAndHandOver(column: "lease_id" | "instance_id", value: string): Promise<void> {
    this.cost = { rowsRead: 0, rowsWritten: 0 };
    const handed = this.ctx.storage.transactionSync(() => {
      this.q(`DELETE FROM leases WHERE ${column} = ?`, value);
      this.q(`DELETE FROM waiters WHERE ${column} = ?`, value);
      return this.handOver(Date.now());
    });
    this.armAlarm();
    await this.wake(handed);
  }

  /** Removes expired leases, so a lease whose holder vanished frees its slot for the next waiter. */
  async alarm(): Promise<void> {
    try {
      const handed = this.ctx.storage.transactionSync(() => {
        this.expire(Date.now());
        return this.handOver(Date.now());
      });
      await this.wake(handed);
    } catch (err) {
      console.warn(JSON.stringify({ msg: "pool alarm failed", error: String(err) }));
    }
    this.armAlarm();
  }

  /** For status and tests: leases and waiters right now, and what the last acquire or release cost. */
  snapshot(): { inFlight: number; waiting: number; leases: { leaseId: string; accountId: string; expiresAt: number }[]; lastCall: CallCost } {
    const sql = this.ctx.storage.sql;
    const leases = sql.exec<{ lease_id: string; account_id: string; expires_at: number }>(`SELECT * FROM leases ORDER BY expires_at`).toArray();
    const waiting = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM waiters`).one().n;
    return {
      inFlight: leases.length,
      waiting,
      leases: leases.map((l) => ({ leaseId: l.lease_id, accountId: l.account_id, expiresAt: l.expires_at })),
      lastCall: this.cost,
    };
  }

  /** One statement, its rows read and written added to the call's cost. */
  private q<T extends Record<string, SqlStorageValue>>(query: string, ...args: SqlStorageValue[]): T[] {
    const cursor = this.ctx.storage.sql.exec<T>(query, ...args);
    const rows = cursor.toArray();
    this.cost.rowsRead += cursor.rowsRead;
    this.cost.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  private expire(now: number) {
    this.q(`DELETE FROM leases WHERE expires_at <= ?`, now);
    this.q(`DELETE FROM waiters WHERE seen_at <= ?`, now - WAITER_TTL_MS);
  }

  private inFlight(): number {
    return this.q<{ n: number }>(`SELECT count(*) AS n FROM leases`)[0].n;
  }

  /** Leases held per account (at most the global cap of rows). */
  private heldByAccount(): Map<string, number> {
    return new Map(
      this.q<{ account_id: string; n: number }>(`SELECT account_id, count(*) AS n FROM leases GROUP BY account_id`).map((r) => [r.account_id, r.n]),
    );
  }

  private fits(accountId: string): boolean {
    if (this.inFlight() >= this.caps.global) return false;
    return (this.heldByAccount().get(accountId) ?? 0) < this.caps.perAccount;
  }

  /**
   * The first `k` waiters of every account under its own cap, in arrival order. The accounts are
   * found by a skip scan of waiters_by_account (one index seek per account), so this reads about
   * accounts × k rows however long the lines are.
   */
  private fronts(k: number): Waiter[] {
    const held = this.heldByAccount();
    const accounts = this.q<{ id: string }>(
      `WITH RECURSIVE a(id) AS (
         SELECT (SELECT min(account_id) FROM waiters)
         UNION ALL SELECT (SELECT min(account_id) FROM waiters WHERE account_id > a.id) FROM a WHERE a.id IS NOT NULL
       ) SELECT id FROM a WHERE id IS NOT NULL`,
    );
    const fronts: Waiter[] = [];
    for (const { id } of accounts) {
      const room = this.caps.perAccount - (held.get(id) ?? 0);
      if (room <= 0) continue;
      fronts.push(
        ...this.q<Waiter & Record<string, SqlStorageValue>>(
          `SELECT lease_id, account_id, instance_id, since FROM waiters WHERE account_id = ? ORDER BY since, lease_id LIMIT ?`,
          id,
          Math.min(k, room),
        ),
      );
    }
    return fronts.sort((x, y) => x.since - y.since || (x.lease_id < y.lease_id ? -1 : x.lease_id > y.lease_id ? 1 : 0));
  }

  /**
   * Makes the free slots leases of the first waiters that fit, in arrival order (the same ones an
   * acquire would let through), so no slot stays free while its waiter wakes up. Each lease holds
   * WAITER_TTL_MS until its waiter claims it with an acquire.
   */
  private handOver(now: number): Waiter[] {
    const free = this.caps.global - this.inFlight();
    if (free <= 0) return [];
    const next = this.fronts(free).slice(0, free);
    for (const w of next) this.grant(w.lease_id, w.account_id, w.instance_id, now + WAITER_TTL_MS);
    return next;
  }

  /** A lease made, and its waiter (if any) out of the line. */
  private grant(leaseId: string, accountId: string, instanceId: string, expiresAt: number): void {
    this.q(`INSERT INTO leases (lease_id, account_id, instance_id, expires_at) VALUES (?, ?, ?, ?)`, leaseId, accountId, instanceId, expiresAt);
    this.q(`DELETE FROM waiters WHERE lease_id = ?`, leaseId);
  }

  private async wake(next: Waiter[]): Promise<void> {
    await Promise.all(
      next.map(async (w) => {
        try {
          await (await this.env.SHOOT.get(w.instance_id)).sendEvent({ type: slotEventType(w.lease_id), payload: null });
        } catch (err) {
          // Its lease is kept: the waiter asks again after its slot wait; one that is gone expires.
          console.warn(JSON.stringify({ msg: "slot wake failed", lease: w.lease_id, error: String(err) }));
        }
      }),
    );
  }

  private armAlarm() {
    const first = this.ctx.storage.sql.exec<{ t: number | null }>(`SELECT min(expires_at) AS t FROM leases`).one().t;
    if (first !== null) void this.ctx.storage.setAlarm(first);
  }
}
