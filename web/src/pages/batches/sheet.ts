/**
 * The sheet as the person wrote it, read in the browser: when the server refuses a batch it sends
 * errors only, so the rows the errors point at are read here (papaparse, like the server) to show
 * them. Also turns the server's error fields (`rows[3].references[1]`, `csv.colour`, `photos[2]`)
 * into a row, a reference and words.
 */
import Papa from "papaparse";

export interface SheetRow {
  index: number;
  sku: string | null;
  brief: string;
  /** As written: photo names, URLs or upload ids, split the way the server splits them. */
  references: string[];
}

export interface FieldError {
  field: string;
  message: string;
}

/** The rows of a CSV or JSON sheet, or null when it cannot be read as one. */
export async function readSheet(file: File): Promise<SheetRow[] | null> {
  const text = (await file.text()).replace(/^\uFEFF/, "");
  const isJson = /\.json$/i.test(file.name) || /json/i.test(file.type) || /^\s*[[{]/.test(text);
  return isJson ? jsonRows(text) : csvRows(text);
}

function csvRows(text: string): SheetRow[] | null {
  const parsed = Papa.parse<Record<string, string | undefined>>(text, {
    header: true,
    skipEmptyLines: "greedy",
    transformHeader: (h) => h.trim().toLowerCase(),
  });
  if (!parsed.meta.fields?.length) return null;
  return parsed.data.map((r, index) => ({
    index,
    sku: r.sku?.trim() || null,
    brief: r.brief?.trim() ?? "",
    references: splitReferences(r.references ?? ""),
  }));
}

function jsonRows(text: string): SheetRow[] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const rows = Array.isArray(value) ? value : (value as { shoots?: unknown } | null)?.shoots;
  if (!Array.isArray(rows)) return null;
  return rows.map((r, index) => {
    const o = (r && typeof r === "object" ? r : {}) as Record<string, unknown>;
    return {
      index,
      sku: typeof o.sku === "string" ? o.sku : null,
      brief: typeof o.brief === "string" ? o.brief : "",
      references: Array.isArray(o.references) ? o.references.map(String) : [],
    };
  });
}

/** A CSV cell of references: separated by `;`, spaces or commas (as the server reads it). */
export const splitReferences = (cell: string) => cell.split(/[\s;,]+/).filter(Boolean);

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

/** Words for an error's field: `Reference 2`, `Aspect ratio`, `Column "colour"`, `Photo 3 (looks.zip)`. */
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
  const photo = /^photos\[(\d+)\](?: \((.*)\))?$/.exec(field);
  if (photo) return photo[2] ? `Photo file ${Number(photo[1]) + 1} (${photo[2]})` : `Photo file ${Number(photo[1]) + 1}`;
  const column = /^csv\.(.+)$/.exec(field);
  if (column) return `Column "${column[1]}"`;
  return SETTING_LABEL[field] ?? field;
}
