/** JSON with // comments (outside strings) and trailing commas, as wrangler.jsonc is written. */
import { readFileSync } from "node:fs";

export function parseJsonc(text: string): unknown {
  const stripped = text.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*/g, (_m, str: string | undefined) => str ?? "");
  return JSON.parse(stripped.replace(/,(\s*[}\]])/g, "$1"));
}

export function readJsonc(file: string): unknown {
  return parseJsonc(readFileSync(file, "utf8"));
}
