/**
 * `npm run doctor [-- --repair] [--fast] [--persist-to DIR | --remote]`: checks that D1 and R2 agree
 * (src/doctor.ts) and prints each problem and a summary line; exits 1 when a problem is left.
 * Local by default (the state `npm start` uses). --remote uses the deployed D1 and R2 through
 * wrangler's remote bindings (needs `wrangler login`; not exercised on these machines).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { getPlatformProxy } from "wrangler";
import { readJsonc } from "../common/jsonc.ts";
import { runDoctor, type DoctorBucket, type DoctorDb, type DoctorReport } from "../src/doctor.ts";
import { ROOT } from "./stack.ts";

export async function doctor(opts: { persistTo?: string; remote?: boolean; repair?: boolean; deep?: boolean }): Promise<DoctorReport> {
  // Only the two bindings the doctor reads (the full config would start Workflows and Containers too).
  const config = readJsonc(path.join(ROOT, "wrangler.jsonc")) as {
    compatibility_date: string;
    d1_databases: Record<string, unknown>[];
    r2_buckets: Record<string, unknown>[];
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), "atelier-doctor-"));
  const configPath = path.join(dir, "wrangler.json");
  const remote = opts.remote ? { remote: true } : {};
  writeFileSync(
    configPath,
    JSON.stringify({
      name: "atelier-doctor",
      compatibility_date: config.compatibility_date,
      d1_databases: config.d1_databases.map((d) => ({ ...d, ...remote })),
      r2_buckets: config.r2_buckets.map((b) => ({ ...b, ...remote })),
    }),
  );
  // wrangler dev --persist-to DIR keeps its state in DIR/v3, which is the level the proxy takes.
  const persist = opts.remote ? false : { path: path.join(path.resolve(opts.persistTo ?? path.join(ROOT, ".atelier/dev/wrangler")), "v3") };
  const proxy = await getPlatformProxy<{ DB: DoctorDb; BUCKET: DoctorBucket }>({ configPath, persist, remoteBindings: !!opts.remote, envFiles: [] });
  try {
    return await runDoctor(proxy.env.DB, proxy.env.BUCKET, { repair: opts.repair, deep: opts.deep });
  } finally {
    await proxy.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      repair: { type: "boolean", default: false },
      fast: { type: "boolean", default: false },
      remote: { type: "boolean", default: false },
      "persist-to": { type: "string" },
    },
  });
  const report = await doctor({ persistTo: values["persist-to"], remote: values.remote, repair: values.repair, deep: !values.fast });
  for (const p of report.problems) console.log(`${p.repaired ? "repaired" : "problem "}  ${p.kind}  ${p.detail}`);
  const left = report.problems.length - report.repaired;
  console.log(
    `doctor: ${report.assets} assets, ${report.objects} objects, ${report.jobs} jobs; ${report.problems.length} problems, ${report.repaired} repaired, ${left} left`,
  );
  process.exit(left ? 1 : 0);
}
