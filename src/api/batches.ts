/**
 * Batches: intake (JSON shoot specs or a CSV upload; every row validated before anything is
 * written), status (counts per stage and state, cost, each shoot, failures) and retry. Rows are
 * written to D1 first and then queued; the submission consumer (src/batches/submissions.ts) places them.
 */
import { createRoute, z } from "@hono/zod-openapi";
import {
  batchCost,
  committedUsd,
  completeBatchIfDone,
  getBatch,
  insertBatch,
  listBatches,
  rowsOfBatch,
  rowState,
  rowsWithShoots,
  setBatchBudget,
  stateCounts,
  waitingShoots,
  type BatchRecord,
} from "../db/batches.ts";
import { isCapacityWait } from "../batches/admission.ts";
import { db, type Db } from "../db/client.ts";
import { REVIEW_POLICIES, STAGES } from "../domain/contract.ts";
import { prepareBatch, readSubmission, type PreparedBatch } from "../batches/intake.ts";
import { storePhotos } from "../batches/photos.ts";
import { REPORT_URL_TTL_SECONDS, reportCsv, reportJson } from "../batches/report.ts";
import { canonical } from "../lib/canonical.ts";
import { roundUsd } from "../lib/prices.ts";
import { enqueueRows, retryRows, rowShootId } from "../batches/submissions.ts";
import { emitBatchCompleted } from "../notify/emit.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { requireApiKey } from "./auth.ts";
import * as B from "./batch-schemas.ts";
import { router } from "./openapi.ts";
import * as S from "./schemas.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { conflict, notFound } from "./problem.ts";

const tags = ["batches"];

const createBatchRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createBatch",
  summary: "Submit a batch of shoots (or, with `dryRun`, quote it)",
  description: [
    "Three ways in. JSON `{ shoots, review?, reviewPolicy?, autoFix?, presets?, recipe?, budgetUsd?, idempotencyKey?, dryRun? }`. A CSV body (`text/csv`; batch settings as query parameters). Multipart: the sheet (CSV or JSON) in `file`, the photos in `photos` (many files, zips, or both), the batch settings as fields (`review`, `reviewPolicy`, `autoFix`, `pose`, `background`, `style`, `recipe`, `budgetUsd`, `idempotencyKey`, `dryRun`).",
    "CSV columns: sku, brief, references, roles (what each reference shows, in order: `model`, `garment`, `accessory` or `-`), recipe, pose, background, style, aspectRatio, review (`;`-separated, or `none`), reviewPolicy (`always` or `flagged`), autoFix (`true`/`false`), budgetUsd (per shoot), idempotencyKey. A reference is the file name of a photo sent with the batch, an https URL (fetched by the service; non-public addresses and redirects to them are refused before any connection), or an upload id.",
    "Every row and every photo is checked before anything is created; errors name `rows[i].column` (a sheet), `shoots[i].field` (JSON) or `photos[i]` with the file's name. A photo is stored once per account, by content. The same request again returns the same batch (200) with the same shoot ids; with `dryRun` it answers the quote (200, `BatchQuote`) and changes nothing.",
  ].join("\n\n"),
  tags,
  security: S.bearer,
  request: {
    body: {
      // Not `required`: that would validate a CSV body against the JSON schema. The handler refuses a missing body.
      content: {
        "application/json": { schema: B.CreateBatch },
        "text/csv": { schema: { type: "string", description: "CSV with a header row" } },
        // A plain schema (not zod): the handler reads the form itself.
        "multipart/form-data": {
          schema: {
            type: "object",
            properties: {
              file: { type: "string", format: "binary", description: "The sheet: CSV, or JSON (an array of rows or `{ shoots, ...settings }`)" },
              photos: { type: "array", items: { type: "string", format: "binary" }, description: "PNG, JPEG or WebP files, or zips of them" },
              review: { type: "string", description: "`none`, or stages separated by `;`" },
              reviewPolicy: { type: "string", enum: [...REVIEW_POLICIES], description: "`flagged`: a reviewed stage waits only when a check flags" },
              autoFix: { type: "string", enum: ["true", "false"], description: "Regenerate a flagged item once before anyone is asked" },
              pose: { type: "string" },
              background: { type: "string" },
              style: { type: "string" },
              recipe: { type: "string" },
              budgetUsd: { type: "string", description: "The batch budget in USD" },
              idempotencyKey: { type: "string" },
              dryRun: { type: "string", enum: ["true", "false"] },
            },
            required: ["file"],
          },
        },
      },
    },
  },
  responses: {
    202: S.json(B.BatchAccepted, "Recorded and queued"),
    200: S.json(z.union([B.BatchStatus, B.BatchQuote]), "The same batch, submitted before; or, for a dry run, the quote"),
    ...S.problems(400, 401, 409, 413, 415),
  },
});

const listBatchesRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listBatches",
  summary: "List batches, newest first, with counts per state",
  tags,
  security: S.bearer,
  request: { query: B.BatchListQuery },
  responses: { 200: S.json(B.BatchList, "A page of batches"), ...S.problems(400, 401) },
});

const getBatchRoute = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getBatch",
  summary: "Batch status: counts per stage and state, cost, each shoot, failures with a retry",
  tags,
  security: S.bearer,
  request: { params: B.BatchIdParam },
  responses: { 200: S.json(B.BatchStatus, "The batch"), ...S.problems(401, 404) },
});

const reportRoute = createRoute({
  method: "get",
  path: "/{id}/report",
  operationId: "getBatchReport",
  summary: "The batch's report per SKU: shoot, state, stage, cost, flags and signed URLs of the approved hero, frames and reel",
  description: `\`format=csv\` streams a spreadsheet, one row per SKU; \`format=json\` answers the same rows. URLs expire after ${REPORT_URL_TTL_SECONDS / 86400} days.`,
  tags,
  security: S.bearer,
  request: { params: B.BatchIdParam, query: B.BatchReportQuery },
  responses: {
    200: {
      description: "The report",
      content: {
        "application/json": { schema: B.BatchReport },
        "text/csv": {
          schema: {
            type: "string" as const,
            description: "sku, row, shoot_id, state, stage, cost_usd, quote_usd, flags, error, hero_url, frame_1_url … frame_6_url, reel_url",
          },
        },
      },
    },
    ...S.problems(400, 401, 404),
  },
});

const retryRoute = createRoute({
  method: "post",
  path: "/{id}/retry",
  operationId: "retryBatch",
  summary:
    "Retry dead and held rows (placed again, same shoot id; held ones while the budget, raised or not, allows) and failed shoots (a new shoot for the row)",
  tags,
  security: S.bearer,
  request: { params: B.BatchIdParam, body: { required: false, content: { "application/json": { schema: B.BatchRetry } } } },
  responses: { 202: S.json(B.BatchRetried, "Queued again"), ...S.problems(400, 401, 404, 415) },
});

export const batchesApi = router();
batchesApi.use(requireApiKey);

