/**
 * Issue 21, must-show 2: every statement the crons, the watchdog, the API lists, the live stream and
 * the workflow's D1 helpers run is planned with `EXPLAIN QUERY PLAN`, and none may read the whole of
 * a table that grows with shoots.
 *
 * The SQL is not written here: the real code runs against a D1 binding that records each statement
 * (its text and its bound parameters) on its way to D1, so a change in the code that turns a query
 * into a scan fails this test. What runs:
 * - the cron handler's jobs (watchdog, recovery, retention, row and delivery resends) over data that
 *   makes each take its per-item path, with queues and the workflow binding stubbed;
 * - the submission queue consumer;
 * - the API's reads through the app (lists with their filters and cursors, a shoot, a batch and its
 *   report, recipes, webhook endpoints and deliveries, packs) and the live stream's route (its poll,
 *   `eventsSince`, runs in the shoot's feed object and is planned with the db functions);
 * - every exported function of src/db/*.ts (what the workflow and the consumers call), checked by
 *   name below so a new one cannot be missed.
 *
 * A scan counts even through an index (`SCAN t USING INDEX i` reads every entry), and so does an
 * automatic index (built by reading the whole table). A temp B-tree for ORDER BY is allowed and listed.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import * as accountsDb from "../../src/db/accounts.ts";
import * as assetsDb from "../../src/db/assets.ts";
import * as batchesDb from "../../src/db/batches.ts";
import * as checkpointsDb from "../../src/db/checkpoints.ts";
import { db, schema } from "../../src/db/client.ts";
import * as eventsDb from "../../src/db/events.ts";
import * as jobsDb from "../../src/db/jobs.ts";
import * as packsDb from "../../src/db/packs.ts";
import * as recipesDb from "../../src/db/recipes.ts";
import * as shootsDb from "../../src/db/shoots.ts";
import * as webhooksDb from "../../src/db/webhooks.ts";
import worker from "../../src/index.ts";
import { wakeStrandedShoots } from "../../src/recovery.ts";
import { runRetention } from "../../src/retention.ts";
import { compactHistory } from "../../src/history.ts";
import { reconcileStalledJobs } from "../../src/watchdog.ts";
import { handleSubmissionBatch, resendStaleRows, type SubmissionMessage } from "../../src/batches/submissions.ts";
import { resendOverdueDeliveries } from "../../src/notify/deliver.ts";
import { spentUsd } from "../../src/workflow/budget.ts";
import { recordJudgeCall } from "../../src/quality/judge-record.ts";
import type { JobResult } from "../../src/domain/jobs.ts";

/** Tables whose rows grow with the number of shoots: no statement may read all of one. */
const GROWING = new Set([
  "shoots",
  "jobs",
  "events",
  "assets",
  "checkpoints",
  "packs",
  "batch_rows",
  "batches",
  "webhook_deliveries",
  "webhook_attempts",
  "retention_log",
]);
/** Tables that grow with customers or settings, not shoots: a scan of one is allowed, for this reason. */
const SMALL: Record<string, string> = {
  accounts: "one row per customer account",
  api_keys: "a few keys per account",
  recipes: "a few named settings per account",
  webhook_endpoints: "a few endpoints per account",
};
const TABLES = new Set([...GROWING, ...Object.keys(SMALL)]);

interface Captured {
  sql: string;
  params: unknown[];
  /** Which run issued it: a cron, a route, a db function. */
  from: Set<string>;
}
const captured = new Map<string, Captured>();
let source = "";

function note(sql: string, params: unknown[] | null) {
  const c = captured.get(sql);
  if (c) {
    c.from.add(source);
    if (params && !c.params.length) c.params = params;
  } else captured.set(sql, { sql, params: params ?? [], from: new Set([source]) });
}

