/**
 * A batch submission from disk: the sheet, every photo (image or zip) in a folder, and the batch
 * settings, as the multipart form POST /api/batches reads.
 */
import { openAsBlob } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import Papa from "papaparse";
import { usageError } from "./exit.ts";
import type { SheetInfo } from "./problems.ts";

const PHOTO_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".zip": "application/zip",
};

export interface BatchSettings {
  recipe?: string;
  review?: string;
  reviewPolicy?: "flagged";
  autoFix?: boolean;
  budgetUsd?: string;
  dryRun?: boolean;
}

export interface Submission {
  form: FormData;
  sheet: SheetInfo;
  photos: string[];
}

export async function readSubmission(sheetPath: string, photoDir: string | undefined, settings: BatchSettings): Promise<Submission> {
  const text = await readFile(sheetPath, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw usageError(`cannot read the sheet ${sheetPath}: ${err.code ?? err.message}`);
  });
  const name = path.basename(sheetPath);
  const isJson = /\.json$/i.test(name) || /^\uFEFF?\s*[[{]/.test(text);
  const form = new FormData();
  form.append("file", new File([text], name, { type: isJson ? "application/json" : "text/csv" }));
  const photos = photoDir ? await photoFiles(photoDir) : [];
  for (const file of photos) {
    form.append("photos", await openAsBlob(file, { type: PHOTO_TYPES[path.extname(file).toLowerCase()] }), path.basename(file));
  }
  for (const [field, value] of Object.entries(settings)) if (value !== undefined) form.append(field, String(value));
  return { form, sheet: { name, lines: isJson ? undefined : dataRowLines(text) }, photos: photos.map((p) => path.basename(p)) };
}

/** The folder's photos and zips, by name (not its subfolders; hidden files such as .DS_Store skipped). */
async function photoFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw usageError(`cannot read the photo folder ${dir}: ${err.code ?? err.message}`);
  });
  const files = entries
    .filter((e) => !e.name.startsWith(".") && path.extname(e.name).toLowerCase() in PHOTO_TYPES)
    .map((e) => path.join(dir, e.name))
    .sort();
  // A symlink to a file counts; one to a folder does not.
  const isFile = await Promise.all(files.map(async (f) => (await stat(f)).isFile()));
  return files.filter((_, i) => isFile[i]);
}

/**
 * The line each data row of a CSV starts on, as the service counts rows (header first, blank lines
 * skipped), so an error about `rows[i]` can name the line a quoted multi-line cell or a blank line moved.
 */
export function dataRowLines(text: string): number[] {
  const body = text.replace(/^\uFEFF/, "");
  const lines: number[] = [];
  let cursor = 0;
  Papa.parse<string[]>(body, {
    step: ({ data, meta }) => {
      if (data.some((cell) => cell.trim() !== "")) {
        // Papa's cursor stops before or after the previous row's line break (depending on quoting); a row with text starts after it.
        let start = cursor;
        while (body[start] === "\r" || body[start] === "\n") start++;
        lines.push(body.slice(0, start).split("\n").length);
      }
      cursor = meta.cursor;
    },
  });
  return lines.slice(1);
}
