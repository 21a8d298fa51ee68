/** Test helpers that go through the same paths a client does. */
import { introspectWorkflow } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createAccountWithKey } from "../../src/db/accounts.ts";
import { db } from "../../src/db/client.ts";
import { makePng } from "./png.ts";

export const BASE = "http://atelier.test";

export async function newAccount(name = "test studio") {
  const { apiKey, accountId } = await createAccountWithKey(db(env.DB), name);
  return { apiKey, accountId, auth: { authorization: `Bearer ${apiKey}` } };
}

export function call(path: string, init: RequestInit & { key?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  if (init.body && typeof init.body === "string" && !headers.has("content-type")) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers }));
}

/** Uploads real PNGs through the API and returns their ids. */
export async function uploadRefs(key: string, count = 2): Promise<string[]> {
  const form = new FormData();
  for (let i = 0; i < count; i++) form.append("files", new File([await makePng(96 + i, 128)], `ref-${i}.png`, { type: "image/png" }));
  const res = await call("/api/uploads", { method: "POST", body: form, key });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { uploads: { id: string }[] };
  return body.uploads.map((u) => u.id);
}

/**
 * For tests that create shoots only to list or read them: parks every new instance at its first
 * provider wait instead of calling FAL (there is no network in tests). Dispose to end them.
 */
export async function parkedWorkflows() {
  const introspector = await introspectWorkflow(env.SHOOT);
  await introspector.modifyAll(async (m) => {
    // Parked shoots hold no provider slot, so they never make others wait.
    await m.mockStepResult({ name: "slot hero#1#1" }, { granted: true, inFlight: 0 });
    await m.mockStepResult({ name: "submit hero#1" }, { jobId: "parked" });
  });
  return introspector;
}
