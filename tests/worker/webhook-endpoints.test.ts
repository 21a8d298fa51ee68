/** Outbound webhook endpoints through the API: validation, the secret shown once, rotation, isolation. */
import { describe, expect, it } from "vitest";
import { call, newAccount } from "./helpers.ts";

const create = (key: string, body: unknown) => call("/api/webhook-endpoints", { method: "POST", key, body: JSON.stringify(body) });

describe("webhook endpoints", () => {
  it("validates the URL and events, naming the field", async () => {
    const { apiKey } = await newAccount();
    const http = await create(apiKey, { url: "http://studio.example/hooks" });
    expect(http.status).toBe(400);
    expect(((await http.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(["url"]);
    const bad = await create(apiKey, { url: "not a url", events: ["shoot.exploded"] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { field: string }[] }).errors.map((e) => e.field).sort()).toEqual(["events[0]", "url"]);
    const creds = await create(apiKey, { url: "https://user:pw@studio.example/hooks" });
    expect(((await creds.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(["url"]);
    expect(((await (await call("/api/webhook-endpoints", { key: apiKey })).json()) as { endpoints: unknown[] }).endpoints).toHaveLength(0);
  });

  it("shows the secret once, rotates it with an overlap, and keeps endpoints to their account", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const res = await create(a.apiKey, { url: "https://studio.example/hooks", events: ["shoot.completed", "batch.completed"] });
    expect(res.status).toBe(201);
    const ep = (await res.json()) as { id: string; secret: string; events: string[]; signingSecrets: unknown[] };
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(ep.events).toEqual(["shoot.completed", "batch.completed"]);

    const read = await (await call(`/api/webhook-endpoints/${ep.id}`, { key: a.apiKey })).text();
    expect(read).not.toContain(ep.secret.slice(6));
    expect(JSON.parse(read)).toMatchObject({ status: "active", signingSecrets: [{ expiresAt: null }] });

    const rotated = (await (await call(`/api/webhook-endpoints/${ep.id}/rotate-secret`, { method: "POST", key: a.apiKey, body: "{}" })).json()) as { secret: string; previousExpiresAt: string };
    expect(rotated.secret).not.toBe(ep.secret);
    expect(Date.parse(rotated.previousExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);
    const during = (await (await call(`/api/webhook-endpoints/${ep.id}`, { key: a.apiKey })).json()) as { signingSecrets: { expiresAt: string | null }[] };
    expect(during.signingSecrets).toHaveLength(2);
    await call(`/api/webhook-endpoints/${ep.id}/rotate-secret`, { method: "POST", key: a.apiKey, body: JSON.stringify({ overlap: "0 seconds" }) });
    const after = (await (await call(`/api/webhook-endpoints/${ep.id}`, { key: a.apiKey })).json()) as { signingSecrets: unknown[] };
    expect(after.signingSecrets).toHaveLength(1);

    for (const [method, path] of [["GET", ""], ["GET", "/deliveries"], ["POST", "/rotate-secret"], ["DELETE", ""]]) {
      expect((await call(`/api/webhook-endpoints/${ep.id}${path}`, { method, key: b.apiKey })).status, `${method} ${path}`).toBe(404);
      expect((await call(`/api/webhook-endpoints/${ep.id}${path}`, { method })).status, `${method} ${path} without a key`).toBe(401);
    }
    expect(((await (await call("/api/webhook-endpoints", { key: b.apiKey })).json()) as { endpoints: unknown[] }).endpoints).toHaveLength(0);

    expect((await call(`/api/webhook-endpoints/${ep.id}`, { method: "DELETE", key: a.apiKey })).status).toBe(204);
    expect(((await (await call(`/api/webhook-endpoints/${ep.id}`, { key: a.apiKey })).json()) as { status: string }).status).toBe("disabled");
    expect(((await (await call(`/api/webhook-endpoints/${ep.id}/deliveries`, { key: a.apiKey })).json()) as { deliveries: unknown[] }).deliveries).toEqual([]);
  });
});
