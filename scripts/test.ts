/**
 * `npm test`: every suite a change must pass, one after another (they share two cores): the Worker
 * and Workflow in workerd, the media service and simulator in Node, then the whole stack end to end.
 * Ends with one plain summary line and a non-zero exit when anything failed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const projects = process.argv.slice(2).length ? process.argv.slice(2) : ["worker", "node", "e2e"];
const vitest = path.resolve(import.meta.dirname, "../node_modules/vitest/vitest.mjs");
const out = mkdtempSync(path.join(tmpdir(), "atelier-test-"));
const totals = { passed: 0, failed: 0, skipped: 0 };
let broken = false;

for (const project of projects) {
  const report = path.join(out, `${project}.json`);
  console.log(`\n=== ${project} ===`);
  const run = spawnSync(process.execPath, [vitest, "run", "--project", project, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], {
    stdio: "inherit",
  });
  try {
    const r = JSON.parse(readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
    totals.passed += r.numPassedTests;
    totals.failed += r.numFailedTests;
    totals.skipped += r.numPendingTests + r.numTodoTests;
  } catch {
    broken = true;
  }
  if (run.status !== 0) broken = true;
}

console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(broken || totals.failed > 0 || totals.passed === 0 ? 1 : 0);
