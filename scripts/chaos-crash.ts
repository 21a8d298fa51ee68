/**
 * `npm run chaos:crash [-- --shoots 10 --kills 5 --seed N --keep]`: crash chaos on the local stack.
 * Starts a private stack (own ports and state), creates the shoots at once with auto-approval, and
 * at random moments SIGKILLs the runtime (wrangler dev and its workerd) and the media service
 * together and starts them again; the simulator, standing for the outside world, keeps running.
 * Then every shoot must complete with each asset present exactly once and readable, the doctor must
 * find D1 and R2 in agreement, and no raw log line may carry a secret. The last line prints the counts.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { mulberry32 } from "../common/prng.ts";
import { doctor } from "./doctor.ts";
import { findSecrets } from "./log-secrets.ts";
import { ROOT, Stack } from "./stack.ts";
import { isFinalStatus } from "../src/domain/contract.ts";

const { values } = parseArgs({
  options: {
    shoots: { type: "string", default: "10" },
    kills: { type: "string", default: "5" },
    seed: { type: "string" },
    "min-gap": { type: "string", default: "5" },
    "max-gap": { type: "string", default: "35" },
    keep: { type: "boolean", default: false },
    /** First of three ports (worker, media, simulator); E2E_PORT_OFFSET is added. */
    port: { type: "string", default: "23200" },
    verbose: { type: "boolean", default: false },
  },
});
const SHOOTS = Number(values.shoots);
const KILLS = Number(values.kills);
const seed = values.seed ? Number(values.seed) : randomBytes(4).readUInt32BE();
const random = mulberry32(seed);
const EXPECTED = [
  "plan-0-v1",
  "hero-0-v1",
  "contact-sheet-0-v1",
  ...[1, 2, 3, 4, 5, 6].map((i) => `frame-${i}-v1`),
  ...[1, 2, 3, 4, 5].map((i) => `clip-${i}-v1`),
  "reel-0-v1",
  "poster-0-v1",
];

interface Summary {
  id: string;
  status: string;
  stage: string;
}
interface Detail extends Summary {
  error: string | null;
  assets: { kind: string; index: number; version: number; url: string; bytes: number }[];
}

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const say = (s: string) => console.log(`[chaos ${elapsed()}] ${s}`);

const offset = Number(process.env.E2E_PORT_OFFSET ?? 0);
const base = Number(values.port) + offset;
const logs: string[] = [];
const stack = new Stack({
  stateDir: path.join(ROOT, ".atelier", `chaos-${randomBytes(3).toString("hex")}`),
  ports: { worker: base, media: base + 1, sim: base + 2 },
  simulate: true,
  // Short waits, so a message lost with a killed runtime is re-dispatched within seconds; many of
  // them, so ten stitches queued behind each other on a loaded machine are not given up on (with 40
  // waits, runs 2 and 3 failed three shoots each at "no result after 40 dispatches").
  vars: {
    PROVIDER_WAIT_TIMEOUT: "20 seconds",
    MEDIA_JOB_TIMEOUT: "15 seconds",
    PROVIDER_MAX_WAITS: "180",
    MEDIA_MAX_WAITS: "240",
    STRANDED_AFTER: "30 seconds",
  },
  simEnv: { SIM_CLIP_SECONDS: "2" },
  cronEveryMs: 5_000,
  rawLogs: true,
  log: (svc, line) => {
    logs.push(`[${svc}] ${line}`);
    if (values.verbose) console.log(`[${svc}] ${line}`);
  },
});

async function api<T>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${stack.identity.apiKey}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

