/**
 * What a batch is: its request shapes (JSON or CSV rows), the per-row idempotency keys and the
 * shoot params each row resolves to. Pure, so the API and the consumer agree on one definition.
 */
import Papa from "papaparse";
import { z } from "zod";
import type { FieldError } from "../api/problem.ts";
import { STAGES } from "../domain/contract.ts";
import type { Recipe } from "../db/recipes.ts";
import { CreateShootFields, gateProblem, ownSettings, rolesIssue, rolesMatch, PresetsSchema, resolveParams, type ShootParams } from "../domain/shoot.ts";
import { canonical } from "../lib/canonical.ts";
import { sha256Hex } from "../lib/crypto.ts";

export const MAX_BATCH_ROWS = 500;

/**
 * A row is a shoot spec (the shape of POST /api/shoots) with its SKU. Its references may be upload
 * ids, names of photos sent with the batch, or https URLs; intake (photos.ts) turns them into ids.
 */
export const BatchRowSchema = CreateShootFields.extend({
  references: z.array(z.string().min(1).max(2048)).min(1).max(8),
  sku: z.string().trim().min(1).max(128).optional(),
}).refine(rolesMatch, rolesIssue);
export type BatchRow = z.infer<typeof BatchRowSchema>;

/** Review policy for the whole batch: the stages a human reviews (`[]` = none, `["reel"]` = the reel only). */
export const ReviewSchema = z.array(z.enum(STAGES)).max(STAGES.length);

export const CreateBatchSchema = z
  .object({
    shoots: z.array(z.unknown()).min(1, "a batch needs at least one shoot").max(MAX_BATCH_ROWS, `at most ${MAX_BATCH_ROWS} shoots per batch`),
    review: ReviewSchema.optional(),
    reviewPolicy: CreateShootFields.shape.reviewPolicy,
    autoFix: CreateShootFields.shape.autoFix,
    presets: PresetsSchema.optional(),
    idempotencyKey: z.string().min(1).max(128).optional(),
    /** A recipe for every row that names none (`name` or `name@version`). */
    recipe: CreateShootFields.shape.recipe,
    /** The batch budget: no new shoot is placed once spent plus committed would pass it. */
    budgetUsd: z.number().positive().max(1_000_000).optional(),
    /** Answer the quote and change nothing. */
    dryRun: z.boolean().optional(),
  })
  .strict();
export type CreateBatch = z.infer<typeof CreateBatchSchema>;

export interface ResolvedRow {
  index: number;
  idempotencyKey: string;
  brief: string;
  sku: string | null;
  params: ShootParams;
}

export type BatchSettings = Omit<CreateBatch, "shoots">;

/**
 * Validates every row (errors name `<prefix>[i].<field>`); returns all errors or all rows, never half.
 * `recipes` holds every recipe the rows and the batch name, found beforehand (a missing one is an error).
 */
export async function resolveRows(
  rows: unknown[],
  batch: BatchSettings,
  defaults: { checkpointTimeout: string },
  prefix: string,
  recipes: Map<string, Recipe>,
): Promise<{ rows: ResolvedRow[]; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  const out: ResolvedRow[] = [];
  const seen = new Map<string, number>();
  const batchRecipe = batch.recipe ? recipes.get(batch.recipe) : undefined;
  if (batch.recipe && !batchRecipe) errors.push({ field: "recipe", message: `no recipe "${batch.recipe}" in this account` });
  for (let i = 0; i < rows.length; i++) {
    const parsed = BatchRowSchema.safeParse(rows[i]);
    if (!parsed.success) {
      errors.push(...parsed.error.issues.flatMap((issue) => issueToError(issue, `${prefix}[${i}]`)));
      continue;
    }
    const r = parsed.data;
    const rowRecipe = r.recipe ? recipes.get(r.recipe) : undefined;
    if (r.recipe && !rowRecipe) {
      errors.push({ field: `${prefix}[${i}].recipe`, message: `no recipe "${r.recipe}" in this account` });
      continue;
    }
    const used = rowRecipe ?? batchRecipe;
    const params = resolveParams(
      r,
      [
        batchRecipe?.settings,
        { review: batch.review, reviewPolicy: batch.reviewPolicy, autoFix: batch.autoFix, presets: batch.presets },
        rowRecipe?.settings,
        ownSettings(r),
      ],
      defaults,
      used ? { name: used.name, version: used.version } : null,
    );
    const gate = gateProblem(params);
    if (gate) {
      errors.push({ field: `${prefix}[${i}].referenceRoles`, message: gate });
      continue;
    }
    // Without a key, the row's content is its identity: submitting it again finds the same shoot.
    const key = r.idempotencyKey ?? `row-${(await sha256Hex(canonical({ brief: r.brief, sku: r.sku, params }))).slice(0, 32)}`;
    const dup = seen.get(key);
    if (dup !== undefined) {
      errors.push({
        field: `${prefix}[${i}]${r.idempotencyKey ? ".idempotencyKey" : ""}`,
        message: r.idempotencyKey
          ? `repeats the key of ${prefix}[${dup}]`
          : `has the same content as ${prefix}[${dup}]; give each an idempotencyKey to shoot it twice`,
      });
      continue;
    }
    seen.set(key, i);
    out.push({ index: i, idempotencyKey: key, brief: r.brief, sku: r.sku ?? null, params });
  }
  return { rows: out, errors };
}

function issueToError(issue: z.core.$ZodIssue, at: string): FieldError[] {
  const path = issue.path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : `${acc}.${String(p)}`), at);
  if (issue.code === "unrecognized_keys") return issue.keys.map((k) => ({ field: `${path}.${k}`, message: "is not a known field" }));
  return [{ field: path, message: issue.message }];
}

