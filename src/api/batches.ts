/**
 * Batches: intake (JSON shoot specs or a CSV upload; every row validated before anything is
 * written), status (counts per stage and state, cost, each shoot, failures) and retry. Rows are
 * written to D1 first and then queued; the submission consumer (src/batches/submissions.ts) places them.
 */
import { createRoute, type z } from "@hono/zod-openapi";
import { assetsByIds } from "../db/assets.ts";
import {
  batchCost,
  completeBatchIfDone,
  getBatch,
  insertBatch,
  listBatches,
  rowsOfBatch,
  rowState,
  rowsWithShoots,
  stateCounts,
  waitingShoots,
  type BatchRecord,
} from "../db/batches.ts";
import { db, type Db } from "../db/client.ts";
import { STAGES } from "../domain/contract.ts";
import { batchSettingsFromFields, CreateBatchSchema, canonical, resolveRows, rowsFromCsv } from "../batches/spec.ts";
import { enqueueRows, retryRows, rowShootId } from "../batches/submissions.ts";
import { emitBatchCompleted } from "../notify/emit.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { requireApiKey } from "./auth.ts";
import * as B from "./batch-schemas.ts";
import { router } from "./openapi.ts";
import * as S from "./schemas.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { badRequest, conflict, fieldErrors, notFound, Problem, type FieldError } from "./problem.ts";

const MAX_CSV_BYTES = 2_000_000;
const BatchSettingsSchema = CreateBatchSchema.omit({ shoots: true });
const tags = ["batches"];

const createBatchRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createBatch",
  summary: "Submit a batch of shoots",
  description:
    "JSON `{ shoots, review?, presets?, idempotencyKey? }`; or a CSV body (`text/csv`, batch settings as query parameters `review`, `pose`, `background`, `style`, `idempotencyKey`); or multipart with the CSV in field `file` and the same settings as fields. CSV columns: brief, references (upload ids separated by spaces or `;`), pose, background, style, aspectRatio, review (`;`-separated, or `none`), idempotencyKey. Every row is validated before anything is created; errors name `shoots[i].field` (JSON) or `rows[i].column` (CSV). Submitting the same batch again returns it (200) with the same shoot ids.",
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
          schema: { type: "object", properties: { file: { type: "string", format: "binary" }, review: { type: "string" } }, required: ["file"] },
        },
      },
    },
  },
  responses: {
    202: S.json(B.BatchAccepted, "Recorded and queued"),
    200: S.json(B.BatchStatus, "The same batch, submitted before"),
    ...S.problems(400, 401, 409, 415),
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

const retryRoute = createRoute({
  method: "post",
  path: "/{id}/retry",
  operationId: "retryBatch",
  summary: "Retry dead rows (placed again, same shoot id) and failed shoots (a new shoot for the row)",
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
  const contentType = c.req.header("content-type") ?? "";
  // The route's body has non-zod content types (CSV, multipart), so zod-openapi types no validated
  // input for it; a JSON body is validated against B.CreateBatch all the same.
  const json = /application\/json/i.test(contentType) ? (c.req.valid("json" as never) as z.output<typeof B.CreateBatch>) : null;
  const { rows, settings, prefix } = await readSubmission(c.req.raw, contentType, json, (k) => c.req.query(k));

  const resolved = await resolveRows(rows, settings, { checkpointTimeout: c.env.CHECKPOINT_TIMEOUT }, prefix);
  const errors: FieldError[] = [...resolved.errors, ...(await referenceErrors(d, accountId, rows, prefix))];
  if (errors.length) throw badRequest(errors);

  const keys = resolved.rows.map((r) => r.idempotencyKey);
  const batchKey =
    settings.idempotencyKey ??
    c.req.header("idempotency-key") ??
    `rows-${(await sha256Hex(canonical({ keys, review: settings.review, presets: settings.presets }))).slice(0, 32)}`;
  const batchId = `ba_${(await sha256Hex(`${accountId}\nbatch\n${batchKey}`)).slice(0, 24)}`;
  const withIds = await Promise.all(resolved.rows.map(async (r) => ({ ...r, shootId: await rowShootId(accountId, r.idempotencyKey, 1) })));

  const isNew = await insertBatch(
    d,
    { id: batchId, accountId, idempotencyKey: batchKey, review: settings.review ?? null, presets: settings.presets ?? null },
    withIds,
  );
  if (!isNew) {
    const existing = await rowsOfBatch(d, batchId);
    if (existing.length !== keys.length || existing.some((r, i) => r.idempotencyKey !== keys[i])) {
      throw conflict(`the idempotency key "${batchKey}" was used for a different batch`);
    }
    return c.json(await batchStatus(c.env, d, (await getBatch(d, accountId, batchId))!), 200);
  }
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
      shoots: withIds.map((r) => ({ index: r.index, id: r.shootId, idempotencyKey: r.idempotencyKey })),
    },
    202,
  );
});

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

