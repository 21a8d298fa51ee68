/**
 * The command line as a person runs it: `node cli/atelier.mjs …` (and once `npx atelier`) as a child
 * process with ATELIER_URL and ATELIER_KEY, against a private stack. A sheet of three SKUs and a
 * folder of photos is quoted, refused when a row names a photo not in the folder (exit 3, the row
 * named, nothing created), then watched to the end (exit 0); the report written with `>` parses, has
 * one row per SKU and every URL in it answers; the quote is within 5 % of what the batch cost.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Papa from "papaparse";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { components } from "../../src/api/types.ts";
import { ROOT } from "../../scripts/stack.ts";
import { client, startTestStack } from "./helpers.ts";

const SKUS = ["TEE-RED", "TEE-BLUE", "TEE-RED-2"];
const SHEET = [
  "sku,brief,references",
  "TEE-RED,red tee on a grey studio floor,red.png",
  "TEE-BLUE,blue tee by the sea,blue.png",
  "TEE-RED-2,red tee in the city,red.png",
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("atelier, the command line", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  let api: ReturnType<typeof client>;
  let dir: string;
  let cliEnv: NodeJS.ProcessEnv;
  let quotedUsd = 0;
  let batchId = "";

  /** Runs the CLI; `stdoutTo` is a file descriptor, as a shell's `> file` gives it. */
  function atelier(args: string[], opts: { command?: string[]; env?: NodeJS.ProcessEnv; stdoutTo?: number } = {}): Promise<Run> {
    const [cmd, ...pre] = opts.command ?? ["node", "cli/atelier.mjs"];
    const child = spawn(cmd, [...pre, ...args], { cwd: ROOT, env: opts.env ?? cliEnv, stdio: ["ignore", opts.stdoutTo ?? "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (b) => (stdout += b));
    child.stderr?.on("data", (b) => (stderr += b));
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
  }
  const batches = async () => (await api<components["schemas"]["BatchList"]>("GET", "/api/batches")).body.batches;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "atelier-cli-"));
    const photos = path.join(dir, "photos");
    mkdirSync(photos);
    for (const [name, colour] of [
      ["red.png", { r: 200, g: 30, b: 40 }],
      ["blue.png", { r: 30, g: 60, b: 200 }],
    ] as const) {
      await sharp({ create: { width: 240, height: 320, channels: 3, background: colour } })
        .png()
        .toFile(path.join(photos, name));
    }
    writeFileSync(path.join(photos, ".DS_Store"), "not a photo");
    writeFileSync(path.join(dir, "looks.csv"), `${SHEET.join("\n")}\n`);
    // Row 2 names a photo the folder does not have.
    writeFileSync(path.join(dir, "bad.csv"), `${[SHEET[0], SHEET[1], "TEE-GREEN,green tee,green.png"].join("\n")}\n`);
    env = await startTestStack("cli", 23700, {}, { SIM_CLIP_SECONDS: "1", SIM_QUIET: "1" });
    api = client(env.stack);
    cliEnv = { ...process.env, ATELIER_URL: env.stack.url, ATELIER_KEY: env.stack.identity.apiKey };
  });
  afterAll(async () => {
    await env?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const sheet = (name: string) => path.join(dir, name);
  const photos = () => path.join(dir, "photos");

  it("resolves `npx atelier`, documents its exit codes, and refuses to run unconfigured (exit 2)", async () => {
    const help = await atelier(["--help"], { command: ["npx", "atelier"] });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*3 {2}the request was refused/);
    const { ATELIER_URL: _, ATELIER_KEY: __, ...bare } = cliEnv;
    const unset = await atelier(["batch", "status", "ba_x"], { env: bare });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/ATELIER_URL .* and ATELIER_KEY/);
  });

  it("quotes the sheet per row and in total, creating nothing", async () => {
    const args = ["batch", "submit", sheet("looks.csv"), "--photos", photos(), "--review", "none", "--quote"];
    const text = await atelier(args);
    expect(text.code, text.stderr).toBe(0);
    for (const sku of SKUS) expect(text.stdout).toContain(sku);
    expect(text.stdout).toMatch(/total for 3 rows: \$\d/);

    const asJson = await atelier([...args, "--json"]);
    expect(asJson.code, asJson.stderr).toBe(0);
    const quote = JSON.parse(asJson.stdout) as components["schemas"]["BatchQuote"];
    expect(quote.rows.map((r) => r.sku)).toEqual(SKUS);
    expect(quote.photos).toEqual({ used: 2, unused: [] });
    // The photo two rows name is one asset.
    expect(quote.rows[2].references[0].assetId).toBe(quote.rows[0].references[0].assetId);
    expect(quote.totalUsd).toBeGreaterThan(0);
    expect(text.stdout).toContain(`$${quote.totalUsd.toFixed(2)}`);
    quotedUsd = quote.totalUsd;
    expect(await batches()).toHaveLength(0);
  });

  it("refuses a sheet whose row names a photo not in the folder (exit 3), naming the row, and creates nothing", async () => {
    const run = await atelier(["batch", "submit", sheet("bad.csv"), "--photos", photos(), "--review", "none"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/row 2 \(line 3 of bad\.csv\), references: no photo named "green\.png" was sent/);
    expect(run.stdout).toBe("");
    expect(await batches()).toHaveLength(0);
  });

  it("submits and watches the batch to the end (exit 0), with plain progress lines off a terminal", async () => {
    const started = Date.now();
    const run = await atelier(["batch", "submit", sheet("looks.csv"), "--photos", photos(), "--review", "none", "--watch"]);
    console.log(`submit --watch: ${((Date.now() - started) / 1000).toFixed(0)} s\n${run.stderr}`);
    expect(run.code, `${run.stderr}\n--- stack log (tail) ---\n${env.logs.slice(-40).join("\n")}`).toBe(0);
    batchId = run.stdout.trim().split("\n").at(-1)!;
    expect(batchId).toMatch(/^ba_/);
    expect(run.stderr).not.toContain("\r");
    const progress = run.stderr.split("\n").filter((l) => /^\d\/3 done · /.test(l));
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatch(/^3\/3 done · completed 3 · /);
    expect(run.stderr).toContain("every shoot completed (3)");
    expect((await batches()).map((b) => b.id)).toEqual([batchId]);
  });

  it("writes the report with > report.csv: one row per SKU, every hero, frame and reel URL answering", async () => {
    const file = sheet("report.csv");
    const fd = openSync(file, "w");
    const run = await atelier(["batch", "report", batchId], { stdoutTo: fd }).finally(() => closeSync(fd));
    expect(run.code, run.stderr).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text.startsWith("\uFEFF")).toBe(true);
    const parsed = Papa.parse<Record<string, string>>(text.slice(1), { header: true, skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    expect(parsed.data.map((r) => r.sku).sort()).toEqual([...SKUS].sort());
    const columns = ["hero_url", ...Array.from({ length: 6 }, (_, i) => `frame_${i + 1}_url`), "reel_url"];
    for (const row of parsed.data) {
      expect(row.state).toBe("completed");
      for (const column of columns) {
        expect(row[column], `${row.sku} ${column}`).toMatch(/^https?:\/\//);
        const res = await fetch(row[column]);
        expect(res.status, `${row.sku} ${column}`).toBe(200);
        await res.arrayBuffer();
      }
    }
  });

  it("quoted within 5 % of what the batch cost, and says so in its status", async () => {
    const run = await atelier(["batch", "status", batchId, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as components["schemas"]["BatchStatus"];
    expect(status.status).toBe("completed");
    expect(Math.abs(status.costUsd - quotedUsd)).toBeLessThanOrEqual(0.05 * quotedUsd);

    const human = await atelier(["batch", "status", batchId]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`batch ${batchId}: completed, 3 shoots`);
    for (const sku of SKUS) expect(human.stdout).toMatch(new RegExp(`^${sku} +\\d +completed`, "m"));

    // Every shoot completed: a retry finds nothing to place again, and a bad budget is a usage error.
    const retry = await atelier(["batch", "retry", batchId]);
    expect([retry.code, retry.stdout.trim()]).toEqual([0, "nothing to retry"]);
    expect((await atelier(["batch", "retry", batchId, "--budget", "-3"])).code).toBe(2);
  });

  it("lists shoots and saves and lists recipes", async () => {
    const shoots = await atelier(["shoots", "list", "--limit", "2"]);
    expect(shoots.code, shoots.stderr).toBe(0);
    expect(shoots.stdout.trim().split("\n")).toHaveLength(3);

    const settings = JSON.stringify({ review: [], aspectRatio: "4:5" });
    const saved = await atelier(["recipes", "create", "ss27-studio", "--settings", settings]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout.trim()).toBe("saved ss27-studio@1");
    expect((await atelier(["recipes", "create", "ss27-studio", "--settings", settings])).stdout.trim()).toBe("ss27-studio@1 already has these settings");
    const refused = await atelier(["recipes", "create", "ss27-studio", "--settings", '{"aspectRatio":"5:4"}']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/settings\.aspectRatio: /);
    const listed = await atelier(["recipes", "list"]);
    expect(listed.stdout).toMatch(/^ss27-studio +1 of 1 /m);
  });
});