/** A D1 binding that records each statement prepared on it; the statements themselves are D1's own. */
function recording(d1: D1Database): D1Database {
  const watch = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const bind = stmt.bind.bind(stmt);
    stmt.bind = (...params: unknown[]) => {
      note(sql, params);
      return watch(bind(...params), sql);
    };
    return stmt;
  };
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare")
        return (sql: string) => {
          note(sql, null);
          return watch(target.prepare(sql), sql);
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const DB = recording(env.DB);
const sent: unknown[] = [];
const queue = { send: async (m: unknown) => void sent.push(m), sendBatch: async (ms: unknown[]) => void sent.push(...ms) };
/** Recovery's instance lookups: every stranded shoot's instance has ended with an error. */
const shootWorkflow = {
  get: async (id: string) => ({ id, status: async () => ({ status: "errored", error: { message: "gone" } }), sendEvent: async () => {} }),
  createBatch: async ({ instances }: { instances: { id: string }[] }) => ({ created: instances, errors: [] }),
};
/** The Worker's env with the recording D1, and queues and the workflow binding that only take note. */
const recEnv = {
  ...env,
  DB,
  MEDIA_JOBS: queue,
  SUBMISSIONS: queue,
  WEBHOOK_DELIVERIES: queue,
  SHOOT: shootWorkflow,
} as unknown as Env;
const d = db(DB);

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function as<T>(from: string, run: () => Promise<T>): Promise<T> {
  source = from;
  try {
    return await run();
  } finally {
    source = "";
  }
}

/** Every exported function of src/db/*.ts; each must be called below (or be listed as running no SQL). */
const DB_MODULES = {
  accounts: accountsDb,
  assets: assetsDb,
  batches: batchesDb,
  checkpoints: checkpointsDb,
  events: eventsDb,
  jobs: jobsDb,
  packs: packsDb,
  recipes: recipesDb,
  shoots: shootsDb,
  webhooks: webhooksDb,
} as const;
const NO_SQL = new Set([
  "shoots.idempotentShootId",
  "events.eventRow",
  "recipes.parseRecipeRef",
  "batches.rowState",
  "packs.packId",
  "packs.packSource",
  "packs.packFileName",
  "jobs.toSignal",
]);
const called = new Set<string>();
const dbCall = <T>(name: string, run: () => Promise<T>) => {
  called.add(name);
  return as(`db ${name}`, run);
};

let accountId = "";
let apiKey = "";
const ids = {
  running: "sh_qp_running",
  done: "sh_qp_done",
  stranded: "sh_qp_stranded",
  old: "sh_qp_old",
  compacted: "sh_qp_compacted",
  batch: "ba_qp",
  endpoint: "we_qp",
  delivery: "dl_qp",
};
const params = { references: [] as string[] };

/** Rows that make each cron take its per-item path. Written on the plain binding: not recorded. */
async function seed() {
  const plain = db(env.DB);
  ({ accountId, apiKey } = await accountsDb.createAccountWithKey(plain, "query plans"));
  for (const id of [ids.running, ids.done, ids.stranded, ids.old, ids.compacted])
    await shootsDb.insertShoot(plain, { id, accountId, brief: "b", params: params as never });
  // Stranded: running, no progress for a day. Old: failed long ago (retention). Done: its stream ends at once.
  await env.DB.prepare("update shoots set updated_at = ?2 where id = ?1").bind(ids.stranded, ago(1)).run();
  await env.DB.prepare("update shoots set status = 'failed', completed_at = ?2, updated_at = ?2 where id = ?1").bind(ids.old, ago(400)).run();
  await env.DB.prepare("update shoots set status = 'completed', completed_at = ?2 where id = ?1").bind(ids.done, ago(0)).run();
  await eventsDb.logEvent(plain, { shootId: ids.done, accountId, type: "shoot.completed", data: null });
  // Compacted: completed a month ago, so compaction moves its history to R2 and the API reads it there.
  await env.DB.prepare("update shoots set status = 'completed', completed_at = ?2, updated_at = ?2 where id = ?1").bind(ids.compacted, ago(30)).run();
  await eventsDb.logEvent(plain, { shootId: ids.compacted, accountId, type: "shoot.completed", data: null });
  await env.DB.prepare(
    "insert into checkpoints (id, shoot_id, stage, attempt, status, artifacts, timeout_policy, expires_at) values (?1, ?2, 'hero', 1, 'pending', '{}', 'expire', ?3)",
  )
    .bind(`${ids.running}-hero-1`, ids.running, ago(-7))
    .run();
  // Watchdog: a media job and a provider job (no request id yet, so it is not polled) waiting for a day.
  for (const [id, type] of [
    [`${ids.running}-stitch-0-1`, "media"],
    [`${ids.running}-hero-0-1`, "provider"],
  ] as const)
    await jobsDb.ensureJob(plain, {
      id,
      shootId: ids.running,
      accountId,
      type,
      provider: type === "media" ? "media" : "fal",
      stage: "hero",
      status: "submitted",
      submittedAt: ago(1),
    });
  for (const [id, shootId, kind] of [
    ["as_qp_old", ids.old, "hero"],
    ["as_qp_upload", null, "reference"],
  ] as const)
    await env.DB.prepare(
      "insert into assets (id, account_id, shoot_id, kind, r2_key, bytes, mime, sha256, created_at) values (?1, ?2, ?3, ?4, ?5, 1, 'image/png', 'x', ?6)",
    )
      .bind(id, accountId, shootId, kind, `accounts/${accountId}/qp/${id}`, ago(30))
      .run();
  await packsDb.createPack(plain, { shootId: ids.done, accountId, version: 1, channels: [] });
  // A batch: the old shoot's row (retention closes the batch), a row placed, a queued row gone stale.
  const row = (index: number, shootId: string) => ({ index, idempotencyKey: `k${index}`, shootId, brief: "b", params: params as never, quoteUsd: 1 });
  await batchesDb.insertBatch(plain, { id: ids.batch, accountId, idempotencyKey: "qp", review: null, presets: null, budgetUsd: 100 }, [
    row(0, ids.old),
    row(1, ids.stranded),
    row(2, "sh_qp_queued"),
  ]);
  await env.DB.prepare("update batch_rows set state = 'created' where batch_id = ?1 and idx < 2").bind(ids.batch).run();
  await env.DB.prepare("update batch_rows set updated_at = ?2 where batch_id = ?1").bind(ids.batch, ago(1)).run();
  await plain.insert(schema.webhookEndpoints).values({
    id: ids.endpoint,
    accountId,
    url: "https://hooks.example.com/atelier",
    events: ["shoot.completed", "shoot.failed", "batch.completed"],
    secrets: [],
  });
  await plain.insert(schema.webhookDeliveries).values({
    id: ids.delivery,
    endpointId: ids.endpoint,
    accountId,
    eventId: "evt_qp",
    type: "shoot.completed",
    payload: "{}",
    nextAttemptAt: ago(1),
  });
  await recipesDb.saveRecipe(plain, accountId, "look", { aspectRatio: "4:5" } as never);
}

async function runCrons() {
  await as("cron: watchdog (reconcileStalledJobs)", () => reconcileStalledJobs(recEnv));
  await as("cron: recovery (wakeStrandedShoots)", () => wakeStrandedShoots(recEnv));
  await as("cron: retention (runRetention)", () => runRetention(recEnv));
  await as("cron: compaction (compactHistory)", () => compactHistory(recEnv));
  await as("cron: batch row resend (resendStaleRows)", () => resendStaleRows(recEnv));
  await as("cron: webhook resend (resendOverdueDeliveries)", () => resendOverdueDeliveries(recEnv));
  // And the handler itself, so a cron added to it is planned here too.
  await as("cron: scheduled()", async () => {
    const ctx = createExecutionContext();
    await worker.scheduled({} as ScheduledController, recEnv, ctx);
    await waitOnExecutionContext(ctx);
  });
  // Refused for the creation rate first (the row waits, counting no try), then placed.
  const submission = (id: string) =>
    ({
      queue: "atelier-submissions",
      messages: [{ id, timestamp: new Date(), attempts: 1, body: { batchId: ids.batch, index: 2 }, ack() {}, retry() {} }],
      ackAll() {},
      retryAll() {},
    }) as unknown as MessageBatch<SubmissionMessage>;
  const refusing = {
    ...shootWorkflow,
    createBatch: async () => Promise.reject(Object.assign(new Error("rate limited"), { code: 429 })),
  };
  await as("queue: submissions refused for the rate (handleSubmissionBatch)", () =>
    handleSubmissionBatch(submission("r"), { ...recEnv, SHOOT: refusing } as unknown as Env),
  );
  await as("queue: submissions (handleSubmissionBatch)", () => handleSubmissionBatch(submission("m"), recEnv));
}

/** GETs through the app, on the recording binding; each must answer 200. */
async function get(path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await as(`GET ${path}`, async () => {
    const r = await app.fetch(new Request(`http://atelier.test${path}`, { headers: { authorization: `Bearer ${apiKey}` } }), recEnv, ctx);
    // The body is read inside, so a streamed answer (SSE) runs its queries now.
    const text = await r.text();
    return new Response(text, r);
  });
  await waitOnExecutionContext(ctx);
  expect(res.status, `GET ${path}: ${await res.clone().text()}`).toBe(200);
  return res;
}

async function runApi() {
  const first = (await (await get("/api/shoots?limit=1")).json()) as { nextCursor: string };
  await get(`/api/shoots?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`);
  await get("/api/shoots?status=running");
  await get("/api/shoots?status=running&flagged=true");
  await get("/api/shoots?flagged=false");
  await get("/api/shoots?stage=plan");
  await get(`/api/shoots/${ids.running}`);
  await get(`/api/shoots/${ids.done}/events`); // the live stream: ends after the final event
  await get(`/api/shoots/${ids.done}/pack`);
  await get(`/api/shoots/${ids.compacted}`);
  await get(`/api/shoots/${ids.compacted}/events`);
  const batches = (await (await get("/api/batches?limit=1")).json()) as { nextCursor: string | null };
  if (batches.nextCursor) await get(`/api/batches?limit=1&cursor=${encodeURIComponent(batches.nextCursor)}`);
  await get(`/api/batches/${ids.batch}`);
  await get(`/api/batches/${ids.batch}/report`);
  await get("/api/recipes");
  await get("/api/recipes/look");
  await get("/api/webhook-endpoints");
  await get(`/api/webhook-endpoints/${ids.endpoint}`);
  await get(`/api/webhook-endpoints/${ids.endpoint}/deliveries`);
}

/** Each db function with arguments that reach its statements. */
async function runDbFunctions() {
  const sh = ids.running;
  const job = `${sh}-frames-0-1`;
  const result: JobResult = { status: "succeeded", outputUrl: "https://provider.test/x" } as JobResult;
  const event = { shootId: sh, accountId, type: "job.completed" as const, data: { job, provider: "fal" } };
  const A = accountsDb;
  const key = await dbCall("accounts.createAccountWithKey", () => A.createAccountWithKey(d, "another"));
  await dbCall("accounts.accountForKey", () => A.accountForKey(d, key.apiKey));
  await dbCall("accounts.touchKey", () => A.touchKey(d, key.keyId));
  await dbCall("accounts.revokeKey", () => A.revokeKey(d, key.keyId));

  const J = jobsDb;
  await dbCall("jobs.ensureJob", () =>
    J.ensureJob(d, { id: job, shootId: sh, accountId, type: "provider", provider: "fal", stage: "frames", status: "pending" }),
  );
  await dbCall("jobs.getJob", () => J.getJob(d, job));
  await dbCall("jobs.markSubmitting", () => J.markSubmitting(d, job));
  await dbCall("jobs.adoptExternalId", () => J.adoptExternalId(d, job, "ext-1"));
  await dbCall("jobs.markSubmitted", () => J.markSubmitted(d, job, "ext-1"));
  await dbCall("jobs.jobByExternalId", () => J.jobByExternalId(d, "fal", "ext-1"));
  await dbCall("jobs.noteDispatchError", () => J.noteDispatchError(d, job, "x"));
  await dbCall("jobs.countDispatch", () => J.countDispatch(d, job, 2));
  await dbCall("jobs.finishJob", () => J.finishJob(d, job, result, 0.1, event));
  await dbCall("jobs.markRefused", () => J.markRefused(d, job, "no"));
  await dbCall("jobs.stalledJobs", () => J.stalledJobs(d, "provider", new Date()));
  await dbCall("jobs.jobsForShoot", () => J.jobsForShoot(d, sh));

  const S = shootsDb;
  await dbCall("shoots.insertShoot", () => S.insertShoot(d, { id: "sh_qp_new", accountId, brief: "b", params: params as never, idempotencyKey: "qp-new" }));
  await dbCall("shoots.getShoot", () => S.getShoot(d, accountId, sh));
  await dbCall("shoots.getShootById", () => S.getShootById(d, sh));
  await dbCall("shoots.shootByIdempotencyKey", () => S.shootByIdempotencyKey(d, accountId, "qp-new"));
  await dbCall("shoots.updateShoot", () => S.updateShoot(d, "sh_qp_new", { stage: "hero" }));
  await dbCall("shoots.finishShoot", () => S.finishShoot(d, "sh_qp_new", "cancelled"));
  await dbCall("shoots.runningShoots", () => S.runningShoots(d, accountId));
  await dbCall("shoots.listShoots", () => S.listShoots(d, accountId, { limit: 10, status: "running", flagged: true, cursor: { createdAt: ago(0), id: "z" } }));
  await dbCall("shoots.deleteShoot", () => S.deleteShoot(d, "sh_qp_new"));

  const E = eventsDb;
  await dbCall("events.logEvent", () =>
    E.logEvent(d, { shootId: sh, accountId, type: "shoot.woken", data: { stage: "hero", idleSeconds: 1, instance: "running" } }),
  );
  await dbCall("events.eventsSince", () => E.eventsSince(d, sh, 1));

  const C = checkpointsDb;
  await dbCall("checkpoints.openCheckpoint", () =>
    C.openCheckpoint(d, {
      shootId: sh,
      stage: "plan",
      attempt: 1,
      artifacts: { assets: [] },
      timeoutPolicy: "expire",
      expiresAt: null,
      autoApprove: false,
    } as never).catch(() => undefined),
  );
  await dbCall("checkpoints.pendingCheckpoint", () => C.pendingCheckpoint(d, sh));
  await dbCall("checkpoints.resolveCheckpoint", () => C.resolveCheckpoint(d, `${sh}-hero-1`, "approved", null, "qp"));
  await dbCall("checkpoints.reopenCheckpoint", () => C.reopenCheckpoint(d, `${sh}-hero-1`));
  await dbCall("checkpoints.checkpointsForShoot", () => C.checkpointsForShoot(d, sh));
  await dbCall("checkpoints.approvedArtifacts", () => C.approvedArtifacts(d, sh));

  const As = assetsDb;
  const stored = { key: `accounts/${accountId}/shoots/${sh}/hero/qp.png`, bytes: 1, mime: "image/png", sha256: "x" };
  const asset = await dbCall("assets.recordAsset", () => As.recordAsset(d, { accountId, shootId: sh, kind: "hero", stored: stored as never }));
  await dbCall("assets.getAssetById", () => As.getAssetById(d, asset.id));
  await dbCall("assets.assetsByIds", () => As.assetsByIds(d, accountId, [asset.id]));
  await dbCall("assets.assetsForShoot", () => As.assetsForShoot(d, sh));

  const P = packsDb;
  await dbCall("packs.createPack", () => P.createPack(d, { shootId: sh, accountId, version: 1, channels: [] }));
  await dbCall("packs.latestPack", () => P.latestPack(d, sh));
  await dbCall("packs.getPack", () => P.getPack(d, P.packId(sh, 1)));
  await dbCall("packs.finishPack", () => P.finishPack(d, P.packId(sh, 1), "failed", "x"));
  await dbCall("packs.packAssets", () => P.packAssets(d, sh, 1));

  const B = batchesDb;
  const b = "ba_qp_fn";
  await dbCall("batches.insertBatch", () =>
    B.insertBatch(d, { id: b, accountId, idempotencyKey: "qp-fn", review: null, presets: null, budgetUsd: 10 }, [
      { index: 0, idempotencyKey: "f0", shootId: sh, brief: "b", params: params as never, quoteUsd: 1 },
    ]),
  );
  await dbCall("batches.getBatch", () => B.getBatch(d, accountId, b));
  await dbCall("batches.rowsOfBatch", () => B.rowsOfBatch(d, b));
  await dbCall("batches.rowsByIndex", () => B.rowsByIndex(d, b, [0]));
  await dbCall("batches.admitRow", () => B.admitRow(d, b, 0));
  await dbCall("batches.committedUsd", () => B.committedUsd(d, b));
  await dbCall("batches.markRows", () => B.markRows(d, b, [0], { state: "queued" }));
  // Parked for room, so unparkNextRow takes it (its read and its update both run).
  await dbCall("batches.noteRowFailure", () => B.noteRowFailure(d, b, 0, "waiting for a running shoot to finish (1 of 1 running)"));
  await dbCall("batches.unparkNextRow", () => B.unparkNextRow(d, b, "waiting for a running shoot"));
  await dbCall("batches.accountsWithStaleRows", () => B.accountsWithStaleRows(d, ago(0)));
  await dbCall("batches.staleQueuedRows", () => B.staleQueuedRows(d, accountId, ago(0), 10));
  await dbCall("batches.touchRows", () => B.touchRows(d, [{ batchId: b, index: 0 }], "waiting for a running shoot"));
  await dbCall("batches.rowsWithShoots", () => B.rowsWithShoots(d, b));
  await dbCall("batches.batchCost", () => B.batchCost(d, b));
  await dbCall("batches.completeBatchIfDone", () => B.completeBatchIfDone(d, b));
  await dbCall("batches.recordOutcome", () => B.recordOutcome(d, sh, "failed"));
  await dbCall("batches.batchIdsOfShoot", () => B.batchIdsOfShoot(d, sh));
  await dbCall("batches.reopenBatch", () => B.reopenBatch(d, b));
  await dbCall("batches.listBatches", () => B.listBatches(d, accountId, { limit: 10, cursor: { createdAt: ago(0), id: "z" } }));
  await dbCall("batches.stateCounts", () => B.stateCounts(d, [b, ids.batch]));
  await dbCall("batches.waitingShoots", () => B.waitingShoots(d, b));
  await dbCall("batches.setBatchBudget", () => B.setBatchBudget(d, b, 20));

  const W = webhooksDb;
  await dbCall("webhooks.getEndpoint", () => W.getEndpoint(d, accountId, ids.endpoint));
  await dbCall("webhooks.getEndpointById", () => W.getEndpointById(d, ids.endpoint));
  await dbCall("webhooks.endpointsOf", () => W.endpointsOf(d, accountId));
  await dbCall("webhooks.activeEndpoints", () => W.activeEndpoints(d, accountId));
  const delivery = (await dbCall("webhooks.getDelivery", () => W.getDelivery(d, ids.delivery)))!;
  await dbCall("webhooks.deliveriesOf", () => W.deliveriesOf(d, ids.endpoint, 50));
  await dbCall("webhooks.recordAttempt", () =>
    W.recordAttempt(d, delivery, { attempt: delivery.attempts + 1, status: 500, error: null, durationMs: 1 }, { status: "pending", nextAttemptAt: ago(0) }),
  );
  await dbCall("webhooks.attemptsOf", () => W.attemptsOf(d, [ids.delivery]));
  await dbCall("webhooks.overdueDeliveries", () => W.overdueDeliveries(d, ago(0)));

  const R = recipesDb;
  await dbCall("recipes.saveRecipe", () => R.saveRecipe(d, accountId, "look", { aspectRatio: "9:16" } as never));
  await dbCall("recipes.findRecipe", () => R.findRecipe(d, accountId, "look@1"));
  await dbCall("recipes.recipeVersions", () => R.recipeVersions(d, accountId, "look"));
  await dbCall("recipes.latestRecipes", () => R.latestRecipes(d, accountId));

  // The workflow's own reads outside src/db.
  await as("workflow spentUsd", () => spentUsd(recEnv, d, sh));
  await as("quality recordJudgeCall", () =>
    recordJudgeCall(d, { shootId: sh, accountId, stage: "hero", attempt: 1, outcome: { status: "error", reason: "x", model: "judge", costUsd: 0 } }),
  );
}

interface Finding {
  query: string;
  detail: string;
}

/** Table names and their aliases as the statement writes them (`from shoots s`, `join batch_rows r`). */
function aliasesOf(sql: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of sql.matchAll(/(?:\bfrom|\bjoin|,)\s+"?(\w+)"?(?:\s+(?:as\s+)?"?(\w+)"?)?/gi)) {
    const [, table, alias] = m;
    if (!table || !TABLES.has(table)) continue;
    out.set(table, table);
    if (alias && !/^(where|on|left|inner|join|order|group|limit|set|using|natural|cross|select|values)$/i.test(alias)) out.set(alias, table);
  }
  return out;
}

