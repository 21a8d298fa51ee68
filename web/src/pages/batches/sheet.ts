/**
 * The server's error fields (`rows[3].references[1]`, `csv.colour`, `photos[2]`) as a row, a
 * reference and words. The rows themselves come with the refusal (`problem.rows`), as the server read them.
 */
import type { ProblemBody } from "../../types.ts";

export type SheetRow = NonNullable<ProblemBody["rows"]>[number];

export interface FieldError {
  field: string;
  message: string;
}

/** The row an error is about (`rows[3]…` is row index 3), or null for the sheet, the photos or a setting. */
export function rowOf(field: string): number | null {
  const m = /^(?:rows|shoots)\[(\d+)\]/.exec(field);
  return m ? Number(m[1]) : null;
}

/** The reference of a row an error is about (`rows[3].references[1]` is 1). */
export function referenceOf(field: string): number | null {
  const m = /^(?:rows|shoots)\[\d+\]\.references\[(\d+)\]/.exec(field);
  return m ? Number(m[1]) : null;
}

const COLUMN_LABEL: Record<string, string> = {
  sku: "SKU",
  brief: "Brief",
  references: "References",
  recipe: "Recipe",
  pose: "Pose",
  background: "Background",
  style: "Style",
  aspectRatio: "Aspect ratio",
  review: "Review",
  budgetUsd: "Budget (USD)",
  idempotencyKey: "Idempotency key",
  presets: "Presets",
};
const SETTING_LABEL: Record<string, string> = {
  file: "Sheet",
  csv: "Sheet",
  rows: "Sheet",
  body: "Upload",
  photos: "Photos",
  recipe: "Recipe",
  review: "Review",
  budgetUsd: "Batch budget",
  idempotencyKey: "Idempotency key",
};

/** Words for an error's field: `Reference 2`, `Aspect ratio`, `Column "colour"`, `Photo file 3`. */
export function fieldLabel(field: string): string {
  const inRow = /^(?:rows|shoots)\[\d+\](?:\.(.*))?$/.exec(field);
  if (inRow) {
    const rest = inRow[1];
    if (!rest) return "Row";
    const ref = /^references\[(\d+)\]/.exec(rest);
    if (ref) return `Reference ${Number(ref[1]) + 1}`;
    const last = rest.split(".").pop() ?? rest;
    return COLUMN_LABEL[last] ?? last;
  }
  const photo = /^photos\[(\d+)\]$/.exec(field);
  if (photo) return `Photo file ${Number(photo[1]) + 1}`;
  const column = /^csv\.(.+)$/.exec(field);
  if (column) return `Column "${column[1]}"`;
  return SETTING_LABEL[field] ?? field;
}
