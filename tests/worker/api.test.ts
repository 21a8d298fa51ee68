import { describe, expect, it } from "vitest";
import { call, newAccount, uploadRefs } from "./helpers.ts";
import { makePng } from "./png.ts";

describe("health and auth", () => {
  it("health and the OpenAPI document are public", async () => {
    expect((await call("/api/health")).status).toBe(200);
    const doc = (await (await call("/api/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain("/api/shoots/{id}/checkpoints/{stage}/decision");
  });

  it("every other /api route needs a valid key", async () => {
    for (const [method, path] of [["GET", "/api/shoots"], ["POST", "/api/shoots"], ["POST", "/api/uploads"], ["GET", "/api/shoots/x"]]) {
      const res = await call(path, { method });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    expect((await call("/api/shoots", { key: "atl_not-a-key" })).status).toBe(401);
  });
});

describe("uploads", () => {
  it("stores images and reports their size", async () => {
    const { apiKey } = await newAccount();
    const form = new FormData();
    form.append("files", new File([await makePng(200, 300)], "model.png", { type: "image/png" }));
    const res = await call("/api/uploads", { method: "POST", body: form, key: apiKey });
    expect(res.status).toBe(201);
    const { uploads } = (await res.json()) as { uploads: { id: string; url: string; mime: string; width: number; height: number; bytes: number }[] };
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ mime: "image/png", width: 200, height: 300 });
    const content = await call(new URL(uploads[0].url).pathname + new URL(uploads[0].url).search);
    expect(content.status).toBe(200);
    expect((await content.arrayBuffer()).byteLength).toBe(uploads[0].bytes);
  });

  it("rejects a non-image naming the file and stores nothing", async () => {
    const { apiKey } = await newAccount();
    const form = new FormData();
    form.append("files", new File([await makePng(100, 100)], "ok.png", { type: "image/png" }));
    form.append("files", new File(["<svg onload=alert(1)>"], "evil.png", { type: "image/png" }));
    const res = await call("/api/uploads", { method: "POST", body: form, key: apiKey });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field)).toEqual(["files[1]"]);
  });
});

describe("shoots", () => {
  it("validates the body and names the field", async () => {
    const { apiKey } = await newAccount();
    const res = await call("/api/shoots", { method: "POST", key: apiKey, body: JSON.stringify({ brief: "streetwear", references: [], aspectRatio: "5:1" }) });
    expect(res.status).toBe(400);
    const fields = ((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["references", "aspectRatio"]));
    expect(((await (await call("/api/shoots", { key: apiKey })).json()) as { shoots: unknown[] }).shoots).toHaveLength(0);
  });

  it("rejects references that belong to another account", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const [ref] = await uploadRefs(a.apiKey, 1);
    const res = await call("/api/shoots", { method: "POST", key: b.apiKey, body: JSON.stringify({ brief: "streetwear editorial", references: [ref] }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { field: string }[] }).errors[0].field).toBe("references[0]");
  });
});
