/**
 * What a batch is: its request shapes (JSON or CSV rows), the per-row idempotency keys and the
 * shoot params each row resolves to. Pure, so the API and the consumer agree on one definition.
 */
import Papa from "papaparse";
import { z } from "zod";
import type { FieldError } from "../api/problem.ts";
import { DEFAULT_REVIEW, STAGES, type Stage } from "../domain/contract.ts";
import { CreateShootSchema, DEFAULT_STITCH, PresetsSchema, type ShootParams } from "../domain/shoot.ts";
import { sha256Hex } from "../lib/crypto.ts";

export const MAX_BATCH_ROWS = 500;

/** A row is a shoot spec (the same shape as POST /api/shoots). */
export const BatchRowSchema = CreateShootSchema;
export type BatchRow = z.infer<typeof BatchRowSchema>;

/** Review policy for the whole batch: the stages a human reviews (`[]` = none, `["reel"]` = the reel only). */
export const ReviewSchema = z.array(z.enum(STAGES)).max(STAGES.length);

export const CreateBatchSchema = z
  .object({
    shoots: z.array(z.unknown()).min(1, "a batch needs at least one shoot").max(MAX_BATCH_ROWS, `at most ${MAX_BATCH_ROWS} shoots per batch`),
    review: ReviewSchema.optional(),
    presets: PresetsSchema.optional(),
    idempotencyKey: z.string().min(1).max(128).optional(),
  })
  .strict();
export type CreateBatch = z.infer<typeof CreateBatchSchema>;

export interface ResolvedRow {
  index: number;
  idempotencyKey: string;
  brief: string;
  params: ShootParams;
}

/** Validates every row (errors name `<prefix>[i].<field>`); returns all errors or all rows, never half. */
export async function resolveRows(
  rows: unknown[],
  batch: { review?: Stage[]; presets?: BatchRow["presets"] },
  defaults: { checkpointTimeout: string },
  prefix: string,
): Promise<{ rows: ResolvedRow[]; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  const out: ResolvedRow[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const parsed = BatchRowSchema.safeParse(rows[i]);
    if (!parsed.success) {
      errors.push(...parsed.error.issues.flatMap((issue) => issueToError(issue, `${prefix}[${i}]`)));
      continue;
    }
    const r = parsed.data;
    const params: ShootParams = {
      references: r.references,
      presets: { ...batch.presets, ...r.presets },
      aspectRatio: r.aspectRatio ?? null,
      review: r.review ?? batch.review ?? DEFAULT_REVIEW,
      checkpointTimeout: r.checkpointTimeout ?? defaults.checkpointTimeout,
      timeoutPolicy: r.timeoutPolicy ?? "expire",
      stitch: { ...DEFAULT_STITCH, ...r.stitch },
    };
    // Without a key, the row's content is its identity: submitting it again finds the same shoot.
    const key = r.idempotencyKey ?? `row-${(await sha256Hex(canonical({ brief: r.brief, params }))).slice(0, 32)}`;
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
    out.push({ index: i, idempotencyKey: key, brief: r.brief, params });
  }
  return { rows: out, errors };
}

function issueToError(issue: z.core.$ZodIssue, at: string): FieldError[] {
  const path = issue.path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : `${acc}.${String(p)}`), at);
  if (issue.code === "unrecognized_keys") return issue.keys.map((k) => ({ field: `${path}.${k}`, message: "is not a known field" }));
  return [{ field: path, message: issue.message }];
}

/** JSON with sorted keys, so the same content always hashes the same. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/**
 * CSV columns: `brief`, `references` (upload ids separated by spaces or `;`), and optionally `pose`,
 * `background`, `style`, `aspectRatio`, `review` (stages separated by `;`, `none` for none),
 * `idempotencyKey`. Returns rows in the JSON row shape, or the CSV's own errors.
 */
export const CSV_COLUMNS = ["brief", "references", "pose", "background", "style", "aspectRatio", "review", "idempotencyKey"] as const;

export function rowsFromCsv(text: string): { rows: unknown[]; errors: FieldError[] } {
  const parsed = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ""), { header: true, skipEmptyLines: "greedy", transformHeader: (h) => h.trim() });
  const errors: FieldError[] = parsed.errors.map((e) => ({ field: e.row === undefined ? "csv" : `rows[${e.row}]`, message: e.message }));
  const columns = parsed.meta.fields ?? [];
  for (const col of columns) {
    if (!(CSV_COLUMNS as readonly string[]).includes(col)) errors.push({ field: `csv.${col}`, message: `is not a known column (${CSV_COLUMNS.join(", ")})` });
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
    return {
      brief: cell("brief"),
      references: cell("references")
        .split(/[\s;,]+/)
        .filter(Boolean),
      ...(Object.keys(presets).length ? { presets } : {}),
      ...(cell("aspectRatio") ? { aspectRatio: cell("aspectRatio") } : {}),
      ...(review ? { review: review === "none" ? [] : review.split(/[\s;,]+/).filter(Boolean) } : {}),
      ...(cell("idempotencyKey") ? { idempotencyKey: cell("idempotencyKey") } : {}),
    };
  });
  return { rows, errors };
}

/** Query or form fields for a CSV upload's batch settings: `review=hero;reel` (or `none`), `pose=`, `background=`, `style=`. */
export function batchSettingsFromFields(get: (name: string) => string | undefined): unknown {
  const review = get("review")?.trim();
  const presets = Object.fromEntries(["pose", "background", "style"].flatMap((k) => (get(k)?.trim() ? [[k, get(k)!.trim()]] : [])));
  return {
    ...(review !== undefined && review !== "" ? { review: review === "none" ? [] : review.split(/[\s;,]+/).filter(Boolean) } : {}),
    ...(Object.keys(presets).length ? { presets } : {}),
    ...(get("idempotencyKey")?.trim() ? { idempotencyKey: get("idempotencyKey")!.trim() } : {}),
  };
}
