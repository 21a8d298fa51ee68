/** Keyset cursors for the list routes (shoots, batches): newest first by (createdAt, id). */
import { badRequest } from "./problem.ts";

export function encodeCursor(row: { createdAt: string; id: string }): string {
  return btoa(`${row.createdAt}|${row.id}`).replace(/=+$/, "");
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = atob(cursor).split("|");
    if (createdAt && id) return { createdAt, id };
  } catch {
    /* fall through */
  }
  throw badRequest([{ field: "cursor", message: "is not a cursor this API returned" }]);
}
