/**
 * Keys (revocation, expiry, last use), the per-key rate limit (must-show 5), body size limits,
 * security headers and the CORS allow-list, all through the Worker's fetch handler.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAccountWithKey, revokeKey } from "../../src/db/accounts.ts";
import { db } from "../../src/db/client.ts";
import { call, newAccount } from "./helpers.ts";

describe("API keys", () => {
  it("a revoked key is refused on the very next request", async () => {
    const { apiKey, keyId } = await createAccountWithKey(db(env.DB), "revoked studio");
    expect((await call("/api/shoots", { key: apiKey })).status).toBe(200);
    expect(await revokeKey(db(env.DB), keyId)).toBe(true);
    const res = await call("/api/shoots", { key: apiKey });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/revoked/);
  });

  it("an expired key is refused; one that expires later works", async () => {
    const d = db(env.DB);
    const past = await createAccountWithKey(d, "expired studio", { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const future = await createAccountWithKey(d, "future studio", { expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    expect((await call("/api/shoots", { key: past.apiKey })).status).toBe(401);
    expect((await call("/api/shoots", { key: future.apiKey })).status).toBe(200);
  });

  it("records when a key was last used", async () => {
    const { apiKey, keyId } = await createAccountWithKey(db(env.DB), "busy studio");
    const before = await env.DB.prepare("select last_used_at from api_keys where id = ?").bind(keyId).first<{ last_used_at: string | null }>();
    expect(before?.last_used_at).toBeNull();
    expect((await call("/api/shoots", { key: apiKey })).status).toBe(200);
    let after: string | null = null;
    for (let i = 0; i < 20 && !after; i++) {
      after =
        (await env.DB.prepare("select last_used_at from api_keys where id = ?").bind(keyId).first<{ last_used_at: string | null }>())?.last_used_at ?? null;
      if (!after) await new Promise((r) => setTimeout(r, 50));
    }
    expect(Date.parse(after!)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("rate limit per key", () => {
  it("a burst of 300 from one key gets 429s with Retry-After past the rate; another key is unaffected", async () => {
    const a = await newAccount("bursty");
    const b = await newAccount("calm");
    const statuses: number[] = [];
    const started = Date.now();
    const retryAfter = new Set<string | null>();
    for (let i = 0; i < 300; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => call("/api/shoots?limit=1", { key: a.apiKey })));
      for (const r of batch) {
        statuses.push(r.status);
        if (r.status === 429) {
          retryAfter.add(r.headers.get("retry-after"));
          expect(r.headers.get("content-type")).toContain("application/problem+json");
        }
        await r.body?.cancel();
      }
    }
    // The limit is 100 per fixed 10 s window (wall clock): a burst gets 100 per window it touches.
    const windows = Math.floor(Date.now() / 10_000) - Math.floor(started / 10_000) + 1;
    const ok = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    console.log(JSON.stringify({ burst: { requests: 300, served: ok, limited, windows } }));
    expect(ok + limited).toBe(300);
    expect(statuses.slice(0, 100).every((s) => s === 200)).toBe(true);
    expect(ok).toBeLessThanOrEqual(100 * windows);
    expect(limited).toBeGreaterThanOrEqual(300 - 100 * windows);
    expect(limited).toBeGreaterThan(0);
    expect([...retryAfter]).toEqual(["10"]);
    expect((await call("/api/shoots", { key: b.apiKey })).status).toBe(200);
  }, 120_000);
});

describe("body size limits", () => {
  it("a JSON body over 256 KB is a 413 naming the body, and creates nothing", async () => {
    const { apiKey } = await newAccount();
    const res = await call("/api/shoots", { method: "POST", key: apiKey, body: JSON.stringify({ brief: "x".repeat(300 * 1024), references: ["up_1"] }) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { field: string }[] }).errors[0].field).toBe("body");
    expect(((await (await call("/api/shoots", { key: apiKey })).json()) as { shoots: unknown[] }).shoots).toHaveLength(0);
  });

  it("a webhook body over 1 MB is a 413", async () => {
    const res = await call("/webhooks/fal", { method: "POST", body: JSON.stringify({ pad: "x".repeat(1100 * 1024) }) });
    expect(res.status).toBe(413);
  });
});

describe("headers", () => {
  it("API responses carry a deny-all CSP and the usual security headers", async () => {
    const res = await call("/api/health");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
  });

  it("CORS answers only origins on the allow-list", async () => {
    // The test config allows https://studio.example (vitest.config.ts); anything else gets no CORS headers.
    const pre = (origin: string) =>
      call("/api/shoots", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
      });
    const allowed = await pre("https://studio.example");
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://studio.example");
    expect(allowed.headers.get("access-control-allow-headers")).toContain("authorization");
    const denied = await pre("https://evil.example");
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    const { apiKey } = await newAccount();
    const get = await call("/api/shoots", { key: apiKey, headers: { origin: "https://evil.example" } });
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
  });
});
