/** The Worker bundles for production: `wrangler deploy --dry-run` (the image build is skipped: no Docker engine here). */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";

it("wrangler deploy --dry-run bundles the Worker with every binding", () => {
  const out = mkdtempSync(path.join(tmpdir(), "atelier-dry-run-"));
  const res = spawnSync(process.execPath, ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--containers-rollout=none", "--outdir", out], {
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  expect(res.status, res.stderr).toBe(0);
  expect(existsSync(path.join(out, "index.js"))).toBe(true);
  expect(statSync(path.join(out, "index.js")).size).toBeGreaterThan(10_000);
  for (const binding of ["env.SHOOT (ShootWorkflow)", "env.MEDIA_CONTAINER (MediaContainer)", "env.MEDIA_JOBS", "env.SUBMISSIONS", "env.DB", "env.BUCKET"]) {
    expect(res.stdout).toContain(binding);
  }
}, 120_000);
