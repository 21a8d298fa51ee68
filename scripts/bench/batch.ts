/**
 * `npm run bench:batch`: 100 shoots in one batch through the whole local stack (wrangler dev, the
 * media service, the simulator), auto-approved, with the simulator's latencies scaled down (hero
 * and contact sheet 2 s, clips 5 s) and caps FAL images 8, Kling 4. Reports, from one run:
 *
 * - whether every shoot completed, the simulator's own peak of jobs in flight per model against
 *   the caps, and duplicate provider jobs (the simulator's count against the jobs the shoots need);
 * - wall time against the lower bound the caps allow: per provider, the provider-seconds the
 *   simulator spent (its jobs' submit-to-result times, summed) divided by the cap;
 * - shoots per minute;
 * - the delay from a provider webhook's arrival at the Worker (before it is verified) to the start
 *   of the workflow's next step (`job.resumed` records it: the `release` step after a FAL webhook,
 *   the `check` step that reads the task from Kling after a Kling callback), p50 and p95, split
 *   into its parts.
 *
 * BENCH_SHOOTS (default 100) changes the size; E2E_PORT_OFFSET moves the ports; BENCH_STATE_ROOT
 * moves the local state.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { ROOT, Stack } from "../stack.ts";
import { apiClient, submitLookBatch, uploadPlainReferences } from "./batch-client.ts";

const SHOOTS = Number(process.env.BENCH_SHOOTS ?? 100);
const CAPS = { "fal:image": 8, "kling:video": 4 };
// The simulator holds an image until IMAGE_MS after it started and a clip until CLIP_MS (longer only
// when synthesis itself takes longer on a loaded machine). The bound below uses the latencies the
// simulator actually had, whatever they were.
const IMAGE_MS = Number(process.env.BENCH_IMAGE_MS ?? 2000);
const CLIP_MS = Number(process.env.BENCH_CLIP_MS ?? 5000);
const PORT = 19400 + Number(process.env.E2E_PORT_OFFSET ?? 0);

interface SimJob {
  provider: string;
  model: string;
  id: string;
  status: string;
  createdAt: string;
  completedAt?: string;
  webhookAttempts: { ok: boolean; at: string }[];
}
interface ShootDetail {
  id: string;
  status: string;
  error: string | null;
  jobs: { id: string; type: string; provider: string; status: string; completedAt: string | null }[];
  timeline: { type: string; data: { job?: string; startedAt?: string } | null; at: string }[];
}

// BENCH_STATE_ROOT puts the local D1, R2 and Workflows state elsewhere (e.g. /dev/shm, to see what the disk costs).
const stateDir = path.join(process.env.BENCH_STATE_ROOT ?? path.join(ROOT, ".atelier"), `bench-batch-${randomBytes(3).toString("hex")}`);
const stack = new Stack({
  stateDir,
  ports: { worker: PORT, media: PORT + 1, sim: PORT + 2 },
  simulate: true,
  vars: {
    PROVIDER_CAPS: JSON.stringify({
      "fal:image": { global: CAPS["fal:image"], perAccount: CAPS["fal:image"] },
      "kling:video": { global: CAPS["kling:video"], perAccount: CAPS["kling:video"] },
    }),
    PROVIDER_WAIT_TIMEOUT: "2 minutes",
    PROVIDER_MAX_WAITS: "60",
    MEDIA_JOB_TIMEOUT: "3 minutes",
    MEDIA_MAX_WAITS: "20",
  },
  simEnv: { SIM_IMAGE_DELAY_MS: String(IMAGE_MS), SIM_CLIP_MIN_MS: String(CLIP_MS), SIM_CLIP_SECONDS: "1", SIM_QUIET: "1" },
  cronEveryMs: 60_000, // as in production
  log: (svc, line) => {
    if (svc === "worker" && line.includes('"workflow notified"')) {
      const m = /\{.*\}/.exec(line);
      if (m) {
        try {
          const j = JSON.parse(m[0]) as { job: string; received?: string; at: string; sendMs: number };
          notifiedAt.set(j.job, { received: j.received ? Date.parse(j.received) : undefined, at: Date.parse(j.at), sendMs: j.sendMs });
        } catch {
          /* a line cut by the runtime */
        }
      }
      return;
    }
    if (process.env.BENCH_VERBOSE || /error|unhandled/i.test(line)) console.log(`[${svc}] ${line.slice(0, 300)}`);
  },
});

