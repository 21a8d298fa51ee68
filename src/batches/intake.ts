/**
 * Catalogue intake: one request in, every row and every photo checked, nothing written. The route
 * (src/api/batches.ts) then answers the quote (dry run) or stores the photos and records the batch.
 *
 * A batch arrives as JSON (`{ shoots, ... }`), a CSV body (settings in the query), or multipart:
 * the sheet (CSV or JSON) in `file`, photos in `photos` (images or zips, many), settings as fields.
 */
import type { FieldError } from "../api/problem.ts";
import { badRequest, fieldErrors, Problem } from "../api/problem.ts";
import type { Db } from "../db/client.ts";
import { findRecipe, type Recipe } from "../db/recipes.ts";
import { quoteShootUsd } from "../lib/prices.ts";
import { collectPhotos, resolveReferences, type Photo, type ResolvedReference } from "./photos.ts";
import { type BatchSettings, CreateBatchSchema, type ResolvedRow, batchSettingsFromFields, resolveRows, rowsFromCsv } from "./spec.ts";

export const MAX_SHEET_BYTES = 2_000_000;
const BatchSettingsSchema = CreateBatchSchema.omit({ shoots: true });

export interface Submission {
  rows: unknown[];
  settings: BatchSettings;
  /** How errors name a row: `shoots[i]` (JSON) or `rows[i]` (a sheet). */
  prefix: "shoots" | "rows";
  photoParts: (File | string)[];
}

