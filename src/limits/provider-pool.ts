/**
 * ProviderPool: one Durable Object per provider pool, handing out leases on in-flight jobs so
 * that every shoot, across waits and restarts, shares one cap (global, and per account).
 *
 * Each call runs in one synchronous block over the object's SQLite (no await between read and
 * write), so two acquires never both take the last slot. A lease is held from before the submit
 * until the job's outcome is known, and expires after its TTL if its holder never releases it (a
 * cancelled or crashed shoot). Waiters are served in arrival order, except that a waiter whose
 * account is at its own cap does not hold up others. When a slot frees, the next waiters are woken
 * with their slot event; they also retry on their own after a while, so a lost wake-up only delays.
 */
import { DurableObject } from "cloudflare:workers";
import { slotEventType, type PoolCaps } from "./pools.ts";

export interface AcquireRequest {
  leaseId: string;
  accountId: string;
  /** The workflow instance to wake when a slot frees. */
  instanceId: string;
  caps: PoolCaps;
  ttlMs: number;
}

export type AcquireResult = { granted: true; inFlight: number } | { granted: false; ahead: number; inFlight: number };

/** A waiter not seen for this long has gone away (cancelled, or it will register again). */
const WAITER_TTL_MS = 10 * 60_000;

export class ProviderPool extends DurableObject<Env> {
  private caps: PoolCaps = { global: 1, perAccount: 1 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS leases (lease_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS waiters (lease_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, instance_id TEXT NOT NULL, since INTEGER NOT NULL, seen_at INTEGER NOT NULL)`,
    );
  }

  acquire(req: AcquireRequest): AcquireResult {
    const now = Date.now();
    this.caps = req.caps;
    const sql = this.ctx.storage.sql;
    const result = this.ctx.storage.transactionSync((): AcquireResult => {
      this.expire(now);
      const held = sql.exec(`SELECT 1 FROM leases WHERE lease_id = ?`, req.leaseId).toArray().length > 0;
      if (held) {
        // A retried step asking again for the lease it holds.
        sql.exec(`UPDATE leases SET expires_at = ? WHERE lease_id = ?`, now + req.ttlMs, req.leaseId);
        return { granted: true, inFlight: this.inFlight() };
      }
      const mine = sql.exec<{ since: number }>(`SELECT since FROM waiters WHERE lease_id = ?`, req.leaseId).toArray()[0];
      const since = mine?.since ?? now;
      const ahead = sql
        .exec<{ n: number }>(
          `SELECT count(*) AS n FROM waiters WHERE lease_id != ? AND (since < ? OR (since = ? AND lease_id < ?))`,
          req.leaseId,
          since,
          since,
          req.leaseId,
        )
        .one().n;
      const aheadEligible = this.eligibleWaiters().filter(
        (w) => w.lease_id !== req.leaseId && (w.since < since || (w.since === since && w.lease_id < req.leaseId)),
      ).length;
      if (this.fits(req.accountId) && aheadEligible === 0) {
        sql.exec(`INSERT INTO leases (lease_id, account_id, expires_at) VALUES (?, ?, ?)`, req.leaseId, req.accountId, now + req.ttlMs);
        sql.exec(`DELETE FROM waiters WHERE lease_id = ?`, req.leaseId);
        return { granted: true, inFlight: this.inFlight() };
      }
      sql.exec(
        `INSERT INTO waiters (lease_id, account_id, instance_id, since, seen_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(lease_id) DO UPDATE SET seen_at = excluded.seen_at`,
        req.leaseId,
        req.accountId,
        req.instanceId,
        since,
        now,
      );
      return { granted: false, ahead, inFlight: this.inFlight() };
    });
    this.armAlarm();
    return result;
  }

  /** Ends a lease (the job's outcome is known) and wakes whoever can take the slot. Safe to repeat. */
  async release(leaseId: string): Promise<void> {
    this.ctx.storage.sql.exec(`DELETE FROM leases WHERE lease_id = ?`, leaseId);
    this.ctx.storage.sql.exec(`DELETE FROM waiters WHERE lease_id = ?`, leaseId);
    await this.wakeNext();
  }

  /** Removes expired leases, so a lease whose holder vanished frees its slot. */
  async alarm(): Promise<void> {
    try {
      this.expire(Date.now());
      await this.wakeNext();
    } catch (err) {
      console.warn(JSON.stringify({ msg: "pool alarm failed", error: String(err) }));
    }
    this.armAlarm();
  }

  /** For status and tests: leases and waiters right now. */
  snapshot(): { inFlight: number; waiting: number; leases: { leaseId: string; accountId: string; expiresAt: number }[] } {
    const sql = this.ctx.storage.sql;
    const leases = sql.exec<{ lease_id: string; account_id: string; expires_at: number }>(`SELECT * FROM leases ORDER BY expires_at`).toArray();
    const waiting = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM waiters`).one().n;
    return { inFlight: leases.length, waiting, leases: leases.map((l) => ({ leaseId: l.lease_id, accountId: l.account_id, expiresAt: l.expires_at })) };
  }

  private expire(now: number) {
    this.ctx.storage.sql.exec(`DELETE FROM leases WHERE expires_at <= ?`, now);
    this.ctx.storage.sql.exec(`DELETE FROM waiters WHERE seen_at <= ?`, now - WAITER_TTL_MS);
  }

  private inFlight(): number {
    return this.ctx.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM leases`).one().n;
  }

  private fits(accountId: string): boolean {
    const sql = this.ctx.storage.sql;
    if (this.inFlight() >= this.caps.global) return false;
    return sql.exec<{ n: number }>(`SELECT count(*) AS n FROM leases WHERE account_id = ?`, accountId).one().n < this.caps.perAccount;
  }

  /** Waiters in arrival order whose account is under its own cap. */
  private eligibleWaiters() {
    const sql = this.ctx.storage.sql;
    const perAccount = new Map(
      sql
        .exec<{ account_id: string; n: number }>(`SELECT account_id, count(*) AS n FROM leases GROUP BY account_id`)
        .toArray()
        .map((r) => [r.account_id, r.n]),
    );
    return sql
      .exec<{ lease_id: string; account_id: string; instance_id: string; since: number }>(
        `SELECT lease_id, account_id, instance_id, since FROM waiters ORDER BY since, lease_id`,
      )
      .toArray()
      .filter((w) => (perAccount.get(w.account_id) ?? 0) < this.caps.perAccount);
  }

  private async wakeNext(): Promise<void> {
    const free = this.caps.global - this.inFlight();
    if (free <= 0) return;
    const next = this.eligibleWaiters().slice(0, free);
    await Promise.all(
      next.map(async (w) => {
        try {
          await (await this.env.SHOOT.get(w.instance_id)).sendEvent({ type: slotEventType(w.lease_id), payload: null });
        } catch (err) {
          // Its place is kept: a waiter that is really gone expires after WAITER_TTL_MS.
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