batchesApi.openapi(createBatchRoute, async (c) => {
  const accountId = c.get("accountId");
  const d = db(c.env.DB);
  // The route's body has non-zod content types (CSV, multipart), so zod-openapi types no validated
  // input for it; a JSON body is validated against B.CreateBatch all the same.
  const json = /application\/json/i.test(c.req.header("content-type") ?? "") ? (c.req.valid("json" as never) as z.output<typeof B.CreateBatch>) : null;
  const batch = await prepareBatch(c.env, d, accountId, await readSubmission(c.req.raw, json, (k) => c.req.query(k)));
  const { settings } = batch;
  if (settings.dryRun) return c.json(quoteOf(batch), 200);

  const keys = batch.rows.map((r) => r.idempotencyKey);
  const batchKey =
    settings.idempotencyKey ??
    c.req.header("idempotency-key") ??
    `rows-${(await sha256Hex(canonical({ keys, review: settings.review, presets: settings.presets, recipe: settings.recipe, budgetUsd: settings.budgetUsd }))).slice(0, 32)}`;
  const batchId = `ba_${(await sha256Hex(`${accountId}\nbatch\n${batchKey}`)).slice(0, 24)}`;
  const withIds = await Promise.all(batch.rows.map(async (r) => ({ ...r, shootId: await rowShootId(accountId, r.idempotencyKey, 1) })));

  const existing = await getBatch(d, accountId, batchId);
  if (existing) {
    const rows = await rowsOfBatch(d, batchId);
    if (rows.length !== keys.length || rows.some((r, i) => r.idempotencyKey !== keys[i])) {
      throw conflict(`the idempotency key "${batchKey}" was used for a different batch`);
    }
    return c.json(await batchStatus(c.env, d, existing), 200);
  }
  // Photos first (each once, by content): a batch row never names a photo that is not stored.
  await storePhotos(c.env.BUCKET, d, accountId, batch.photos);
  const isNew = await insertBatch(
    d,
    {
      id: batchId,
      accountId,
      idempotencyKey: batchKey,
      review: settings.review ?? null,
      presets: settings.presets ?? null,
      recipe: batch.recipe ? `${batch.recipe.name}@${batch.recipe.version}` : null,
      budgetUsd: settings.budgetUsd ?? null,
    },
    withIds,
  );
  if (!isNew) return c.json(await batchStatus(c.env, d, (await getBatch(d, accountId, batchId))!), 200);
  try {
    await enqueueRows(
      c.env,
      withIds.map((r) => ({ batchId, index: r.index })),
    );
  } catch (err) {
    // The rows are recorded; the watchdog re-sends rows that stay queued, so none is lost.
    console.error(JSON.stringify({ msg: "submission enqueue failed", batch: batchId, error: String(err) }));
  }
  return c.json(
    {
      id: batchId,
      status: "open" as const,
      total: withIds.length,
      quoteUsd: roundUsd(batch.rows.reduce((s, r) => s + r.quoteUsd, 0)),
      shoots: withIds.map((r) => ({ index: r.index, sku: r.sku, id: r.shootId, idempotencyKey: r.idempotencyKey })),
    },
    202,
  );
});

/** The dry run's answer: what each row would cost and what its references resolved to. */
function quoteOf(batch: PreparedBatch) {
  const totalUsd = roundUsd(batch.rows.reduce((s, r) => s + r.quoteUsd, 0));
  const cap = batch.settings.budgetUsd ?? null;
  // Rows are placed in order, so the budget admits a prefix of them.
  let placeable = 0;
  let committed = 0;
  for (const r of batch.rows) {
    committed += r.quoteUsd;
    if (cap !== null && committed > cap + 1e-9) break;
    placeable++;
  }
  return {
    dryRun: true as const,
    total: batch.rows.length,
    totalUsd,
    budgetUsd: cap,
    withinBudget: cap === null || totalUsd <= cap + 1e-9,
    placeable,
    recipe: batch.recipe ? `${batch.recipe.name}@${batch.recipe.version}` : null,
    photos: { used: batch.photos.length, unused: batch.unusedPhotos },
    rows: batch.rows.map((r) => ({
      index: r.index,
      sku: r.sku,
      brief: r.brief,
      recipe: r.params.recipe ? `${r.params.recipe.name}@${r.params.recipe.version}` : null,
      review: r.params.review,
      costUsd: r.quoteUsd,
      references: r.references,
    })),
  };
}

batchesApi.openapi(listBatchesRoute, async (c) => {
  const q = c.req.valid("query");
  const d = db(c.env.DB);
  const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
  const rows = await listBatches(d, c.get("accountId"), { cursor, limit: q.limit });
  const page = rows.slice(0, q.limit);
  const counts = await stateCounts(
    d,
    page.map((b) => b.id),
  );
  const last = page[page.length - 1];
  return c.json(
    {
      batches: page.map((b) => ({
        id: b.id,
        status: b.status,
        total: b.total,
        createdAt: b.createdAt,
        completedAt: b.completedAt,
        counts: Object.fromEntries(counts.filter((n) => n.batchId === b.id).map((n) => [n.state, n.n])),
      })),
      nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null,
    },
    200,
  );
});

batchesApi.openapi(getBatchRoute, async (c) => {
  const d = db(c.env.DB);
  const batch = await getBatch(d, c.get("accountId"), c.req.valid("param").id);
  if (!batch) throw notFound(`batch ${c.req.valid("param").id}`);
  return c.json(await batchStatus(c.env, d, batch), 200);
});

