/**
 * `npm run bench:scale` (issue 21): shoots through the whole local stack (wrangler dev, two media
 * service processes, the simulator), auto-approved, twice: at the provider caps CAPS, then with the
 * caps doubled. Latencies are compressed (images IMAGE_MS, clips CLIP_MS) and media kept small
 * (1K stills; CLIP_SECONDS simulator clips, 0.5 s, stitched at 24 fps and as long a clip) so the
 * run fits a 2-core machine: the output says so. The Worker runs with METER="true"
 * (src/meter.ts), which counts every use of its bindings, and COMPACT_AFTER "1 second", so
 * compaction runs as shoots end.
 *
 * Printed per round, and kept in docs/benchmarks.md by hand:
 * - wall time against the caps' bound (per provider, the provider-seconds the simulator spent ÷ cap);
 * - with the caps doubled, throughput against the first round (target ≥ 1.8×);
 * - per shoot: billed steps (distinct step names per instance), step runs, D1 statements, rows read
 *   and written, D1 bytes kept after compaction, queue messages, Durable Object requests, Workflows
 *   calls, R2 operations by class and bytes kept; CPU seconds per service (the Worker runtime, each
 *   media process with its FFmpeg children, the simulator); the split of media jobs between the two
 *   local processes;
 * - 0 duplicate provider jobs, 0 lost rows (every batch row a shoot in a final state), 0 shoots left
 *   running.
 *
 * BENCH_SHOOTS (default 1000) sets the size; BENCH_RUNNING_MAX the Worker's BATCH_RUNNING_MAX;
 * BENCH_IMAGE_MS, BENCH_CLIP_MS, BENCH_CLIP_SECONDS, BENCH_IMAGE_RESOLUTION, BENCH_FAL_CAP and
 * BENCH_KLING_CAP the run; BENCH_ROUNDS "1" runs only the first round; E2E_PORT_OFFSET moves the ports; BENCH_STATE_ROOT moves the local state.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { MeterAnswer } from "../../common/meter.ts";
import { ROOT, Stack } from "../stack.ts";
import { apiClient, submitLookBatch, uploadPlainReferences } from "./batch-client.ts";

const SHOOTS = Number(process.env.BENCH_SHOOTS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CAPS = { "fal:image": Number(process.env.BENCH_FAL_CAP ?? 8), "kling:video": Number(process.env.BENCH_KLING_CAP ?? 4) };
const IMAGE_MS = Number(process.env.BENCH_IMAGE_MS ?? 2000);
// 7 s: long enough that with the caps doubled the stack's own CPU (about 7.5 CPU-s a shoot here)
// keeps up with the caps on 2 cores, so the caps and not the machine set the pace.
const CLIP_MS = Number(process.env.BENCH_CLIP_MS ?? 7000);
/** Seconds of each simulator clip and of each clip in the reel. */
const CLIP_SECONDS = Number(process.env.BENCH_CLIP_SECONDS ?? 0.5);
/** The stills' size (the Worker's IMAGE_RESOLUTION): 1K keeps each shoot's media small. */
const IMAGE_RESOLUTION = process.env.BENCH_IMAGE_RESOLUTION ?? "1K";
const PORT = 24400 + Number(process.env.E2E_PORT_OFFSET ?? 0);

interface SimJob {
  provider: string;
  createdAt: string;
  completedAt?: string;
}
interface ShootDetail {
  id: string;
  status: string;
  jobs: { id: string; type: string; provider: string; model: string | null; status: string; submittedAt: string | null; completedAt: string | null }[];
}
type Caps = typeof CAPS;

/**
 * CPU seconds each service of the stack has used so far: every process in its process group (the
 * stack starts each detached), its own time and that of the children it has waited for (FFmpeg).
 */
function cpuSeconds(stack: Stack): Record<string, number> {
  const groups = new Map([...stack.procs].map(([name, child]) => [child.pid!, name]));
  const out: Record<string, number> = {};
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command's closing parenthesis: state ppid pgrp … utime(12) stime cutime cstime.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const name = groups.get(Number(f[2]));
    if (name) out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  }
  return out;
}

/** Bytes under a directory (the local R2 bucket's blobs). */
function duBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(path.join(e.parentPath, e.name)).size;
  return total;
}

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
const per = (n: number) => Number((n / SHOOTS).toFixed(1));

