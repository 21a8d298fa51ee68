/**
 * The committed contract files, checked with the tools a new user would point at them.
 * src/api/openapi.json is byte for byte what the Worker serves (tests/worker/contract.test.ts), so
 * these check the served document: Redocly's recommended rules pass, and the committed client
 * types are exactly what openapi-typescript generates from it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DOCUMENT_FILE, generateTypes, TYPES_FILE } from "../../../scripts/api-types.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");

describe("the committed OpenAPI document", () => {
  it("passes Redocly's recommended rules with no errors and no warnings", () => {
    const run = spawnSync(path.join(ROOT, "node_modules/.bin/redocly"), ["lint", DOCUMENT_FILE, "--format=json"], { cwd: ROOT, encoding: "utf8" });
    const report = JSON.parse(run.stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string }[] };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(run.status).toBe(0);
  });

  it("generates the committed client types (regenerate with `npm run api:types`)", async () => {
    const doc = JSON.parse(readFileSync(DOCUMENT_FILE, "utf8"));
    expect(await generateTypes(doc)).toBe(readFileSync(TYPES_FILE, "utf8"));
  });
});