async function list(): Promise<Summary[]> {
  const res = await api<{ shoots: Summary[] }>("GET", "/api/shoots?limit=100");
  if (res.status !== 200) throw new Error(`list answered ${res.status}`);
  return res.body.shoots;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  say(`seed ${seed}: ${SHOOTS} shoots, ${KILLS} kills, ports ${base}-${base + 3}`);
  stack.prepare();
  await stack.start();

  const form = new FormData();
  for (const c of [
    [40, 40, 80],
    [200, 160, 120],
  ]) {
    const png = await sharp({ create: { width: 360, height: 480, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } })
      .png()
      .toBuffer();
    form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
  }
  const up = await fetch(`${stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${stack.identity.apiKey}` }, body: form });
  if (up.status !== 201) throw new Error(`upload answered ${up.status}: ${await up.text()}`);
  const refs = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
  const briefs = ["industrial editorial", "warm daylight street", "studio black drama", "urban lean streetwear", "seated editorial calm"];
  const created = await Promise.all(
    Array.from({ length: SHOOTS }, (_, i) =>
      api<{ id: string }>("POST", "/api/shoots", {
        brief: `${briefs[i % briefs.length]} ${i + 1}`,
        references: refs,
        review: [],
        idempotencyKey: `chaos-${seed}-${i}`,
      }),
    ),
  );
  if (created.some((c) => c.status !== 201)) throw new Error(`create answered ${created.map((c) => c.status).join(",")}`);
  const ids = created.map((c) => c.body.id);
  say(`created ${ids.length} shoots`);

  // Kills at random moments: each after a random gap, whatever the shoots are doing then.
  const kills: string[] = [];
  for (let k = 1; k <= KILLS; k++) {
    const gap = Number(values["min-gap"]) + random() * (Number(values["max-gap"]) - Number(values["min-gap"]));
    await sleep(gap * 1000);
    const shoots = await list().catch(() => [] as Summary[]);
    const running = shoots.filter((s) => !isFinalStatus(s.status));
    const perStage = new Map<string, number>();
    for (const s of running) perStage.set(s.stage, (perStage.get(s.stage) ?? 0) + 1);
    const stages = [...perStage].map(([s, n]) => `${s}:${n}`).join(" ");
    await stack.kill("worker", "SIGKILL");
    await stack.kill("media", "SIGKILL");
    kills.push(`${elapsed()} (${running.length} running${stages ? `: ${stages}` : ""})`);
    say(`kill ${k}/${KILLS} after ${gap.toFixed(1)}s gap; ${running.length} shoots running (${stages || "none"})`);
    await sleep(random() * 2000);
    await stack.start(["media", "worker"]);
    say(`restarted`);
  }

  const deadline = Date.now() + 60 * 60_000;
  let shoots: Summary[] = [];
  for (;;) {
    shoots = await list().catch(() => shoots);
    const done = shoots.filter((s) => ids.includes(s.id) && isFinalStatus(s.status)).length;
    if (done === ids.length) break;
    if (Date.now() > deadline) break;
    await sleep(3000);
  }

  let completed = 0;
  let duplicates = 0;
  let missing = 0;
  let unreadable = 0;
  for (const id of ids) {
    const s = (await api<Detail>("GET", `/api/shoots/${id}`)).body;
    if (s.status === "completed") completed++;
    else say(`shoot ${id} is ${s.status} at ${s.stage}${s.error ? `: ${s.error}` : ""}`);
    const slots = s.assets.filter((a) => a.kind !== "reference").map((a) => `${a.kind}-${a.index}-v${a.version}`);
    const dup = slots.length - new Set(slots).size;
    const miss = EXPECTED.filter((e) => !slots.includes(e)).length;
    const extra = slots.filter((x) => !EXPECTED.includes(x));
    duplicates += dup + extra.length;
    missing += miss;
    if (dup || miss || extra.length) say(`shoot ${id}: ${dup} duplicate, ${miss} missing, extra ${extra.join(",") || "none"}`);
    for (const a of s.assets) {
      const res = await fetch(a.url);
      const n = (await res.arrayBuffer()).byteLength;
      if (res.status !== 200 || n !== a.bytes) unreadable++;
    }
  }
  const simJobs = (await (await fetch(`${stack.simUrl}/__sim/jobs`)).json()) as { jobs: { provider: string; model: string }[] };
  const submissions = simJobs.jobs.filter((j) => j.provider === "kling" || j.model.includes("nano-banana")).length;
  const woken = logs.filter((l) => l.includes("recovery: woke a stranded shoot")).length;
  const leaks = findSecrets(logs, stack);
  for (const l of leaks.slice(0, 5)) say(`secret in logs: ${l}`);

  await stack.stop();
  const report = await doctor({ persistTo: stack.persistDir });
  for (const p of report.problems) say(`doctor: ${p.kind} ${p.detail}`);
  if (!values.keep) rmSync(stack.opts.stateDir, { recursive: true, force: true });

  say(`kills at ${kills.join("; ")}`);
  const ok = completed === SHOOTS && duplicates === 0 && missing === 0 && unreadable === 0 && report.problems.length === 0 && leaks.length === 0;
  console.log(
    `chaos:crash ${ok ? "PASS" : "FAIL"} seed=${seed}: ${completed}/${SHOOTS} completed, ${kills.length} kills, ${duplicates} duplicate and ${missing} missing assets, ` +
      `${unreadable} unreadable, ${submissions}/${SHOOTS * 7} provider submissions, ${woken} wakes, doctor ${report.problems.length} problems (${report.assets} assets, ${report.objects} objects), ${leaks.length} secrets in logs, ${elapsed()}`,
  );
  return ok ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(err);
  console.log(`chaos:crash FAIL seed=${seed}: ${String(err instanceof Error ? err.message : err).split("\n")[0]} (${elapsed()})`);
  await stack.stop().catch(() => undefined);
}
process.exit(code);