async function round(n: number, caps: Caps) {
  const stateDir = path.join(process.env.BENCH_STATE_ROOT ?? path.join(ROOT, ".atelier"), `bench-scale-${randomBytes(3).toString("hex")}`);
  const mediaJobsBy: Record<string, number> = {};
  const stack = new Stack({
    stateDir,
    ports: { worker: PORT + n * 10, media: PORT + n * 10 + 1, sim: PORT + n * 10 + 2, media2: PORT + n * 10 + 3 },
    simulate: true,
    vars: {
      PROVIDER_CAPS: JSON.stringify(Object.fromEntries(Object.entries(caps).map(([k, v]) => [k, { global: v, perAccount: v }]))),
      PROVIDER_WAIT_TIMEOUT: "2 minutes",
      PROVIDER_MAX_WAITS: "60",
      MEDIA_JOB_TIMEOUT: "3 minutes",
      MEDIA_MAX_WAITS: "20",
      METER: "true",
      COMPACT_AFTER: "1 second",
      ...(process.env.BENCH_RUNNING_MAX ? { BATCH_RUNNING_MAX: process.env.BENCH_RUNNING_MAX } : {}),
      IMAGE_RESOLUTION,
    },
    simEnv: { SIM_IMAGE_DELAY_MS: String(IMAGE_MS), SIM_CLIP_MIN_MS: String(CLIP_MS), SIM_CLIP_SECONDS: String(CLIP_SECONDS), SIM_QUIET: "1" },
    cronEveryMs: 60_000,
    log: (svc, line) => {
      // The media service logs `job <id>: <kind>` as each job arrives.
      if (svc.startsWith("media") && / job \S+: \w+$/.test(line)) mediaJobsBy[svc] = (mediaJobsBy[svc] ?? 0) + 1;
      else if (process.env.BENCH_VERBOSE || /error|unhandled/i.test(line)) console.log(`[${svc}] ${line.slice(0, 300)}`);
    },
  });
  const stop = async () => {
    await stack.stop();
    if (!process.env.BENCH_KEEP) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    stack.prepare();
    await stack.start();
    const api = apiClient(stack);
    const meter = async (query = "") => (await (await fetch(`${stack.url}/internal/meter${query}`)).json()) as MeterAnswer;

    const refs = await uploadPlainReferences(stack);

    await meter("?reset=1");
    const cpuBefore = cpuSeconds(stack);
    const bucketDir = path.join(stack.persistDir, "v3", "r2");
    const r2Before = duBytes(bucketDir);
    const t0 = Date.now();
    const batch = await submitLookBatch(api, SHOOTS, refs, { fps: 24, clipSeconds: CLIP_SECONDS });
    let last = "";
    let polls = 0;
    let status: { status: string; counts: { byState: Record<string, number> } };
    for (;;) {
      status = await api("GET", `/api/batches/${batch.id}`);
      polls++;
      const line = JSON.stringify(status.counts.byState);
      if (line !== last) console.log(`round ${n} ${((Date.now() - t0) / 1000).toFixed(0)} s ${line}`);
      last = line;
      if (status.status === "completed") break;
      if (Date.now() - t0 > 6 * 3600_000) throw new Error("batch did not complete within 6 hours");
      await new Promise((r) => setTimeout(r, 5000));
    }
    const wallS = (Date.now() - t0) / 1000;
    const cpuAfter = cpuSeconds(stack);
    const cpuPerShoot = Object.fromEntries(Object.entries(cpuAfter).map(([k, v]) => [k, Number(((v - (cpuBefore[k] ?? 0)) / SHOOTS).toFixed(2))]));
    const counts = await meter();
    // This script's own status reads (one every 5 s) count in the meter too: measure one, take them out.
    const before = (await meter()).d1RowsRead;
    await api("GET", `/api/batches/${batch.id}`);
    const readsPerPoll = (await meter()).d1RowsRead - before;
    const pollReads = readsPerPoll * polls;

    // Compaction of every ended shoot (the cron does 20 a run), then what D1 keeps.
    for (let i = 0; i < Math.ceil(SHOOTS / 20) + 5; i++) {
      const left = (await meter("?bytes=1")).d1Bytes?.uncompacted ?? 0;
      if (left === 0) break;
      await fetch(`${stack.url}/__scheduled?cron=*+*+*+*+*`);
    }
    const kept = (await meter("?bytes=1")).d1Bytes;
    const r2BytesPerShoot = Math.round((duBytes(bucketDir) - r2Before) / SHOOTS);

    const sim = async <T>(p: string) => (await (await fetch(`${stack.simUrl}${p}`)).json()) as T;
    const simJobs = (await sim<{ jobs: SimJob[] }>("/__sim/jobs")).jobs;
    const providerSeconds = (p: string) =>
      simJobs.filter((j) => j.provider === p).reduce((s, j) => s + (Date.parse(j.completedAt ?? j.createdAt) - Date.parse(j.createdAt)) / 1000, 0);
    const bound = Math.max(providerSeconds("fal") / caps["fal:image"], providerSeconds("kling") / caps["kling:video"]);
    const atCap = (provider: string, cap: number) => {
      // The share of the round the provider held `cap` jobs (from the first submit to the last end).
      const edges = simJobs
        .filter((j) => j.provider === provider)
        .flatMap((j) => [
          [Date.parse(j.createdAt), 1],
          [Date.parse(j.completedAt ?? j.createdAt), -1],
        ])
        .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      let inFlight = 0;
      let full = 0;
      for (let i = 0; i < edges.length - 1; i++) {
        inFlight += edges[i]![1]!;
        if (inFlight >= cap) full += edges[i + 1]![0]! - edges[i]![0]!;
      }
      const span = edges.length ? edges.at(-1)![0]! - edges[0]![0]! : 0;
      return Number((span ? (100 * full) / span : 0).toFixed(1));
    };
    const falJobs = simJobs.filter((j) => j.provider === "fal").length;
    const klingJobs = simJobs.filter((j) => j.provider === "kling").length;

    // Media job durations by kind, from a sample of shoots (the API is rate-limited per key).
    const sample: ShootDetail[] = [];
    for (const s of batch.shoots.slice(0, Math.min(50, SHOOTS))) sample.push(await api<ShootDetail>("GET", `/api/shoots/${s.id}`));
    const mediaSeconds: Record<string, number[]> = {};
    for (const j of sample.flatMap((s) => s.jobs.filter((x) => x.type === "media" && x.submittedAt && x.completedAt))) {
      const kind = j.model ?? "media";
      mediaSeconds[kind] = [...(mediaSeconds[kind] ?? []), (Date.parse(j.completedAt!) - Date.parse(j.submittedAt!)) / 1000];
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const mediaTotal = sum(mediaJobsBy);

    const byState = status.counts.byState;
    return {
      round: n,
      caps,
      shoots: SHOOTS,
      note: `local stack on this machine: simulator images ${IMAGE_MS} ms at ${IMAGE_RESOLUTION}, clips ${CLIP_MS} ms (${CLIP_SECONDS} s clips), reels at 24 fps and ${CLIP_SECONDS} s a clip`,
      wallSeconds: Math.round(wallS),
      capsBoundSeconds: Math.round(bound),
      wallOverBound: Number((wallS / bound).toFixed(2)),
      percentOfTimeAtCap: { fal: atCap("fal", caps["fal:image"]), kling: atCap("kling", caps["kling:video"]) },
      shootsPerHour: Math.round(SHOOTS / (wallS / 3600)),
      perShoot: {
        billedSteps: per(counts.steps),
        stepRuns: per(counts.stepRuns),
        d1Statements: per(counts.d1Statements),
        d1RowsRead: per(counts.d1RowsRead - pollReads),
        d1RowsReadByTheBenchsPolls: per(pollReads),
        d1RowsWritten: per(counts.d1RowsWritten),
        d1BytesKeptAfterCompaction: kept?.perShoot ?? null,
        d1BytesKeptByTable: kept?.perShootByTable ?? null,
        queueMessagesSent: per(sum(counts.queueSent)),
        queueMessagesDelivered: per(sum(counts.queueDelivered)),
        durableObjectRequests: per(sum(counts.doRequests)),
        workflowsCalls: per(sum(counts.workflowCalls)),
        r2ClassA: per(counts.r2ClassA),
        r2ClassB: per(counts.r2ClassB),
        r2Deletes: per(counts.r2Deletes),
        r2BytesKept: r2BytesPerShoot,
        cpuSecondsByService: cpuPerShoot,
      },
      detail: { queueSent: counts.queueSent, doRequests: counts.doRequests, workflowCalls: counts.workflowCalls },
      mediaSecondsMedianByKind: Object.fromEntries(Object.entries(mediaSeconds).map(([k, xs]) => [k, Number(median(xs).toFixed(2))])),
      mediaSplit: Object.fromEntries(Object.entries(mediaJobsBy).map(([k, v]) => [k, `${v} (${((100 * v) / Math.max(1, mediaTotal)).toFixed(1)} %)`])),
      duplicateProviderJobs: Math.max(0, falJobs - SHOOTS * 2) + Math.max(0, klingJobs - SHOOTS * 5),
      lostRows: SHOOTS - (byState.completed ?? 0) - (byState.failed ?? 0) - (byState.cancelled ?? 0) - (byState.expired ?? 0),
      leftRunning: (byState.running ?? 0) + (byState.awaiting_review ?? 0) + (byState.queued ?? 0),
      byState,
    };
  } finally {
    await stop();
  }
}

async function main() {
  console.log(`bench:scale: ${SHOOTS} shoots a round through the local stack (compressed latencies, small media: see "note")`);
  const first = await round(1, CAPS);
  console.log(JSON.stringify(first, null, 2));
  const results = [first];
  if (ROUNDS > 1) {
    const second = await round(2, { "fal:image": CAPS["fal:image"] * 2, "kling:video": CAPS["kling:video"] * 2 });
    console.log(JSON.stringify(second, null, 2));
    results.push(second);
    console.log(`throughput with the caps doubled: ${(first.wallSeconds / second.wallSeconds).toFixed(2)}× the first round (target ≥ 1.8×)`);
  }
  const ok = results.every((r) => r.duplicateProviderJobs === 0 && r.lostRows === 0 && r.leftRunning === 0);
  console.log(`wall / caps bound: ${results.map((r) => r.wallOverBound).join(", ")} (target ≤ 1.15)`);
  console.log(ok ? "PASS: no duplicate provider jobs, no lost rows, no shoot left running" : "FAIL");
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