async function plan(c: Captured) {
  const res = await env.DB.prepare(`EXPLAIN QUERY PLAN ${c.sql}`)
    .bind(...c.params)
    .all<{ detail: string }>();
  return res.results.map((r) => r.detail);
}

function judge(c: Captured, details: string[]): { fails: Finding[]; notes: Finding[] } {
  const query = `[${[...c.from].join("; ")}] ${c.sql.replace(/\s+/g, " ").slice(0, 240)}`;
  const aliases = aliasesOf(c.sql);
  const derived = new Set(details.flatMap((d) => d.match(/^(?:MATERIALIZE|CO-ROUTINE) (\S+)/)?.[1] ?? []));
  const fails: Finding[] = [];
  const notes: Finding[] = [];
  for (const detail of details) {
    if (/TEMP B-TREE/.test(detail)) notes.push({ query, detail });
    const scan = detail.match(/^SCAN (\S+)/);
    const auto = detail.match(/^SEARCH (\S+) USING AUTOMATIC/);
    const name = scan?.[1] ?? auto?.[1];
    if (!name || name === "CONSTANT" || /VIRTUAL TABLE/.test(detail)) continue;
    const table = aliases.get(name) ?? (TABLES.has(name) ? name : undefined);
    if (!table) {
      if (!derived.has(name)) fails.push({ query, detail: `${detail} (unknown table)` });
      continue;
    }
    if (table in SMALL) notes.push({ query, detail: `${detail} (allowed: ${SMALL[table]})` });
    else fails.push({ query, detail });
  }
  return { fails, notes };
}

