/**
 * `npm run typecheck` (tsc -b over the solution tsconfig.json) must see every TypeScript file in the
 * repository: a file no project includes is never type-checked, however green the run is.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const SKIP = new Set(["node_modules", ".git", ".wrangler", ".atelier", "dist", "coverage"]);

function tsFilesOnDisk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) tsFilesOnDisk(p, out);
    else if (/\.(c|m)?tsx?$/.test(e.name)) out.push(path.relative(ROOT, p));
  }
  return out;
}

function parse(configPath: string): ts.ParsedCommandLine {
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  return ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(configPath), undefined, configPath);
}

/** Files of every project the solution references, transitively. */
function coveredFiles(configPath: string, seen = new Set<string>()): Set<string> {
  const covered = new Set<string>();
  if (seen.has(configPath)) return covered;
  seen.add(configPath);
  const parsed = parse(configPath);
  for (const f of parsed.fileNames) covered.add(path.relative(ROOT, f));
  for (const ref of parsed.projectReferences ?? []) {
    const refPath = ts.resolveProjectReferencePath(ref);
    for (const f of coveredFiles(refPath, seen)) covered.add(f);
  }
  return covered;
}

it("every .ts file in the repository is in a project that tsc -b checks", () => {
  const solution = path.join(ROOT, "tsconfig.json");
  expect(parse(solution).fileNames, "the solution itself lists no files, only references").toEqual([]);
  const covered = coveredFiles(solution);
  const onDisk = tsFilesOnDisk(ROOT);
  expect(onDisk.length).toBeGreaterThan(100);
  expect(onDisk.filter((f) => !covered.has(f))).toEqual([]);
});

it("the npm script and CI run the solution build", async () => {
  const { readFileSync } = await import("node:fs");
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  expect(pkg.scripts.typecheck).toBe("tsc -b");
  const ci = readFileSync(path.join(ROOT, ".ci/run"), "utf8");
  expect(ci.indexOf("npm run typecheck")).toBeGreaterThan(-1);
  expect(ci.indexOf("npm run typecheck")).toBeLessThan(ci.indexOf("npm test"));
});
