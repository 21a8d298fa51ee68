/**
 * The contract (src/domain/contract.ts) is the only place a list of stages, statuses or kinds is
 * spelt out. This scans every tracked source file for a literal copy: an array of string literals,
 * a SQL `IN (...)` list or a regex alternation `(a|b|c)` holding three or more members of one
 * contract list, a type union `"a" | "b" | "c"` likewise, or exactly one of its named sub-lists (the live or the final shoot statuses).
 * Shorter per-stage rules (`clips: ["clips", "reel"]`) are policy, not copies, and pass.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import * as C from "../../../src/domain/contract.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const CONTRACT = "src/domain/contract.ts";
/** Generated from the contract, or not code. */
const SKIP = [CONTRACT, "src/api/openapi.gen.ts", "src/worker-configuration.d.ts", "tests/node/repo/contract-lists.test.ts"];

const LISTS: Record<string, readonly string[]> = {
  STAGES: C.STAGES,
  CHECKPOINT_STAGES: C.CHECKPOINT_STAGES,
  SHOOT_STATUSES: C.SHOOT_STATUSES,
  CHECKPOINT_STATUSES: C.CHECKPOINT_STATUSES,
  ASSET_KINDS: C.ASSET_KINDS,
  JOB_STATUSES: C.JOB_STATUSES,
  BATCH_ROW_STATES: C.BATCH_ROW_STATES,
  DELIVERY_STATUSES: C.DELIVERY_STATUSES,
};
const SUB_LISTS: Record<string, readonly string[]> = { LIVE_SHOOT_STATUSES: C.LIVE_SHOOT_STATUSES, FINAL_SHOOT_STATUSES: C.FINAL_SHOOT_STATUSES };

/** Which contract list a literal list copies, or null. */
function copiedList(items: string[]): string | null {
  // A sequence with repeats (expected outcomes in order) is not a list of the contract's values.
  if (items.length < 2 || new Set(items).size < items.length) return null;
  for (const [name, sub] of Object.entries(SUB_LISTS)) {
    if (items.length === sub.length && items.every((i) => sub.includes(i))) return name;
  }
  for (const [name, list] of Object.entries(LISTS)) {
    if (items.length >= 3 && items.every((i) => list.includes(i))) return name;
  }
  return null;
}

/** Every literal list in a source text that copies a contract list, with its line. */
function findCopies(text: string): { line: number; list: string; text: string }[] {
  const found: { line: number; list: string; text: string }[] = [];
  const patterns: [RegExp, (m: RegExpExecArray) => string[]][] = [
    // ["a", "b", ...] (also inside z.enum([...]) and new Set([...]))
    [/\[\s*((?:(["'])[\w-]+\2\s*,\s*)+(["'])[\w-]+\3)\s*,?\s*\]/g, (m) => [...m[1].matchAll(/["']([\w-]+)["']/g)].map((x) => x[1])],
    // SQL: IN ('a','b')
    [/\bIN\s*\(\s*((?:'[\w-]+'\s*,\s*)+'[\w-]+')\s*\)/gi, (m) => [...m[1].matchAll(/'([\w-]+)'/g)].map((x) => x[1])],
    // a type union: "a" | "b" | "c"
    [/(["'])[\w-]+\1(?:\s*\|\s*(["'])[\w-]+\2)+/g, (m) => [...m[0].matchAll(/["']([\w-]+)["']/g)].map((x) => x[1])],
    // regex alternation: (a|b|c)
    [/\((?:\?:)?([\w-]+(?:\|[\w-]+)+)\)/g, (m) => m[1].split("|")],
  ];
  for (const [re, items] of patterns) {
    for (const m of text.matchAll(re)) {
      const list = copiedList(items(m as RegExpExecArray));
      if (list) found.push({ line: text.slice(0, m.index).split("\n").length, list, text: m[0] });
    }
  }
  return found;
}

describe("the contract's lists", () => {
  it("finds a copied list when there is one (the scanner itself)", () => {
    const stages = C.STAGES.map((s) => `"${s}"`).join(", ");
    const finals = C.FINAL_SHOOT_STATUSES.join("|");
    expect(findCopies(`const S = z.enum([${stages}]);`)).toMatchObject([{ list: "STAGES" }]);
    expect(findCopies(`if (/^shoot\\.(${finals})$/.test(t))`)).toMatchObject([{ list: "FINAL_SHOOT_STATUSES" }]);
    expect(findCopies(`WHERE s.status NOT IN (${C.FINAL_SHOOT_STATUSES.map((s) => `'${s}'`).join(",")})`)).toMatchObject([{ list: "FINAL_SHOOT_STATUSES" }]);
    expect(findCopies(`status: ${C.FINAL_SHOOT_STATUSES.map((s) => `"${s}"`).join(" | ")};`)).toMatchObject([{ list: "FINAL_SHOOT_STATUSES" }]);
    // A per-stage rule of two stages is policy, not a copy.
    expect(findCopies(`clips: ["${C.STAGES[4]}", "${C.STAGES[5]}"]`)).toEqual([]);
  });

  it("appear literally nowhere outside src/domain/contract.ts", () => {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
      .split("\n")
      .filter((f) => /\.(ts|tsx|js|mjs|cjs|sql)$/.test(f) && !SKIP.includes(f) && !f.startsWith("migrations/"));
    const copies = files.flatMap((f) => {
      let text: string;
      try {
        text = readFileSync(path.join(ROOT, f), "utf8");
      } catch {
        return []; // deleted in the work tree
      }
      return findCopies(text).map((c) => `${f}:${c.line} copies ${c.list}: ${c.text}`);
    });
    expect(copies, `import these from ${CONTRACT} instead`).toEqual([]);
  });
});
