/** The provider pool Durable Object: caps in all and per account, arrival order, lease expiry. */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { poolFor } from "../../src/limits/pools.ts";

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
    // c1 may not jump the queue: a2 came first and now fits.
    expect(await p.acquire(req("c1", "acct-c"))).toMatchObject({ granted: false, ahead: 1 });
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
    expect((await p.snapshot()).inFlight).toBe(0);
    expect(await p.acquire(req("next", "acct-b", caps))).toMatchObject({ granted: true });
  });

  it("names pools by provider and model family, with caps from PROVIDER_CAPS", () => {
    expect(poolFor(env, { provider: "fal", model: "fal-ai/nano-banana-pro/edit", input: {} })).toMatchObject({
      name: "fal:image",
      label: "FAL images",
      caps: { global: 8, perAccount: 8 },
    });
    expect(poolFor(env, { provider: "fal", model: "fal-ai/kling-video/v2.6/pro/image-to-video", input: {} })).toMatchObject({
      name: "fal:video",
      caps: { global: 4 },
    });
    expect(
      poolFor(env, { provider: "kling", model: "kling-v2-6", image: "", imageTail: "", prompt: "", negativePrompt: "", duration: "5" } as never),
    ).toMatchObject({ name: "kling:video", label: "Kling", caps: { global: 4 } });
  });
});