describe("query plans (issue 21)", () => {
  beforeAll(async () => {
    await seed();
    await runCrons();
    await runApi();
    await runDbFunctions();
  });

  it("runs every cron job's per-item path, and every exported src/db function", () => {
    const sources = new Set([...captured.values()].flatMap((c) => [...c.from]));
    for (const cron of ["watchdog", "recovery", "retention", "compaction", "batch row resend", "webhook resend"])
      expect(
        [...sources].some((s) => s.startsWith(`cron: ${cron}`)),
        cron,
      ).toBe(true);
    // Per-item paths taken: a media job re-sent, a stranded shoot finished, an old shoot and an upload deleted, a row and a delivery re-sent.
    expect(sent.length).toBeGreaterThanOrEqual(4);
    // The live stream's route reads the shoot; its poll (events.eventsSince) runs in the shoot's
    // feed object (src/live/shoot-feed.ts) and is planned below with every db function.
    const stream = [...captured.values()].filter((c) => c.from.has(`GET /api/shoots/${ids.done}/events`));
    expect(stream.some((c) => c.sql.includes('from "shoots"'))).toBe(true);
    const missing = Object.entries(DB_MODULES).flatMap(([mod, m]) =>
      Object.entries(m)
        .filter(([, v]) => typeof v === "function")
        .map(([name]) => `${mod}.${name}`)
        .filter((n) => !called.has(n) && !NO_SQL.has(n)),
    );
    expect(missing, "db functions this test does not call").toEqual([]);
  });

  it("reads no table that grows with shoots in full", async () => {
    const fails: Finding[] = [];
    const notes: Finding[] = [];
    for (const c of captured.values()) {
      const details = await plan(c);
      const r = judge(c, details);
      fails.push(...r.fails);
      notes.push(...r.notes);
    }
    console.log(`query plans: ${captured.size} statements planned\n${notes.map((n) => `  note: ${n.detail}\n    ${n.query}`).join("\n")}`);
    expect(fails.map((f) => `${f.detail}\n    ${f.query}`)).toEqual([]);
  });
});
