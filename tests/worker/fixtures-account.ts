/**
 * An account with something in every state a route can touch: uploads, and a shoot parked at a
 * pending hero checkpoint (its provider job replaced at the step boundary, as in workflow.test.ts),
 * with real plan and reference assets in D1 and R2.
 */
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { db } from "../../src/db/client.ts";
import { schema } from "../../src/db/client.ts";
import { idempotentShootId } from "../../src/db/shoots.ts";
import { mintKey } from "../../src/lib/api-keys.ts";
import { insertBatch } from "../../src/db/batches.ts";
import { DEFAULT_STITCH } from "../../src/domain/shoot.ts";
import { call, newAccount, uploadRefs } from "./helpers.ts";

export async function accountWithParkedShoot() {
  const acct = await newAccount("owner studio");
  const refs = await uploadRefs(acct.apiKey, 2);
  const key = crypto.randomUUID();
  const shootId = await idempotentShootId(acct.accountId, key);
  const instance = await introspectWorkflowInstance(env.SHOOT, shootId);
  await instance.modify(async (m) => {
    await m.disableSleeps();
    const jobId = `${shootId}-hero-0-1`;
    await m.mockStepResult({ name: "submit hero#1" }, { jobId });
    await m.mockEvent({ type: `job-${jobId}`, payload: { status: "succeeded", outputUrl: "https://provider.test/hero" } });
    await m.mockStepResult({ name: "store hero#1" }, { assetId: "as-hero", key: "test/hero", width: 100, height: 100 });
  });
  const res = await call("/api/shoots", {
    method: "POST",
    key: acct.apiKey,
    body: JSON.stringify({ brief: "unreleased autumn collection, studio", references: refs, idempotencyKey: key, review: ["hero"] }),
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  for (let i = 0; i < 200; i++) {
    const s = (await (await call(`/api/shoots/${shootId}`, { key: acct.apiKey })).json()) as { checkpoint: { stage: string } | null };
    if (s.checkpoint?.stage === "hero") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const assets = (await env.DB.prepare("select id, kind from assets where account_id = ?").bind(acct.accountId).all<{ id: string; kind: string }>()).results;
  return { ...acct, refs, shootId, instance, assets };
}

/**
 * A batch of the account (one row recorded at intake, not queued, so it stays quiet while tests
 * compare snapshots) and a webhook endpoint with one logged delivery.
 */
export async function addBatchAndEndpoint(acct: { accountId: string; apiKey: string; refs: string[] }) {
  const d = db(env.DB);
  const batchId = `ba_iso_${acct.accountId.slice(-10)}`;
  const shootId = await idempotentShootId(acct.accountId, "iso-row");
  await insertBatch(d, { id: batchId, accountId: acct.accountId, idempotencyKey: "iso", review: null, presets: null }, [
    {
      index: 0,
      idempotencyKey: "iso-row",
      shootId,
      brief: "unreleased autumn collection, batch row",
      params: {
        references: acct.refs,
        presets: {},
        aspectRatio: null,
        review: [],
        checkpointTimeout: "7 days",
        timeoutPolicy: "expire",
        stitch: DEFAULT_STITCH,
      },
    },
  ]);
  const res = await call("/api/webhook-endpoints", {
    method: "POST",
    key: acct.apiKey,
    body: JSON.stringify({ url: "https://studio.example/unreleased-autumn-hooks" }),
  });
  if (res.status !== 201) throw new Error(`endpoint: ${res.status} ${await res.text()}`);
  const endpointId = ((await res.json()) as { id: string }).id;
  await d.insert(schema.webhookDeliveries).values({
    id: `dl_iso_${acct.accountId.slice(-10)}`,
    endpointId,
    accountId: acct.accountId,
    eventId: "evt_iso",
    type: "shoot.completed",
    payload: '{"type":"shoot.completed","data":{"brief":"unreleased autumn"}}',
    status: "failed",
    attempts: 1,
  });
  return { batchId, endpointId };
}

/** More keys for one account (the rate limit is per key, so a long test spreads over several). */
export async function extraKeys(accountId: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = await mintKey();
    await db(env.DB)
      .insert(schema.apiKeys)
      .values({ id: k.id, accountId, name: `extra-${i}`, keyHash: k.keyHash, prefix: k.prefix });
    out.push(k.apiKey);
  }
  return out;
}

/** Everything a request could change, in one comparable value. */
export async function snapshot(): Promise<string> {
  const q = async (sql: string) => JSON.stringify((await env.DB.prepare(sql).all()).results);
  const objects = await env.BUCKET.list({ prefix: "accounts/" });
  return [
    await q("select id, account_id, status, stage, plan is not null as planned, error from shoots order by id"),
    await q("select id, status, decision, feedback from checkpoints order by id"),
    await q("select count(*) as n, max(id) as last from events"),
    await q("select id, r2_key, bytes, sha256 from assets order by id"),
    await q("select id, status, dispatches from jobs order by id"),
    await q("select id, revoked_at, expires_at from api_keys order by id"),
    await q("select id, name from accounts order by id"),
    await q("select id, status, total, completed_at from batches order by id"),
    await q("select batch_id, idx, shoot_id, state, attempt, tries, error, outcome from batch_rows order by batch_id, idx"),
    await q("select id, url, events, secrets, disabled_at from webhook_endpoints order by id"),
    await q("select id, status, attempts from webhook_deliveries order by id"),
    await q("select count(*) as n from webhook_attempts"),
    JSON.stringify(objects.objects.map((o) => [o.key, o.size]).sort()),
  ].join("\n");
}
