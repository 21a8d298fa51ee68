/**
 * The OpenAPI document is the contract: every route the app registers is in it with its methods and
 * path parameters, every operation is named and says how it is authorised, bad requests get the
 * documented problem shape, and the committed copy (`src/api/openapi.json`, from which
 * `openapi.gen.ts` is generated) is exactly what the Worker serves.
 */
import { inspectRoutes } from "hono/dev";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import { call, newAccount } from "./helpers.ts";

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Record<string, unknown> }[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> } };

const served = async () => (await (await call("/api/openapi.json")).json()) as Doc;

/**
 * Routes that are deliberately not in the document, with the reason.
 * - `/internal/*`: raw blob GET/PUT for the media service and providers, reachable only with a
 *   signed URL that the Worker itself mints per key and method; no client builds these requests.
 * - `ALL /api/*`: the catch-all that answers an unknown API path with a 404 problem.
 */
const UNDOCUMENTED = (method: string, path: string) => path.startsWith("/internal/") || (method === "ALL" && path === "/api/*");

/** Operations any client may call without a key; each is protected some other way or is harmless. */
// Review links: the signed token in the path is the credential (scoped to one checkpoint attempt, expiring).
const PUBLIC = new Set(["getHealth", "getOpenApiDocument", "falWebhook", "klingCallback", "getReview", "decideReview"]);

describe("the OpenAPI document", () => {
  it("has every registered route, with its methods and path parameters", async () => {
    const doc = await served();
    const routes = inspectRoutes(app).filter((r) => !r.isMiddleware);
    const documented = routes.filter((r) => !UNDOCUMENTED(r.method, r.path));
    expect(documented.length).toBeGreaterThanOrEqual(10);
    for (const r of documented) {
      const path = r.path.replace(/:([^/]+)/g, "{$1}");
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path} is not in the document`).toBeDefined();
      const declared = (op!.parameters ?? []).filter((p) => p.in === "path");
      const inPath = [...r.path.matchAll(/:([^/]+)/g)].map((m) => m[1]);
      expect(declared.map((p) => p.name).sort(), `${r.method} ${path} path parameters`).toEqual(inPath.sort());
      for (const p of declared) expect(p.required, `${path} {${p.name}} is required`).toBe(true);
    }
    // And nothing is documented that the app does not serve.
    const registered = new Set(documented.map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([^/]+)/g, "{$1}")}`));
    const inDoc = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(inDoc.sort()).toEqual([...registered].sort());
  });

  it("names every operation and declares its security: bearer, or explicitly none", async () => {
    const doc = await served();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(ids.has(op.operationId!), `duplicate operationId ${op.operationId}`).toBe(false);
        ids.add(op.operationId!);
        expect(op.security, `${method} ${path} declares security`).toBeDefined();
        if (PUBLIC.has(op.operationId!)) expect(op.security).toEqual([]);
        else expect(op.security![0]).toEqual({ bearer: [] });
        // redocly.yaml leaves this rule to the test: only the two operations without input lack a 4xx.
        if (op.operationId === "getHealth" || op.operationId === "getOpenApiDocument") continue;
        const clientErrors = Object.entries(op.responses).filter(([code]) => /^4\d\d$/.test(code));
        expect(clientErrors.length, `${method} ${path} documents its 4xx responses`).toBeGreaterThan(0);
      }
    }
  });

  it("names the schemas a client needs as components, and references them from responses", async () => {
    const doc = await served();
    for (const name of [
      "Shoot",
      "ShootSummary",
      "Checkpoint",
      "Asset",
      "Upload",
      "TimelineEvent",
      "Costs",
      "Problem",
      "ShootEvent",
      "JobCompletedEvent",
      "CheckpointPendingEvent",
    ]) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
    const get = doc.paths["/api/shoots/{id}"].get;
    expect(get.responses["200"].content).toEqual({ "application/json": { schema: { $ref: "#/components/schemas/Shoot" } } });
    expect(get.responses["404"].content).toEqual({ "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } });
  });

  it("types the list parameters as the route validates them", async () => {
    const params = Object.fromEntries((await served()).paths["/api/shoots"].get.parameters!.map((p) => [p.name, p]));
    expect(params.status.schema).toEqual({ $ref: "#/components/schemas/ShootStatus" });
    expect(params.stage.schema).toEqual({ $ref: "#/components/schemas/Stage" });
    expect(params.limit.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 100, default: 20 });
    const { apiKey } = await newAccount();
    for (const [query, field] of [
      ["limit=0", "limit"],
      ["limit=2.5", "limit"],
      ["limit=101", "limit"],
      ["stage=nope", "stage"],
      ["status=done", "status"],
    ]) {
      const res = await call(`/api/shoots?${query}`, { key: apiKey });
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([field]);
    }
  });

  it("keeps the problem shape for bodies that are not JSON or not objects", async () => {
    const { apiKey } = await newAccount();
    const notJson = await call("/api/shoots", { method: "POST", key: apiKey, body: "{not json", headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ status: 400, errors: [{ field: "body" }] });
    const text = await call("/api/shoots", { method: "POST", key: apiKey, body: new TextEncoder().encode("hello"), headers: { "content-type": "text/plain" } });
    expect(text.status).toBe(415);
    expect(text.headers.get("content-type")).toContain("application/problem+json");
    const unknownStage = await call("/api/shoots/sh_x/checkpoints/poster/decision", {
      method: "POST",
      key: apiKey,
      body: JSON.stringify({ action: "approve" }),
    });
    expect(unknownStage.status).toBe(404);
    expect(((await unknownStage.json()) as { detail: string }).detail).toBe('stage "poster" was not found');
    // Authentication comes before validation: no key, no hints about the body.
    expect((await call("/api/shoots", { method: "POST", body: "{}" })).status).toBe(401);
  });

  it("is the committed src/api/openapi.json (regenerate with `npm run api:types`)", async () => {
    // Served to the tests' origin, http://atelier.test, which is its `servers` entry.
    await expect(`${JSON.stringify(await served(), null, 2)}\n`).toMatchFileSnapshot("../../src/api/openapi.json");
  });
});
