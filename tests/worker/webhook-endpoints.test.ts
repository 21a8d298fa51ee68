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

  it("refuses endpoints on private, loopback, link-local and local-only hosts (SSRF), naming the field", async () => {
    const { apiKey } = await newAccount();
    const refused = [
      "https://127.0.0.1/hooks",
      "https://127.1/hooks",
      "https://2130706433/hooks",
      "https://0x7f.0.0.1/hooks",
      "https://10.2.3.4/hooks",
      "https://172.20.0.5/hooks",
      "https://192.168.1.10/hooks",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/hooks",
      "https://0.0.0.0/hooks",
      "https://[::1]/hooks",
      "https://[::ffff:127.0.0.1]/hooks",
      "https://[fd00::1]/hooks",
      "https://[fe80::1]/hooks",
      "https://localhost/hooks",
      "https://api.localhost/hooks",
      "https://printer.local/hooks",
      "https://metadata.google.internal/hooks",
      "https://intranet/hooks",
      "http://127.0.0.1:8787/hooks",
    ];
    for (const url of refused) {
      const res = await create(apiKey, { url });
      expect(res.status, url).toBe(400);
      const problem = (await res.json()) as { errors: { field: string; message: string }[] };
      expect(
        problem.errors.map((e) => e.field),
        url,
      ).toEqual(["url"]);
    }
    expect(((await (await call("/api/webhook-endpoints", { key: apiKey })).json()) as { endpoints: unknown[] }).endpoints).toHaveLength(0);
    // Public hosts and addresses are taken.
    for (const url of ["https://hooks.studio.example/in", "https://8.8.8.8/in", "https://[2606:4700::1111]/in"]) {
      expect((await create(apiKey, { url })).status, url).toBe(201);
    }
  });

  it("shows the secret once, rotates it with an overlap, and keeps endpoints to their account", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const res = await create(a.apiKey, { url: "https://studio.example/hooks", events: ["shoot.completed", "batch.completed"] });
    expect(res.status).toBe(201);
    const ep = (await res.json()) as { id: string; secret: string; events: string[]; signingSecrets: unknown[] };
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(ep.events).toEqual(["shoot.completed", "batch.completed"]);
    // The created endpoint has every field a read has (null where unset), as the document says.
    expect(ep).toMatchObject({ description: null, disabledReason: null, status: "active" });

    const read = await (await call(`/api/webhook-endpoints/${ep.id}`, { key: a.apiKey })).text();
    expect(read).not.toContain(ep.secret.slice(6));
    expect(JSON.parse(read)).toMatchObject({ status: "active", signingSecrets: [{ expiresAt: null }] });

    const rotated = (await (await call(`/api/webhook-endpoints/${ep.id}/rotate-secret`, { method: "POST", key: a.apiKey, body: "{}" })).json()) as {
      secret: string;
      previousExpiresAt: string;
    };
    expect(rotated.secret).not.toBe(ep.secret);
    expect(Date.parse(rotated.previousExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);
    const during = (await (await call(`/api/webhook-endpoints/${ep.id}`, { key: a.apiKey })).json()) as { signingSecrets: { expiresAt: string | null }[] };
    expect(during.signingSecrets).toHaveLength(2);
    await call(`/api/webhook-endpoints/${ep.id}/rotate-secret`, { method: "POST", key: a.apiKey, body: JSON.stringify({ overlap: "0 seconds" }) });
    const after = (await (await call(`/api/webhook-endpoints/${ep.id}`, { key: a.apiKey })).json()) as { signingSecrets: unknown[] };
    expect(after.signingSecrets).toHaveLength(1);

    for (const [method, path] of [
      ["GET", ""],
      ["GET", "/deliveries"],
      ["POST", "/rotate-secret"],
      ["DELETE", ""],
    ]) {
      expect((await call(`/api/webhook-endpoints/${ep.id}${path}`, { method, key: b.apiKey })).status, `${method} ${path}`).toBe(404);
      expect((await call(`/api/webhook-endpoints/${ep.id}${path}`, { method })).status, `${method} ${path} without a key`).toBe(401);
    }
    expect(((await (await call("/api/webhook-endpoints", { key: b.apiKey })).json()) as { endpoints: unknown[] }).endpoints).toHaveLength(0);

    expect((await call(`/api/webhook-endpoints/${ep.id}`, { method: "DELETE", key: a.apiKey })).status).toBe(204);
    expect(((await (await call(`/api/webhook-endpoints/${ep.id}`, { key: a.apiKey })).json()) as { status: string }).status).toBe("disabled");
    expect(((await (await call(`/api/webhook-endpoints/${ep.id}/deliveries`, { key: a.apiKey })).json()) as { deliveries: unknown[] }).deliveries).toEqual([]);
  });
});