/** Rows, settings and photo parts from a JSON body, a CSV body or a multipart form. */
export async function readSubmission(
  req: Request,
  json: ({ shoots: unknown[] } & Record<string, unknown>) | null,
  query: (k: string) => string | undefined,
): Promise<Submission> {
  const contentType = req.headers.get("content-type") ?? "";
  if (json) {
    // Validated by the route's schema (its shape only; rows are checked one by one later).
    const { shoots, ...rawSettings } = json;
    return { rows: shoots, settings: parseSettings(rawSettings), prefix: "shoots", photoParts: [] };
  }
  if (/text\/csv/i.test(contentType)) {
    const text = await req.text();
    return { ...sheetRows(text, "csv"), settings: parseSettings(batchSettingsFromFields(query)), photoParts: [] };
  }
  if (/multipart\/form-data/i.test(contentType)) {
    const form = await req.formData().catch(() => null);
    if (!form) throw badRequest([{ field: "body", message: "is not valid multipart/form-data" }]);
    const file = form.get("file");
    if (!file || typeof file === "string") throw badRequest([{ field: "file", message: "attach the sheet (CSV or JSON) as the multipart field `file`" }]);
    const text = await file.text();
    const isJson = /\.json$/i.test(file.name) || /json/i.test(file.type) || /^\s*[[{]/.test(text);
    const fromForm = batchSettingsFromFields((k) => {
      const v = form.get(k);
      return typeof v === "string" ? v : undefined;
    }) as Record<string, unknown>;
    const sheet = sheetRows(text, isJson ? "json" : "csv");
    return { ...sheet, settings: parseSettings({ ...sheet.settings, ...fromForm }), photoParts: form.getAll("photos") };
  }
  throw new Problem(415, "Unsupported media type", "send application/json, text/csv, or multipart/form-data with the sheet in `file` and photos in `photos`");
}

/** A sheet's rows: CSV, or JSON as an array of rows or `{ shoots, ...settings }` (the JSON body's shape). */
function sheetRows(text: string, kind: "csv" | "json"): { rows: unknown[]; prefix: "rows"; settings?: Record<string, unknown> } {
  if (text.length > MAX_SHEET_BYTES)
    throw new Problem(413, "Too large", `a batch sheet is at most ${MAX_SHEET_BYTES} bytes`, [{ field: "file", message: "is too large" }]);
  if (kind === "csv") {
    const csv = rowsFromCsv(text);
    if (csv.errors.length) throw badRequest(csv.errors, { rows: rowsAsRead(csv.rows) });
    return { rows: csv.rows, prefix: "rows" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    throw badRequest([{ field: "file", message: `is not valid JSON (${err instanceof Error ? err.message : String(err)})` }]);
  }
  const { shoots, ...settings } = Array.isArray(value) ? { shoots: value } : ((value ?? {}) as { shoots?: unknown });
  const parsed = CreateBatchSchema.shape.shoots.safeParse(shoots);
  if (!parsed.success) throw badRequest([{ field: "rows", message: parsed.error.issues[0]?.message ?? "must be an array of rows" }]);
  return { rows: parsed.data, prefix: "rows", settings };
}

function parseSettings(raw: unknown): BatchSettings {
  const settings = BatchSettingsSchema.safeParse(raw);
  if (!settings.success) throw badRequest(fieldErrors(settings.error));
  return settings.data;
}

export interface PreparedRow extends ResolvedRow {
  quoteUsd: number;
  references: ResolvedReference[];
}

export interface PreparedBatch {
  rows: PreparedRow[];
  settings: BatchSettings;
  photos: Photo[];
  unusedPhotos: string[];
  recipe: Recipe | null;
}

/**
 * Everything checked, nothing written: photos (names, bytes, zips), URL references (fetched, never
 * toward a non-public address), upload ids, recipes, every row's fields. Throws one 400 with every
 * error, each naming its row and column or its file.
 */
export async function prepareBatch(env: Env, d: Db, accountId: string, sub: Submission): Promise<PreparedBatch> {
  const collected = await collectPhotos(accountId, sub.photoParts);
  const refs = await resolveReferences(env, d, accountId, sub.rows, collected.photos, sub.prefix);

  const names = new Set<string>();
  if (sub.settings.recipe) names.add(sub.settings.recipe);
  for (const r of sub.rows) {
    const name = (r as { recipe?: unknown })?.recipe;
    if (typeof name === "string" && name.length <= 80) names.add(name);
  }
  const recipes = new Map<string, Recipe>();
  for (const name of names) {
    const found = await findRecipe(d, accountId, name);
    if (found) recipes.set(name, found);
  }
  const resolved = await resolveRows(refs.rows, sub.settings, { checkpointTimeout: env.CHECKPOINT_TIMEOUT }, sub.prefix, recipes);
  const errors: FieldError[] = [...collected.errors, ...refs.errors, ...resolved.errors];
  if (errors.length) throw badRequest(sortErrors(errors), { rows: rowsAsRead(sub.rows) });
  return {
    rows: resolved.rows.map((r) => ({ ...r, quoteUsd: quoteShootUsd(env, r.params), references: refs.references[r.index] ?? [] })),
    settings: sub.settings,
    photos: refs.used,
    unusedPhotos: refs.unused,
    recipe: sub.settings.recipe ? (recipes.get(sub.settings.recipe) ?? null) : null,
  };
}

/** A refused batch's rows as read (references as written), so a client shows each error beside its row. */
function rowsAsRead(rows: unknown[]) {
  return rows.map((r, index) => {
    const o = (r && typeof r === "object" ? r : {}) as Record<string, unknown>;
    return {
      index,
      sku: typeof o.sku === "string" ? o.sku : null,
      brief: typeof o.brief === "string" ? o.brief : "",
      references: Array.isArray(o.references) ? o.references.filter((x): x is string => typeof x === "string") : [],
    };
  });
}

/** Files first, then rows in order: the order a person fixes them in. */
function sortErrors(errors: FieldError[]): FieldError[] {
  const key = (f: string) => {
    const m = /^(\w+)\[(\d+)\]/.exec(f);
    return m ? [m[1] === "photos" ? 0 : 1, Number(m[2])] : [0, -1];
  };
  return errors
    .map((e, i) => ({ e, i, k: key(e.field) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.i - b.i)
    .map((x) => x.e);
}
