/**
 * Review links and the archive through HTTP: who may create a link, what a link may do once, and
 * how used, expired and tampered links are refused without changing anything. The checkpoint row is
 * opened the way the workflow opens it (the parked instance never reaches one here); the whole path
 * with a real workflow and a browser is tests/e2e/ui.test.ts.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openCheckpoint } from "../../src/db/checkpoints.ts";
import { db } from "../../src/db/client.ts";
import { call, newAccount, parkedWorkflows, uploadRefs } from "./helpers.ts";

async function shootAtHero() {
  const { apiKey } = await newAccount();
  const refs = await uploadRefs(apiKey, 1);
  const res = await call("/api/shoots", { method: "POST", key: apiKey, body: JSON.stringify({ brief: "studio portrait, calm", references: refs }) });
  const { id } = (await res.json()) as { id: string };
  await openCheckpoint(db(env.DB), {
    shootId: id,
    stage: "hero",
    attempt: 1,
    artifacts: { assets: [] },
    timeoutPolicy: "expire",
    expiresAt: null,
    autoApprove: false,
  });
  return { apiKey, id };
}

const post = (path: string, body: unknown) => call(path, { method: "POST", body: JSON.stringify(body) });
const checkpoint = async (key: string, id: string) =>
  ((await (await call(`/api/shoots/${id}`, { key })).json()) as { checkpoints: { stage: string; status: string; decidedBy: string | null }[] }).checkpoints;

describe("review links", () => {
  it("need a key to create, a pending checkpoint of that stage, and a sane expiry", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey, id } = await shootAtHero();
    expect((await call(`/api/shoots/${id}/checkpoints/hero/links`, { method: "POST" })).status).toBe(401);
    const other = await newAccount("other studio");
    expect((await call(`/api/shoots/${id}/checkpoints/hero/links`, { method: "POST", key: other.apiKey })).status).toBe(404);
    expect((await call(`/api/shoots/${id}/checkpoints/frames/links`, { method: "POST", key: apiKey })).status).toBe(409);
    const bad = await call(`/api/shoots/${id}/checkpoints/hero/links`, { method: "POST", key: apiKey, body: JSON.stringify({ expiresIn: "soon" }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { field: string }[] }).errors[0].field).toBe("expiresIn");
    const ok = await call(`/api/shoots/${id}/checkpoints/hero/links`, { method: "POST", key: apiKey });
    expect(ok.status).toBe(201);
    const link = (await ok.json()) as { url: string; expiresAt: string };
    const hours = (Date.parse(link.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(71.9);
    expect(hours).toBeLessThanOrEqual(72);
  });

  it("take one decision under the reviewer's name; used, tampered and expired links change nothing", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey, id } = await shootAtHero();
    const mk = async (body: unknown = {}) =>
      ((await (await call(`/api/shoots/${id}/checkpoints/hero/links`, { method: "POST", key: apiKey, body: JSON.stringify(body) })).json()) as { url: string })
        .url;
    const token = new URL(await mk()).pathname.split("/review/")[1];
    const expired = new URL(await mk({ expiresIn: "1 second" })).pathname.split("/review/")[1];
    const tampered = token.replace(/.(?=\.)/, (ch) => (ch === "A" ? "B" : "A"));

    const view = await call(`/api/review/${token}`);
    expect(view.status).toBe(200);
    expect(((await view.json()) as { checkpoint: { stage: string } }).checkpoint.stage).toBe("hero");
    expect((await call(`/api/review/${tampered}`)).status).toBe(403);
    expect((await post(`/api/review/${tampered}`, { action: "approve", reviewer: "Mallory" })).status).toBe(403);
    const noName = await post(`/api/review/${token}`, { action: "approve" });
    expect(noName.status).toBe(400);
    expect(((await noName.json()) as { errors: { field: string }[] }).errors[0].field).toBe("reviewer");
    expect((await post(`/api/review/${token}`, { action: "cancel", reviewer: "Ana" })).status).toBe(400);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post(`/api/review/${expired}`, { action: "approve", reviewer: "Mallory" })).status).toBe(410);
    expect((await checkpoint(apiKey, id)).find((c) => c.stage === "hero")).toMatchObject({ status: "pending", decidedBy: null });

    expect((await post(`/api/review/${token}`, { action: "approve", reviewer: "Ana Ruiz" })).status).toBe(202);
    expect((await checkpoint(apiKey, id)).find((c) => c.stage === "hero")).toMatchObject({ status: "approved", decidedBy: "review:Ana Ruiz" });
    const again = await post(`/api/review/${token}`, { action: "revise", feedback: "more", reviewer: "Ana Ruiz" });
    expect(again.status).toBe(410);
    expect(((await again.json()) as { detail: string }).detail).toContain("Ana Ruiz");
    expect((await call(`/api/review/${token}`)).status).toBe(410);
    expect((await checkpoint(apiKey, id)).find((c) => c.stage === "hero")).toMatchObject({ status: "approved", decidedBy: "review:Ana Ruiz" });
  });
});

describe("archive", () => {
  it("needs the owner's key and zips what was approved, stored by name", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey, id } = await shootAtHero();
    expect((await call(`/api/shoots/${id}/archive`)).status).toBe(401);
    const other = await newAccount("other studio");
    expect((await call(`/api/shoots/${id}/archive`, { key: other.apiKey })).status).toBe(404);
    // The plan approves itself (it is not in the default review policy); the hero is still pending.
    let res: Response;
    for (let i = 0; ; i++) {
      res = await call(`/api/shoots/${id}/archive`, { key: apiKey });
      if (res.status === 200 || i > 50) break;
      expect(res.status).toBe(409);
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${id}.zip"`);
    const zip = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get("content-length"))).toBe(zip.length);
    expect(zipNames(zip)).toEqual(["plan-v1.json"]);
  });
});

function zipNames(b: Uint8Array): string[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let eocd = b.length - 22;
  while (eocd >= 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const names: string[] = [];
  let at = dv.getUint32(eocd + 16, true);
  for (let i = 0; i < dv.getUint16(eocd + 10, true); i++) {
    const n = dv.getUint16(at + 28, true);
    names.push(new TextDecoder().decode(b.subarray(at + 46, at + 46 + n)));
    at += 46 + n + dv.getUint16(at + 30, true) + dv.getUint16(at + 32, true);
  }
  return names;
}
