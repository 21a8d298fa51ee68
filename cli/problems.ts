/**
 * A refused request in words a person acts on: each field error on its own line, a sheet's
 * `rows[i].column` as the row (and line) to find in the spreadsheet.
 */
import type { Problem } from "../src/api/types.ts";

/** Words one error's `field` for a person. */
export type FieldNamer = (field: string) => string;

export interface SheetInfo {
  /** The file's name, as the person knows it. */
  name: string;
  /** The line of the file each data row starts on (a CSV's; absent for JSON). */
  lines?: number[];
}

/**
 * `rows[3].references[1]` → `row 4 (line 5 of looks.csv), references`: rows counted from 1 like a
 * spreadsheet's data rows, the column as the header names it (the server nests pose under presets).
 * `photos[2]` → `photos` (the message names the file), `csv.colour` → `column "colour"`.
 */
export function sheetFieldNamer(sheet?: SheetInfo): FieldNamer {
  return (field) => {
    const row = /^rows\[(\d+)\]\.?(.*)$/.exec(field);
    if (row) {
      const i = Number(row[1]);
      const line = sheet?.lines?.[i];
      const column = row[2].replace(/^presets\./, "").replace(/\[\d+\]/g, "");
      return [`row ${i + 1}${line ? ` (line ${line} of ${sheet!.name})` : ""}`, column].filter(Boolean).join(", ");
    }
    const photo = /^photos\[\d+\](?: \((.+)\))?$/.exec(field);
    if (photo) return photo[1] ?? "photos";
    const column = /^csv\.(.+)$/.exec(field);
    if (column) return `column "${column[1]}"`;
    if (field === "file" && sheet) return sheet.name;
    return field;
  };
}

/** The message for a 4xx: its title and detail, or one line per field error. */
export function describeProblem(status: number, problem: Partial<Problem> | undefined, namer: FieldNamer = sheetFieldNamer()): string {
  const head = `refused (${status}${problem?.title ? ` ${problem.title}` : ""})`;
  if (!problem?.errors?.length) return problem?.detail ? `${head}: ${problem.detail}` : head;
  return [`${head}; nothing was changed:`, ...problem.errors.map((e) => `  ${namer(e.field)}: ${e.message}`)].join("\n");
}
