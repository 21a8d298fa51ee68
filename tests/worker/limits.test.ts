/** The provider pool Durable Object: caps in all and per account, arrival order, lease expiry, cost. */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { db } from "../../src/db/client.ts";
import { insertShoot } from "../../src/db/shoots.ts";
import { DEFAULT_STITCH } from "../../src/domain/shoot.ts";
import { AHEAD_COUNT_LIMIT, poolFor } from "../../src/limits/pools.ts";
import { ProviderPool } from "../../src/limits/provider-pool.ts";
import { call, newAccount } from "./helpers.ts";

const pool = (name: string) => env.PROVIDER_POOL.get(env.PROVIDER_POOL.idFromName(name));
const req = (leaseId: string, accountId: string, caps = { global: 2, perAccount: 1 }, ttlMs = 60_000) => ({
  leaseId,
  accountId,
  instanceId: `sh_${leaseId}`,
  caps,
  ttlMs,
});

describe("provider pool leases", () => {
  it("caps jobs in flight in all and per account, serving waiters in arrival order", async () => {
    const p = pool(`test-caps-${crypto.randomUUID()}`);
    expect(await p.acquire(req("a1", "acct-a"))).toMatchObject({ granted: true, inFlight: 1 });
    // Account a is at its own cap of 1.
    expect(await p.acquire(req("a2", "acct-a"))).toMatchObject({ granted: false, ahead: 0 });
    // Account a's waiter does not hold up account b.
    expect(await p.acquire(req("b1", "acct-b"))).toMatchObject({ granted: true, inFlight: 2 });
    // The pool is full: c waits behind a2.
    expect(await p.acquire(req("c1", "acct-c"))).toMatchObject({ granted: false, ahead: 1 });
    // A step retried for a lease it holds takes no second slot.
    expect(await p.acquire(req("a1", "acct-a"))).toMatchObject({ granted: true, inFlight: 2 });

    await p.release("a1");
    // The freed slot is handed to a2, who came first and now fits, before it even asks again: c1
    // may not jump the queue.
    expect((await p.snapshot()).leases.map((l) => l.leaseId).sort()).toEqual(["a2", "b1"]);
    expect(await p.acquire(req("c1", "acct-c"))).toMatchObject({ granted: false, ahead: 0 });
    expect(await p.acquire(req("a2", "acct-a"))).toMatchObject({ granted: true, inFlight: 2 });
    await p.release("b1");
    expect(await p.acquire(req("c1", "acct-c"))).toMatchObject({ granted: true, inFlight: 2 });
    const snap = await p.snapshot();
    expect(snap.leases.map((l) => l.leaseId).sort()).toEqual(["a2", "c1"]);
    expect(snap.waiting).toBe(0);
  });

  it("frees the slot of a lease that is never released once it expires", async () => {
    const p = pool(`test-expiry-${crypto.randomUUID()}`);
    const caps = { global: 1, perAccount: 1 };
    expect(await p.acquire(req("lost", "acct-a", caps, 200))).toMatchObject({ granted: true });
    expect(await p.acquire(req("next", "acct-b", caps))).toMatchObject({ granted: false, ahead: 0 });
    await new Promise((r) => setTimeout(r, 300));
    // The alarm set for the lease's expiry may have fired already; run it if not.
    await runDurableObjectAlarm(p);
    // The slot went to the waiter, which finds it when it asks again.
    expect((await p.snapshot()).leases.map((l) => l.leaseId)).toEqual(["next"]);
    expect(await p.acquire(req("next", "acct-b", caps))).toMatchObject({ granted: true, inFlight: 1 });
  });

  it("names pools by provider and model family, with caps from PROVIDER_CAPS", () => {
    expect(poolFor(env, { provider: "fal", model: "fal-ai/nano-banana-pro/edit", input: {} }, "acct-a")).toMatchObject({
      name: "fal:image",
      key: "fal:image",
      label: "FAL images",
      caps: { global: 8, perAccount: 8 },
    });
    expect(poolFor(env, { provider: "fal", model: "fal-ai/kling-video/v2.6/pro/image-to-video", input: {} }, "acct-a")).toMatchObject({
      name: "fal:video",
      caps: { global: 4 },
    });
    expect(
      poolFor(env, { provider: "kling", model: "kling-v2-6", image: "", imageTail: "", prompt: "", negativePrompt: "", duration: "5" } as never, "acct-a"),
    ).toMatchObject({ name: "kling:video", label: "Kling", caps: { global: 4 } });
  });

  it("gives each account its own pool object where a family is capped per account only", () => {
    const perAccountOnly = { ...env, PROVIDER_CAPS: JSON.stringify({ "fal:image": { perAccount: 3 } }) };
    const image = { provider: "fal" as const, model: "fal-ai/nano-banana-pro/edit", input: {} };
    expect(poolFor(perAccountOnly, image, "acct-a")).toMatchObject({ name: "fal:image", key: "fal:image@acct-a", caps: { global: 3, perAccount: 3 } });
    expect(poolFor(perAccountOnly, image, "acct-b")?.key).toBe("fal:image@acct-b");
    // No cap for a family that is not configured at all.
    expect(poolFor(perAccountOnly, { provider: "fal", model: "fal-ai/kling-video/v2.6/pro/image-to-video", input: {} }, "acct-a")).toBeNull();
  });

  it("costs the same rows to join, retry or release however many shoots wait", async () => {
    const caps = { global: 2, perAccount: 2 };
    const costs = async (waiting: number) => {
      const p = pool(`test-cost-${crypto.randomUUID()}`);
      await p.acquire(req("held-1", "acct-a", caps));
      await p.acquire(req("held-2", "acct-a", caps));
      // Waiters of three accounts, all behind the two held leases.
      for (let i = 0; i < waiting; i++) await p.acquire(req(`w-${String(i).padStart(5, "0")}`, `acct-${"abc"[i % 3]}`, caps));
      expect((await p.snapshot()).waiting).toBe(waiting);
      const join = await p.acquire(req("z-last", "acct-b", caps));
      expect(join).toMatchObject({ granted: false, ahead: Math.min(waiting, AHEAD_COUNT_LIMIT) });
      const joined = (await p.snapshot()).lastCall;
      await p.acquire(req("z-last", "acct-b", caps));
      const retried = (await p.snapshot()).lastCall;
      await p.release("held-1");
      const released = (await p.snapshot()).lastCall;
      return { joined, retried, released };
    };
    const short = await costs(AHEAD_COUNT_LIMIT + 20);
    const long = await costs(AHEAD_COUNT_LIMIT * 12);
    expect(long).toEqual(short);
    expect(long.joined.rowsRead).toBeLessThan(AHEAD_COUNT_LIMIT + 40);
  }, 60_000);

  it("keeps handing slots out by the caps after the object restarts", async () => {
    const caps = { global: 2, perAccount: 2 };
    const id = env.PROVIDER_POOL.idFromName(`test-restart-${crypto.randomUUID()}`);
    const before = env.PROVIDER_POOL.get(id);
    await before.acquire(req("h1", "acct-a", caps));
    await before.acquire(req("h2", "acct-a", caps));
    await before.acquire(req("w1", "acct-b", caps));
    await before.acquire(req("w2", "acct-b", caps));
    // A fresh object over the same storage (as after an eviction): its first call is a release.
    await runInDurableObject(before, async (_instance, state) => {
      const fresh = new ProviderPool(state, env);
      await fresh.release("h1");
      await fresh.release("h2");
      expect(
        fresh
          .snapshot()
          .leases.map((l) => l.leaseId)
          .sort(),
      ).toEqual(["w1", "w2"]);
    });
  });

  it("gives back every slot of a shoot ended from outside at once, to the next in line", async () => {
    const p = pool(`test-release-shoot-${crypto.randomUUID()}`);
    const caps = { global: 1, perAccount: 1 };
    expect(await p.acquire(req("a1", "acct-a", caps))).toMatchObject({ granted: true });
    expect(await p.acquire(req("b1", "acct-b", caps))).toMatchObject({ granted: false, ahead: 0 });
    expect(await p.acquire(req("c1", "acct-c", caps))).toMatchObject({ granted: false, ahead: 1 });
    // c's shoot is cancelled while it waits: its place in the line goes with it.
    await p.releaseShoot("sh_c1");
    expect((await p.snapshot()).waiting).toBe(1);
    // a's shoot is cancelled holding the slot (its own release will never run): b gets it now,
    // not when a's lease expires.
    await p.releaseShoot("sh_a1");
    const snap = await p.snapshot();
    expect(snap.leases.map((l) => l.leaseId)).toEqual(["b1"]);
    expect(snap.waiting).toBe(0);
    await p.releaseShoot("sh_a1"); // safe to repeat
    expect((await p.snapshot()).leases.map((l) => l.leaseId)).toEqual(["b1"]);
  });

  it("releases a cancelled shoot's slots when a person cancels it, in its account's pools", async () => {
    const { accountId, apiKey } = await newAccount();
    const shootId = `sh_cancel${crypto.randomUUID().slice(0, 8)}`;
    await insertShoot(db(env.DB), {
      id: shootId,
      accountId,
      brief: "cancelled holding a slot",
      params: { references: [], presets: {}, aspectRatio: null, review: [], checkpointTimeout: "7 days", timeoutPolicy: "expire", stitch: DEFAULT_STITCH },
    });
    const falImages = poolFor(env, { provider: "fal", model: "fal-ai/nano-banana-pro/edit", input: {} }, accountId)!;
    const p = pool(falImages.key);
    const leaseId = `${shootId}-hero-1`;
    expect(await p.acquire({ leaseId, accountId, instanceId: shootId, caps: falImages.caps, ttlMs: 30 * 60_000 })).toMatchObject({ granted: true });
    expect((await call(`/api/shoots/${shootId}/cancel`, { method: "POST", key: apiKey })).status).toBe(202);
    expect((await p.snapshot()).leases.map((l) => l.leaseId)).not.toContain(leaseId);
  });

  it("adds the shoot column to leases kept by an object made before it, keeping them", async () => {
    const stub = pool(`test-old-leases-${crypto.randomUUID()}`);
    await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec(`DROP TABLE leases`);
      state.storage.sql.exec(`CREATE TABLE leases (lease_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
      state.storage.sql.exec(`INSERT INTO leases (lease_id, account_id, expires_at) VALUES ('old', 'acct-a', ?)`, Date.now() + 60_000);
      const fresh = new ProviderPool(state, env);
      expect(fresh.snapshot().leases.map((l) => l.leaseId)).toEqual(["old"]);
      expect(fresh.acquire(req("new", "acct-b", { global: 2, perAccount: 1 }))).toMatchObject({ granted: true, inFlight: 2 });
      await fresh.releaseShoot("sh_new");
      expect(fresh.snapshot().leases.map((l) => l.leaseId)).toEqual(["old"]);
    });
  });

  it("decides like the plain rule (first eligible waiter in arrival order goes first) on random sequences", async () => {
    type Op = { kind: "new"; account: number } | { kind: "retry"; pick: number } | { kind: "release"; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("new" as const), account: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant("retry" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
    );
    let decisions = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(op, { minLength: 15, maxLength: 40 }),
        async (global, per, ops) => {
          const caps = { global, perAccount: Math.min(per, global) };
          const p = pool(`test-model-${crypto.randomUUID()}`);
          // The model: lease ids grow in the order of their first acquire, which is also arrival order.
          const held = new Map<string, string>();
          const waiting = new Map<string, string>();
          const heldBy = (a: string) => [...held.values()].filter((x) => x === a).length;
          // A freed slot goes to the first waiters that fit, in arrival order.
          const handOver = () => {
            for (const [w, a] of [...waiting.entries()].sort(([x], [y]) => (x < y ? -1 : 1))) {
              if (held.size < caps.global && heldBy(a) < caps.perAccount) {
                waiting.delete(w);
                held.set(w, a);
              }
            }
          };
          let next = 0;
          const acquire = async (lease: string, account: string) => {
            const got = await p.acquire(req(lease, account, caps));
            let want: object;
            if (held.has(lease)) want = { granted: true, inFlight: held.size };
            else {
              const before = [...waiting.keys()].filter((w) => w < lease);
              const eligibleAhead = before.some((w) => heldBy(waiting.get(w) ?? "") < caps.perAccount);
              if (held.size < caps.global && heldBy(account) < caps.perAccount && !eligibleAhead) {
                waiting.delete(lease);
                held.set(lease, account);
                want = { granted: true, inFlight: held.size };
              } else {
                waiting.set(lease, account);
                want = { granted: false, ahead: before.length, inFlight: held.size };
              }
            }
            expect(got).toEqual(want);
            decisions++;
          };
          for (const o of ops) {
            if (o.kind === "new") await acquire(`l${String(next++).padStart(3, "0")}`, `acct-${o.account}`);
            else if (o.kind === "retry" && waiting.size) {
              const [lease, account] = [...waiting.entries()][o.pick % waiting.size];
              await acquire(lease, account);
            } else if (o.kind === "release" && held.size) {
              const lease = [...held.keys()][o.pick % held.size];
              await p.release(lease);
              held.delete(lease);
              handOver();
            }
          }
        },
      ),
      { numRuns: 40 },
    );
    expect(decisions).toBeGreaterThan(200);
  }, 120_000);
});
