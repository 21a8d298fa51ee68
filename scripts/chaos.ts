/**
 * `npm run chaos`: N shoots (default 20, CHAOS_SHOOTS) through a private stack at once, every
 * checkpoint auto-approved, against a simulator that drops 20 % of webhooks, duplicates 10 %, holds
 * 10 % back past the workflow's wait timeout, reorders 10 %, fails 5 % of jobs (content-policy
 * refusals) and answers 5 % of submissions 429 with Retry-After.
 *
 * It then checks what a producer and an accountant would: every shoot ended completed, or waits at
 * a checkpoint showing its provider's error (nothing stranded, nothing failed); no asset slot
 * (kind, index, version) holds two objects; each shoot's cost total equals the sum of its jobs'
 * costs. The last line prints the counts; the exit code is non-zero when a check fails.
 *
 *   CHAOS_SHOOTS=3 npm run chaos        # the size CI runs
 *   CHAOS_SEED=7 CHAOS_PORT=21000 …     # another draw, other ports (E2E_PORT_OFFSET is added)
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import sharp from "sharp";
import { ROOT, Stack } from "./stack.ts";
import { isFinalStatus } from "../src/domain/contract.ts";

const SHOOTS = Math.max(1, Number(process.env.CHAOS_SHOOTS ?? 20) || 20);
const SEED = Number(process.env.CHAOS_SEED ?? 1) || 1;
const PORT = (Number(process.env.CHAOS_PORT ?? 21000) || 21000) + (Number(process.env.E2E_PORT_OFFSET ?? 0) || 0);
const TIMEOUT_MS = (Number(process.env.CHAOS_TIMEOUT_MINUTES ?? 40) || 40) * 60_000;
// The workflow's provider wait; delayed webhooks are held back past it, so the poll fallback runs.
const WAIT_SECONDS = 20;

export const CHAOS_FAULTS = {
  webhookDropRate: 0.2,
  webhookDuplicateRate: 0.1,
  webhookDelayRate: 0.1,
  webhookDelayMs: (WAIT_SECONDS + 10) * 1000,
  webhookReorderRate: 0.1,
  jobErrorRate: 0.05,
  rateLimitRate: 0.05,
  retryAfterSeconds: 2,
  seed: SEED,
};

interface Job {
  id: string;
  type: string;
  stage: string;
  status: string;
  costUsd: number | null;
  error: string | null;
}
interface Shoot {
  id: string;
  status: string;
  stage: string;
  error: string | null;
  checkpoint: { stage: string; attempt: number; artifacts: { error?: string; failed?: unknown[] } } | null;
  assets: { kind: string; index: number; version: number }[];
  jobs: Job[];
  costs: { totalUsd: number };
}

const log = (line: string) => console.log(`[chaos] ${line}`);
const round = (usd: number) => Math.round(usd * 10000) / 10000;

async function main(): Promise<number> {
  const stateDir = path.join(ROOT, ".atelier", `chaos-${randomBytes(3).toString("hex")}`);
  const stack = new Stack({
    stateDir,
    ports: { worker: PORT, media: PORT + 1, sim: PORT + 2 },
    simulate: true,
    vars: { PROVIDER_WAIT_TIMEOUT: `${WAIT_SECONDS} seconds`, PROVIDER_MAX_WAITS: "60", MEDIA_JOB_TIMEOUT: "60 seconds", MEDIA_MAX_WAITS: "30" },
    simEnv: { SIM_CLIP_SECONDS: "1", SIM_QUIET: "1", SIM_FAULTS: JSON.stringify(CHAOS_FAULTS) },
    cronEveryMs: 10_000,
    log: (svc, line) => {
      if (process.env.ATELIER_VERBOSE) console.log(`[${svc}] ${line}`);
    },
  });
  const started = Date.now();
  // Another stack on these ports would answer our health checks and refuse our key: say so instead.
  for (const port of [PORT, PORT + 1, PORT + 2, PORT + 3]) {
    if (!(await portFree(port))) throw new Error(`port ${port} is in use; set CHAOS_PORT (or E2E_PORT_OFFSET) to move the stack`);
  }
  try {
    log(`starting a stack on ports ${PORT}–${PORT + 3} with faults ${JSON.stringify(CHAOS_FAULTS)}`);
    stack.prepare();
    await stack.start();
    const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${stack.url}${p}`, {
        method,
        headers: { authorization: `Bearer ${stack.identity.apiKey}`, ...(body && !(body instanceof FormData) ? { "content-type": "application/json" } : {}) },
        body: body instanceof FormData ? body : body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p} -> ${res.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text) as T;
    };

    const form = new FormData();
    for (const c of [
      [40, 50, 90],
      [180, 160, 130],
    ]) {
      const png = await sharp({ create: { width: 480, height: 640, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } })
        .png()
        .toBuffer();
      form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
    }
    const refs = (await api<{ uploads: { id: string }[] }>("POST", "/api/uploads", form)).uploads.map((u) => u.id);
    const ids: string[] = [];
    for (let i = 0; i < SHOOTS; i++) {
      // Short reels keep the media service's share of two cores small; the providers are the point.
      const created = await api<{ id: string }>("POST", "/api/shoots", {
        brief: ["studio editorial", "industrial streetwear", "warm daylight portrait", "urban street walk"][i % 4],
        references: refs,
        review: [],
        stitch: { fps: 24, clipSeconds: 0.5 },
        idempotencyKey: `chaos-${SEED}-${i}`,
      });
      ids.push(created.id);
    }
    log(`created ${ids.length} shoots, every checkpoint auto-approved`);

    // Ended: completed, or waiting at a checkpoint that shows an error (only a person can go on).
    const ended = (s: Shoot) => isFinalStatus(s.status) || (s.status === "awaiting_review" && Boolean(s.checkpoint?.artifacts?.error));
    let shoots: Shoot[] = [];
    let lastReport = 0;
    for (;;) {
      shoots = await Promise.all(ids.map((id) => api<Shoot>("GET", `/api/shoots/${id}`)));
      const open = shoots.filter((s) => !ended(s));
      if (open.length === 0) break;
      if (Date.now() - started > TIMEOUT_MS) {
        log(`timed out with ${open.length} shoots still running: ${open.map((s) => `${s.id}@${s.stage}/${s.status}`).join(", ")}`);
        break;
      }
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        const byStage = new Map<string, number>();
        for (const s of open) byStage.set(s.stage, (byStage.get(s.stage) ?? 0) + 1);
        log(
          `${Math.round((Date.now() - started) / 1000)} s: ${shoots.length - open.length} ended, running ${[...byStage].map(([k, v]) => `${k} ${v}`).join(", ")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 3000));
    }

    const counts = (await (await fetch(`${stack.simUrl}/__sim/faults/counts`)).json()) as Record<string, number>;
    const problems: string[] = [];
    let completed = 0;
    let atError = 0;
    for (const s of shoots) {
      if (s.status === "completed") completed++;
      else if (s.status === "awaiting_review" && s.checkpoint?.artifacts?.error) {
        atError++;
        // The checkpoint carries the provider's own words (a refusal names its reason).
        if (!/FAL|Kling|risk control|content|flagged|fault|429|provider/i.test(s.checkpoint.artifacts.error))
          problems.push(`${s.id}: checkpoint error does not carry a provider message: ${s.checkpoint.artifacts.error}`);
      } else problems.push(`${s.id}: ended ${s.status} at ${s.stage}${s.error ? ` (${s.error})` : ""}`);
      const slots = new Map<string, number>();
      for (const a of s.assets)
        if (a.kind !== "reference") slots.set(`${a.kind}-${a.index}-v${a.version}`, (slots.get(`${a.kind}-${a.index}-v${a.version}`) ?? 0) + 1);
      for (const [slot, n] of slots) if (n > 1) problems.push(`${s.id}: ${n} objects in slot ${slot}`);
      const sum = round(s.jobs.reduce((t, j) => t + (j.costUsd ?? 0), 0));
      if (round(s.costs.totalUsd) !== sum) problems.push(`${s.id}: cost total ${s.costs.totalUsd} ≠ sum of its jobs ${sum}`);
    }
    const jobs = shoots.flatMap((s) => s.jobs);
    const total = round(shoots.reduce((t, s) => t + s.costs.totalUsd, 0));
    for (const p of problems) log(`FAIL ${p}`);
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(
      `chaos: ${shoots.length} shoots in ${minutes} min: ${completed} completed, ${atError} at a checkpoint with a provider error, ` +
        `${shoots.length - completed - atError} other; webhooks ${counts.webhooksDropped} dropped, ${counts.webhooksDuplicated} duplicated, ` +
        `${counts.webhooksDelayed} delayed, ${counts.webhooksReordered} reordered; ${counts.refused} refusals, ${counts.rateLimited} 429s, ` +
        `${counts.submitErrors} 5xx; ${jobs.filter((j) => j.type === "provider").length} provider job rows, ${jobs.filter((j) => j.id.includes("-dup-")).length} duplicates; ` +
        `${problems.length} problems; cost $${total} = sum of job costs: ${problems.some((p) => p.includes("cost")) ? "no" : "yes"}`,
    );
    return problems.length === 0 && shoots.length === SHOOTS ? 0 : 1;
  } finally {
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

process.exitCode = await main().catch((err) => {
  console.error(`[chaos] ${err instanceof Error ? err.stack : String(err)}`);
  return 1;
});
