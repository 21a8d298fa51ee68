import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { blobUrl } from "../../src/storage/urls.ts";
import { call, newAccount, parkedWorkflows, uploadRefs } from "./helpers.ts";
import { makePng } from "./png.ts";

describe("health and auth", () => {
  it("health and the OpenAPI document are public", async () => {
    expect((await call("/api/health")).status).toBe(200);
    const doc = (await (await call("/api/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain("/api/shoots/{id}/checkpoints/{stage}/decision");
  });

  it("every other /api route needs a valid key", async () => {
    for (const [method, path] of [
      ["GET", "/api/shoots"],
      ["POST", "/api/shoots"],
      ["POST", "/api/uploads"],
      ["GET", "/api/shoots/x"],
    ]) {
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

describe("asset content", () => {
  async function oneUpload() {
    const acct = await newAccount();
    const form = new FormData();
    form.append("files", new File([await makePng(120, 80)], "a.png", { type: "image/png" }));
    const { uploads } = (await (await call("/api/uploads", { method: "POST", body: form, key: acct.apiKey })).json()) as {
      uploads: { id: string; url: string; bytes: number }[];
    };
    return { ...acct, upload: uploads[0], path: `/api/assets/${uploads[0].id}/content` };
  }

  it("serves ranges, suffix ranges, 416 and 304 with immutable private caching", async () => {
    const { apiKey, upload, path } = await oneUpload();
    const full = await call(path, { key: apiKey });
    expect(full.status).toBe(200);
    expect(full.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
    const etag = full.headers.get("etag")!;
    const bytes = new Uint8Array(await full.arrayBuffer());
    expect(bytes.length).toBe(upload.bytes);

    const part = await call(path, { key: apiKey, headers: { range: "bytes=0-9" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 0-9/${upload.bytes}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.slice(0, 10));

    const suffix = await call(path, { key: apiKey, headers: { range: "bytes=-5" } });
    expect(suffix.status).toBe(206);
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(bytes.slice(-5));

    const beyond = await call(path, { key: apiKey, headers: { range: `bytes=${upload.bytes}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe(`bytes */${upload.bytes}`);

    expect((await call(path, { key: apiKey, headers: { "if-none-match": etag } })).status).toBe(304);
  });

  it("is invisible to other accounts and needs a valid signature without a key", async () => {
    const { upload, path } = await oneUpload();
    const other = await newAccount();
    expect((await call(path, { key: other.apiKey })).status).toBe(404);
    expect((await call(path)).status).toBe(401);
    const signed = new URL(upload.url);
    expect((await call(signed.pathname + signed.search)).status).toBe(200);
    const tampered = signed.search.replace(/sig=./, (m) => (m.endsWith("A") ? "sig=B" : "sig=A"));
    expect((await call(signed.pathname + tampered)).status).toBe(401);
    // A signature for one asset does not open another.
    const { path: otherPath } = await oneUpload();
    expect((await call(otherPath + signed.search)).status).toBe(401);
  });

  it("internal blob URLs need a signature for exactly that key and method", async () => {
    const key = `accounts/acct-${crypto.randomUUID()}/uploads/y.png`;
    const otherKey = `${key.slice(0, -".png".length)}-other.png`;
    await env.BUCKET.put(key, "the object");
    await env.BUCKET.put(otherKey, "another object");
    const local = (url: string) => new URL(url).pathname + new URL(url).search;
    const getA = local(await blobUrl(env, "GET", key, 60));
    const putA = local(await blobUrl(env, "PUT", key, 60));
    const sigOf = (url: string) => url.slice(url.indexOf("?"));

    // No signature, and the right signature: the only GET that opens it.
    expect((await call(`/internal/blobs/${key}`)).status).toBe(403);
    const ok = await call(getA);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("the object");
    // A GET signature for one key opens no other key.
    expect((await call(`/internal/blobs/${otherKey}${sigOf(getA)}`)).status).toBe(403);
    // A GET signature does not allow a PUT, and a PUT signature does not allow a GET.
    expect((await call(getA, { method: "PUT", body: "overwritten" })).status).toBe(403);
    expect((await call(putA)).status).toBe(403);
    // A PUT signature for one key writes no other key.
    expect((await call(`/internal/blobs/${otherKey}${sigOf(putA)}`, { method: "PUT", body: "overwritten" })).status).toBe(403);
    expect(await (await env.BUCKET.get(otherKey))!.text()).toBe("another object");
    expect(await (await env.BUCKET.get(key))!.text()).toBe("the object");
    // An expired signature is refused even for the right key and method.
    const expired = local(await blobUrl(env, "GET", key, -1));
    expect((await call(expired)).status).toBe(403);
    // The PUT signature writes its own key.
    expect((await call(putA, { method: "PUT", body: "replaced" })).status).toBe(201);
    expect(await (await env.BUCKET.get(key))!.text()).toBe("replaced");
  });
});

describe("listing", () => {
  it("pages with a cursor and filters by status", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call("/api/shoots", { method: "POST", key: apiKey, body: JSON.stringify({ brief: `shoot number ${i}`, references: refs }) });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const first = (await (await call("/api/shoots?limit=2", { key: apiKey })).json()) as { shoots: { id: string }[]; nextCursor: string };
    expect(first.shoots).toHaveLength(2);
    const second = (await (await call(`/api/shoots?limit=2&cursor=${first.nextCursor}`, { key: apiKey })).json()) as {
      shoots: { id: string }[];
      nextCursor: string | null;
    };
    expect(second.shoots).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    expect([...first.shoots, ...second.shoots].map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(((await (await call("/api/shoots?status=completed", { key: apiKey })).json()) as { shoots: unknown[] }).shoots).toHaveLength(0);
    expect((await call("/api/shoots?status=nope", { key: apiKey })).status).toBe(400);
    expect((await call("/api/shoots?cursor=%%%", { key: apiKey })).status).toBe(400);
  });

  it("an idempotency key never makes a second shoot", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const body = JSON.stringify({ brief: "catalogue shoot", references: refs, idempotencyKey: "row-17" });
    const a = await call("/api/shoots", { method: "POST", key: apiKey, body });
    const b = await call("/api/shoots", { method: "POST", key: apiKey, body });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(((await a.json()) as { id: string }).id).toBe(((await b.json()) as { id: string }).id);
    expect(((await (await call("/api/shoots", { key: apiKey })).json()) as { shoots: unknown[] }).shoots).toHaveLength(1);
  });
});