batchesApi.openapi(retryRoute, async (c) => {
  const d = db(c.env.DB);
  const batch = await getBatch(d, c.get("accountId"), c.req.valid("param").id);
  if (!batch) throw notFound(`batch ${c.req.valid("param").id}`);
  const body = (c.req.header("content-type") ?? "").includes("json") ? c.req.valid("json") : {};
  return c.json(await retryRows(c.env, d, batch.id, body?.shoots), 202);
});

/** Rows and batch settings from JSON, a CSV body (settings in the query) or a multipart upload (field `file`). */
async function readSubmission(req: Request, contentType: string, json: z.infer<typeof CreateBatchSchema> | null, query: (k: string) => string | undefined) {
  let rows: unknown[];
  let rawSettings: unknown;
  let prefix = "shoots";
  if (json) {
    // Validated by the route's schema (its shape only; rows are checked one by one below).
    rows = json.shoots;
    rawSettings = { review: json.review, presets: json.presets, idempotencyKey: json.idempotencyKey };
  } else if (/text\/csv/i.test(contentType) || /multipart\/form-data/i.test(contentType)) {
    let text: string;
    if (/text\/csv/i.test(contentType)) {
      text = await req.text();
      rawSettings = batchSettingsFromFields(query);
    } else {
      const form = await req.formData().catch(() => null);
      const file = form?.get("file");
      if (!form || !file || typeof file === "string") throw badRequest([{ field: "file", message: "attach the CSV as the multipart field `file`" }]);
      text = await file.text();
      rawSettings = batchSettingsFromFields((k) => {
        const v = form.get(k);
        return typeof v === "string" ? v : undefined;
      });
    }
    if (text.length > MAX_CSV_BYTES) throw new Problem(413, "Too large", `a CSV batch is at most ${MAX_CSV_BYTES} bytes`);
    const csv = rowsFromCsv(text);
    if (csv.errors.length) throw badRequest(csv.errors);
    rows = csv.rows;
    prefix = "rows";
  } else {
    throw new Problem(415, "Unsupported media type", "send application/json, text/csv or multipart/form-data with a `file`");
  }
  const settings = BatchSettingsSchema.safeParse(rawSettings);
  if (!settings.success) throw badRequest(fieldErrors(settings.error));
  return { rows, settings: settings.data, prefix };
}

/** Every reference must be an upload of this account; errors name the row and the position. */
async function referenceErrors(d: Db, accountId: string, rows: unknown[], prefix: string): Promise<FieldError[]> {
  const refsOf = (r: unknown) =>
    Array.isArray((r as { references?: unknown })?.references)
      ? ((r as { references: unknown[] }).references.filter((x) => typeof x === "string") as string[])
      : [];
  const ids = [...new Set(rows.flatMap(refsOf))];
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += 90) {
    for (const a of await assetsByIds(d, accountId, ids.slice(i, i + 90))) if (a.kind === "reference") known.add(a.id);
  }
  return rows.flatMap((r, i) =>
    refsOf(r)
      .map((id, j) => ({ id, j }))
      .filter(({ id }) => !known.has(id))
      .map(({ j }) => ({ field: `${prefix}[${i}].references[${j}]`, message: "is not an upload of this account" })),
  );
}

export async function batchStatus(env: Env, d: Db, batch: BatchRecord) {
  if (batch.status === "open" && (await completeBatchIfDone(d, batch.id))) {
    await emitBatchCompleted(env, d, batch.id);
    batch = { ...batch, status: "completed" };
  }
  const [rows, costUsd, waiting] = await Promise.all([rowsWithShoots(d, batch.id), batchCost(d, batch.id), waitingShoots(d, batch.id)]);
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
      reason: r.state === "dead" ? r.rowError : r.shootError,
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
    counts: { byState, byStage },
    costUsd,
    shoots: rows.map((r) => ({
      index: r.index,
      id: r.shootId,
      idempotencyKey: r.idempotencyKey,
      state: state(r),
      stage: r.stage ?? null,
      attempt: r.attempt,
      error: r.state === "dead" ? r.rowError : (r.shootError ?? null),
      waiting: rowState(r) === "running" ? (waiting.get(r.shootId) ?? null) : null,
      previousShootIds: (r.history as string[] | null) ?? [],
    })),
    failures,
  };
}