/**
 * CSV columns (header names are matched without regard to case): `brief`, `references` (upload ids,
 * photo file names or https URLs, separated by `;`, spaces or commas), and optionally `sku`,
 * `recipe`, `pose`, `background`, `style`, `aspectRatio`, `review` (stages separated by `;`, `none`
 * for none), `roles` (what each reference shows, in order: `model`, `garment`, `accessory` or `-`),
 * `reviewPolicy` (`always` or `flagged`), `autoFix` (`true`), `budgetUsd` (per shoot), `idempotencyKey`. Returns rows in the JSON row shape, or the
 * CSV's own errors. A byte-order mark, quoted newlines and Windows line endings are read as a
 * spreadsheet writes them.
 */
export const CSV_COLUMNS = [
  "sku",
  "brief",
  "references",
  "roles",
  "recipe",
  "pose",
  "background",
  "style",
  "aspectRatio",
  "review",
  "reviewPolicy",
  "autoFix",
  "budgetUsd",
  "idempotencyKey",
] as const;

/** `true`/`1` and `false`/`0` as booleans; anything else as written, for the schema to refuse by name. */
const flag = (v: string) => (v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : v);
const list = (v: string) => v.split(/[\s;,]+/).filter(Boolean);
const BY_LOWER = new Map<string, string>(CSV_COLUMNS.map((c) => [c.toLowerCase(), c]));

export function rowsFromCsv(text: string): { rows: unknown[]; errors: FieldError[] } {
  const parsed = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ""), {
    header: true,
    skipEmptyLines: "greedy",
    transformHeader: (h) => BY_LOWER.get(h.trim().toLowerCase()) ?? h.trim(),
  });
  const errors: FieldError[] = parsed.errors.map((e) => ({ field: e.row === undefined ? "csv" : `rows[${e.row}]`, message: e.message }));
  const columns = parsed.meta.fields ?? [];
  for (const col of columns) {
    if (!BY_LOWER.has(col.toLowerCase())) errors.push({ field: `csv.${col}`, message: `is not a known column (${CSV_COLUMNS.join(", ")})` });
  }
  for (const required of ["brief", "references"]) {
    if (!columns.includes(required)) errors.push({ field: `csv.${required}`, message: "the column is required" });
  }
  if (parsed.data.length > MAX_BATCH_ROWS) errors.push({ field: "rows", message: `at most ${MAX_BATCH_ROWS} rows per batch` });
  if (parsed.data.length === 0) errors.push({ field: "rows", message: "a batch needs at least one row" });
  const rows = parsed.data.map((r) => {
    const cell = (k: string) => (r[k] ?? "").trim();
    const presets = Object.fromEntries(["pose", "background", "style"].filter((k) => cell(k)).map((k) => [k, cell(k)]));
    const review = cell("review");
    const budget = cell("budgetUsd");
    return {
      brief: cell("brief"),
      references: list(cell("references")),
      ...(cell("roles") ? { referenceRoles: list(cell("roles")).map((r) => (r === "-" ? null : r)) } : {}),
      ...(cell("reviewPolicy") ? { reviewPolicy: cell("reviewPolicy") } : {}),
      ...(cell("autoFix") ? { autoFix: flag(cell("autoFix")) } : {}),
      ...(cell("sku") ? { sku: cell("sku") } : {}),
      ...(cell("recipe") ? { recipe: cell("recipe") } : {}),
      ...(Object.keys(presets).length ? { presets } : {}),
      ...(cell("aspectRatio") ? { aspectRatio: cell("aspectRatio") } : {}),
      ...(review ? { review: review === "none" ? [] : list(review) } : {}),
      // A number when it reads as one; otherwise the text, which the row schema refuses by name.
      ...(budget ? { budgetUsd: Number.isFinite(Number(budget)) ? Number(budget) : budget } : {}),
      ...(cell("idempotencyKey") ? { idempotencyKey: cell("idempotencyKey") } : {}),
    };
  });
  return { rows, errors };
}

/**
 * Query or form fields for a CSV upload's batch settings: `review=hero;reel` (or `none`),
 * `reviewPolicy=flagged`, `autoFix=true`, `pose=`,
 * `background=`, `style=`, `recipe=`, `budgetUsd=`, `idempotencyKey=`, `dryRun=true`.
 */
export function batchSettingsFromFields(get: (name: string) => string | undefined): unknown {
  const field = (k: string) => get(k)?.trim() || undefined;
  const review = get("review")?.trim();
  const presets = Object.fromEntries(["pose", "background", "style"].flatMap((k) => (field(k) ? [[k, field(k)]] : [])));
  const budget = field("budgetUsd");
  const dryRun = field("dryRun");
  return {
    ...(review !== undefined && review !== "" ? { review: review === "none" ? [] : list(review) } : {}),
    ...(field("reviewPolicy") ? { reviewPolicy: field("reviewPolicy") } : {}),
    ...(field("autoFix") ? { autoFix: flag(field("autoFix")!) } : {}),
    ...(Object.keys(presets).length ? { presets } : {}),
    ...(field("idempotencyKey") ? { idempotencyKey: field("idempotencyKey") } : {}),
    ...(field("recipe") ? { recipe: field("recipe") } : {}),
    ...(budget ? { budgetUsd: Number.isFinite(Number(budget)) ? Number(budget) : budget } : {}),
    ...(dryRun ? { dryRun: flag(dryRun) } : {}),
  };
}
