/**
 * Must-show 1: account B's key against every route that reads or changes account A's shoot,
 * assets, uploads, checkpoint, review links, archive, batch, webhook endpoint or media gets a 404
 * (never 403: B learns nothing), and nothing changes.
 */
import { describe, expect, it } from "vitest";
import { accountWithParkedShoot, addBatchAndEndpoint, snapshot } from "./fixtures-account.ts";
import { call, newAccount } from "./helpers.ts";

describe("isolation matrix", () => {
  it("B's key gets 404 on every route of A's resources, and nothing changes", async () => {
    const a = await accountWithParkedShoot();
    const b = await newAccount("other studio");
    const { batchId, endpointId } = await addBatchAndEndpoint(a);
    const upload = a.assets.find((x) => x.kind === "reference")!;
    const plan = a.assets.find((x) => x.kind === "plan")!;
    expect(upload && plan).toBeTruthy();

    const routes: [string, string, unknown?][] = [
      ["GET", `/api/shoots/${a.shootId}`],
      ["GET", `/api/shoots/${a.shootId}/events`],
      ["POST", `/api/shoots/${a.shootId}/checkpoints/hero/decision`, { action: "approve" }],
      ["POST", `/api/shoots/${a.shootId}/checkpoints/hero/decision`, { action: "revise", feedback: "make it brighter" }],
      ["POST", `/api/shoots/${a.shootId}/checkpoints/hero/decision`, { action: "cancel" }],
      ["POST", `/api/shoots/${a.shootId}/cancel`],
      ["POST", `/api/shoots/${a.shootId}/checkpoints/hero/links`, {}],
      ["GET", `/api/shoots/${a.shootId}/archive`],
      ["GET", `/api/assets/${upload.id}/content`],
      ["GET", `/api/assets/${plan.id}/content`],
      ["GET", `/api/batches/${batchId}`],
      ["POST", `/api/batches/${batchId}/retry`, {}],
      ["POST", `/api/batches/${batchId}/retry`, { shoots: [a.shootId] }],
      ["GET", `/api/webhook-endpoints/${endpointId}`],
      ["GET", `/api/webhook-endpoints/${endpointId}/deliveries`],
      ["POST", `/api/webhook-endpoints/${endpointId}/rotate-secret`, {}],
      ["DELETE", `/api/webhook-endpoints/${endpointId}`],
    ];
    const before = await snapshot();
    for (const [method, path, body] of routes) {
      const res = await call(path, { method, key: b.apiKey, body: body ? JSON.stringify(body) : undefined });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get("content-type"), `${method} ${path}`).toContain("application/problem+json");
      const text = await res.text();
      expect(text, `${method} ${path} leaks nothing of A's`).not.toContain("unreleased autumn");
    }
    // Listing shows B none of A's shoots; A's references cannot be used by B.
    const list = (await (await call("/api/shoots", { key: b.apiKey })).json()) as { shoots: unknown[] };
    expect(list.shoots).toHaveLength(0);
    expect(((await (await call("/api/batches", { key: b.apiKey })).json()) as { batches: unknown[] }).batches).toHaveLength(0);
    expect(((await (await call("/api/webhook-endpoints", { key: b.apiKey })).json()) as { endpoints: unknown[] }).endpoints).toHaveLength(0);
    const create = await call("/api/shoots", { method: "POST", key: b.apiKey, body: JSON.stringify({ brief: "steal it", references: a.refs }) });
    expect(create.status).toBe(400);
    expect(await snapshot()).toBe(before);

    // The same requests with A's key do work, so the 404s above are isolation, not broken routes.
    expect((await call(`/api/shoots/${a.shootId}`, { key: a.apiKey })).status).toBe(200);
    expect((await call(`/api/assets/${upload.id}/content`, { key: a.apiKey })).status).toBe(200);
    expect((await call(`/api/shoots/${a.shootId}/archive`, { key: a.apiKey })).status).toBe(200);
    expect((await call(`/api/shoots/${a.shootId}/checkpoints/hero/links`, { method: "POST", key: a.apiKey, body: "{}" })).status).toBe(201);
    expect((await call(`/api/batches/${batchId}`, { key: a.apiKey })).status).toBe(200);
    expect((await call(`/api/webhook-endpoints/${endpointId}/deliveries`, { key: a.apiKey })).status).toBe(200);
    expect(
      (await call(`/api/shoots/${a.shootId}/checkpoints/hero/decision`, { method: "POST", key: a.apiKey, body: JSON.stringify({ action: "cancel" }) })).status,
    ).toBe(202);
  });
});