batchesApi.openapi(reportRoute, async (c) => {
  const d = db(c.env.DB);
  const { id } = c.req.valid("param");
  const batch = await getBatch(d, c.get("accountId"), id);
  if (!batch) throw notFound(`batch ${id}`);
  const origin = new URL(c.req.url).origin;
  if (c.req.valid("query").format === "csv") {
    return c.body(reportCsv(c.env, d, batch.id, origin), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${batch.id}-report.csv"`,
      "cache-control": "no-store",
    });
  }
  const urlsExpireAt = new Date(Date.now() + REPORT_URL_TTL_SECONDS * 1000).toISOString();
  return c.json({ id: batch.id, urlsExpireAt, rows: await reportJson(c.env, d, batch.id, origin) }, 200);
});

batchesApi.openapi(retryRoute, async (c) => {
  const d = db(c.env.DB);
  const batch = await getBatch(d, c.get("accountId"), c.req.valid("param").id);
  if (!batch) throw notFound(`batch ${c.req.valid("param").id}`);
  const body = (c.req.header("content-type") ?? "").includes("json") ? c.req.valid("json") : {};
  if (body?.budgetUsd !== undefined) await setBatchBudget(d, batch.id, body.budgetUsd);
  return c.json(await retryRows(c.env, d, batch.id, body?.shoots), 202);
});

export async function batchStatus(env: Env, d: Db, batch: BatchRecord) {
  if (batch.status === "open" && (await completeBatchIfDone(d, batch.id))) {
    await emitBatchCompleted(env, d, batch.id);
    batch = { ...batch, status: "completed" };
  }
  const [rows, costUsd, waiting, committed] = await Promise.all([
    rowsWithShoots(d, batch.id),
    batchCost(d, batch.id),
    waitingShoots(d, batch.id),
    batch.budgetUsd == null ? 0 : committedUsd(d, batch.id),
  ]);
  const state = rowState;
  const byState: Record<string, number> = {};
  const byStage: Record<string, Record<string, number>> = Object.fromEntries(STAGES.map((s) => [s, {}]));
  for (const r of rows) {
    const s = state(r);
    byState[s] = (byState[s] ?? 0) + 1;
    if (r.state === "created" && r.stage) byStage[r.stage][s] = (byStage[r.stage][s] ?? 0) + 1;
  }
  const failures = rows
    .filter((r) => r.state === "dead" || rowState(r) === "failed")
    .map((r) => ({
      index: r.index,
      shootId: r.shootId,
      state: state(r),
      reason: r.state === "created" ? r.shootError : r.rowError,
      retry: `/api/batches/${batch.id}/retry`,
    }));
  return {
    id: batch.id,
    status: batch.status,
    total: batch.total,
    review: batch.review as string[] | null,
    presets: batch.presets as Record<string, unknown> | null,
    createdAt: batch.createdAt,
    completedAt: batch.completedAt,
    counts: {
      byState,
      byStage,
      flagged: rows.filter((r) => (r.flagged ?? 0) > 0).length,
      autoFixed: rows.reduce((n, r) => n + (r.autoFixed ?? 0), 0),
    },
    costUsd,
    recipe: batch.recipe,
    budget:
      batch.budgetUsd == null
        ? null
        : {
            capUsd: batch.budgetUsd,
            spentUsd: costUsd,
            committedUsd: committed,
            held: byState.held ?? 0,
            stopped: (byState.held ?? 0) > 0,
          },
    shoots: rows.map((r) => ({
      index: r.index,
      sku: r.sku,
      quoteUsd: r.quoteUsd,
      id: r.shootId,
      idempotencyKey: r.idempotencyKey,
      state: state(r),
      stage: r.stage ?? null,
      attempt: r.attempt,
      error: r.state === "created" ? (r.shootError ?? null) : r.state === "queued" ? null : r.rowError,
      waiting: rowState(r) === "running" ? (waiting.get(r.shootId) ?? null) : r.state === "queued" && isCapacityWait(r.rowError) ? r.rowError : null,
      flagged: r.flagged ?? 0,
      autoFixed: r.autoFixed ?? 0,
      previousShootIds: (r.history as string[] | null) ?? [],
    })),
    failures,
  };
}