// "workflow notified" lines of the Worker: when each job's outcome arrived and its event was handed to the engine.
const notifiedAt = new Map<string, { received?: number; at: number; sendMs: number }>();
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function main() {
  stack.prepare();
  await stack.start();
  const api = apiClient(stack);

  const refs = await uploadPlainReferences(stack);

  const t0 = Date.now();
  const batch = await submitLookBatch(api, SHOOTS, refs);
  let last = "";
  let peakWaiting = "";
  for (;;) {
    const s = await api<{ status: string; counts: { byState: Record<string, number> }; shoots: { waiting: string | null }[] }>(
      "GET",
      `/api/batches/${batch.id}`,
    );
    const line = JSON.stringify(s.counts.byState);
    const w = s.shoots.map((x) => x.waiting).filter(Boolean) as string[];
    if (w.length) peakWaiting = w.sort((a, b) => Number(b.match(/(\d+) ahead/)?.[1] ?? 0) - Number(a.match(/(\d+) ahead/)?.[1] ?? 0))[0];
    if (line !== last) console.log(`${((Date.now() - t0) / 1000).toFixed(0)} s ${line}${w.length ? `  e.g. "${peakWaiting}"` : ""}`);
    last = line;
    if (s.status === "completed") break;
    if (Date.now() - t0 > 90 * 60_000) throw new Error("batch did not complete within 90 minutes");
    await new Promise((r) => setTimeout(r, 5000));
  }
  const wallS = (Date.now() - t0) / 1000;

  const sim = async <T>(p: string) => (await (await fetch(`${stack.simUrl}${p}`)).json()) as T;
  const simJobs = (await sim<{ jobs: SimJob[] }>("/__sim/jobs")).jobs;
  const concurrency = await sim<Record<string, { peak: number; jobs: number }>>("/__sim/concurrency");
  const shoots: ShootDetail[] = [];
  for (const s of batch.shoots) shoots.push(await api<ShootDetail>("GET", `/api/shoots/${s.id}`));
  const completed = shoots.filter((s) => s.status === "completed").length;

  const perProvider = (pred: (j: SimJob) => boolean) => {
    const js = simJobs.filter(pred);
    const seconds = js.reduce((sum, j) => sum + (Date.parse(j.completedAt ?? j.createdAt) - Date.parse(j.createdAt)) / 1000, 0);
    return { jobs: js.length, seconds, meanS: seconds / Math.max(1, js.length) };
  };
  const fal = perProvider((j) => j.provider === "fal");
  const kling = perProvider((j) => j.provider === "kling");
  const lowerBound = Math.max(fal.seconds / CAPS["fal:image"], kling.seconds / CAPS["kling:video"]);
  // Slot hand-off: with the pool full, the n-th job the simulator accepts takes the slot of the
  // (n - cap)-th to finish, so the gap between the two is what a hand-off costs end to end (the
  // callback, the workflow's release, the next shoot's wake, acquire and submit).
  const handoff = (pred: (j: SimJob) => boolean, cap: number) => {
    const js = simJobs.filter(pred);
    const created = js.map((j) => Date.parse(j.createdAt)).sort((a, b) => a - b);
    const done = js.map((j) => Date.parse(j.completedAt ?? j.createdAt)).sort((a, b) => a - b);
    const gaps = created
      .slice(cap)
      .map((t, i) => t - done[i])
      .filter((g) => g >= 0);
    return { n: gaps.length, p50: pct(gaps, 50), p95: pct(gaps, 95) };
  };

  // Duplicates: the simulator saw more jobs than the shoots' job rows (each a distinct id), or two per row.
  const rows = shoots.flatMap((s) => s.jobs.filter((j) => j.type === "provider"));
  const duplicates = (["fal", "kling"] as const).reduce(
    (n, p) => n + Math.max(0, simJobs.filter((j) => j.provider === p).length - rows.filter((r) => r.provider === p).length),
    0,
  );

  // Webhook arrival → `job.resumed`, and its parts: arrival → event handed to the engine (FAL's
  // signature check and job row; Kling's token check; then `sendEvent`, sendMs of it) → next step.
  const delays: number[] = [];
  const byProvider: Record<string, number[]> = { fal: [], kling: [] };
  const arrivalToNotified: number[] = [];
  const notifiedToResumed: number[] = [];
  const sendMs: number[] = [];
  let noArrival = 0; // finished by a poll, or its log line was lost
  for (const s of shoots) {
    for (const j of s.jobs.filter((x) => x.type === "provider" && x.completedAt)) {
      const resumed = s.timeline.find((e) => e.type === "job.resumed" && e.data?.job === j.id);
      // When the first step after the outcome started, or, for older events, when the write landed.
      const resumedAt = Date.parse(resumed?.data?.startedAt ?? resumed?.at ?? "");
      const n = notifiedAt.get(j.id);
      if (!resumed) continue;
      if (!n?.received) {
        noArrival++;
        continue;
      }
      delays.push(resumedAt - n.received);
      byProvider[j.provider]?.push(resumedAt - n.received);
      arrivalToNotified.push(n.at - n.received);
      notifiedToResumed.push(resumedAt - n.at);
      sendMs.push(n.sendMs);
    }
  }
  const p50p95 = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95) });

  const report = {
    shoots: SHOOTS,
    completed,
    failed: shoots.filter((s) => s.status !== "completed").map((s) => `${s.id}: ${s.status} ${s.error ?? ""}`),
    wallSeconds: Math.round(wallS),
    lowerBoundSeconds: Math.round(lowerBound),
    wallOverLowerBound: Number((wallS / lowerBound).toFixed(2)),
    perProvider: {
      fal: {
        jobs: fal.jobs,
        providerSeconds: Math.round(fal.seconds),
        meanJobS: Number(fal.meanS.toFixed(2)),
        cap: CAPS["fal:image"],
        boundS: Math.round(fal.seconds / CAPS["fal:image"]),
      },
      kling: {
        jobs: kling.jobs,
        providerSeconds: Math.round(kling.seconds),
        meanJobS: Number(kling.meanS.toFixed(2)),
        cap: CAPS["kling:video"],
        boundS: Math.round(kling.seconds / CAPS["kling:video"]),
      },
    },
    slotHandoffMs: { fal: handoff((j) => j.provider === "fal", CAPS["fal:image"]), kling: handoff((j) => j.provider === "kling", CAPS["kling:video"]) },
    simPeakInFlight: Object.fromEntries(Object.entries(concurrency).map(([k, v]) => [k, v.peak])),
    jobsNeeded: { fal: SHOOTS * 2, kling: SHOOTS * 5 },
    duplicateProviderJobs: duplicates,
    shootsPerMinute: Number((completed / (wallS / 60)).toFixed(2)),
    resumeDelayMs: { from: "webhook arrival", n: delays.length, p50: pct(delays, 50), p95: pct(delays, 95), max: pct(delays, 100), noArrivalLogged: noArrival },
    // FAL webhooks are signed and checked in the Worker; a Kling callback wakes a step that reads the task from Kling.
    resumeDelayByProviderMs: { fal: p50p95(byProvider.fal), kling: p50p95(byProvider.kling) },
    resumeSplitMs: {
      arrivalToNotified: p50p95(arrivalToNotified),
      sendEvent: p50p95(sendMs),
      notifiedToResumed: p50p95(notifiedToResumed),
    },
    exampleWaiting: peakWaiting,
  };
  console.log(JSON.stringify(report, null, 2));
  const capsHeld =
    (concurrency[`fal:${"fal-ai/nano-banana-pro/edit"}`]?.peak ?? 0) <= CAPS["fal:image"] &&
    Object.entries(concurrency)
      .filter(([k]) => k.startsWith("kling:"))
      .every(([, v]) => v.peak <= CAPS["kling:video"]);
  const ok = completed === SHOOTS && capsHeld && duplicates === 0 && fal.jobs === SHOOTS * 2 && kling.jobs === SHOOTS * 5;
  console.log(ok ? "PASS: all completed, caps held, no duplicate provider jobs" : "FAIL");
  process.exitCode = ok ? 0 : 1;
}

// Ctrl-C stops the stack too (its services run in their own process groups).
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    void stack.stop().finally(() => {
      rmSync(stateDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stack.stop();
    if (!process.env.BENCH_KEEP) rmSync(stateDir, { recursive: true, force: true });
  });
