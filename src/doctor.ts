/**
 * Consistency of D1 and R2: every asset row has its object with the recorded size and sha256, every
 * object under accounts/ has a row, and no job waits for a workflow that has ended. Runs from
 * `npm run doctor` (scripts/doctor.ts, against local state or the deployed bindings) and in tests.
 * `repair` fixes what can be fixed without guessing: objects without a row (older than a grace
 * period, so a media job's output that is about to be recorded is not taken) are deleted, and jobs
 * of ended shoots are marked failed. A row whose object is missing or differs is reported only:
 * the bytes cannot be made up.
 */
import { sha256Hex } from "./lib/crypto.ts";
import { FINAL_SHOOT_STATUSES, isFinalStatus } from "./domain/contract.ts";
import { sqlList } from "./lib/sql.ts";
import { CLAUDE_COPIES } from "./storage/claude-keys.ts";
import { HISTORY_FILE } from "./storage/history-keys.ts";
import { isJobAnswerKey } from "./storage/job-answers.ts";

export interface DoctorProblem {
  kind: "missing-object" | "size-mismatch" | "sha256-mismatch" | "orphan-object" | "stuck-job";
  subject: string;
  detail: string;
  repaired?: boolean;
}

export interface DoctorReport {
  assets: number;
  objects: number;
  jobs: number;
  problems: DoctorProblem[];
  repaired: number;
}

export interface DoctorOptions {
  repair?: boolean;
  /** Hash every object's bytes (default); off: compare the sha256 stored with the object instead. */
  deep?: boolean;
  /** Objects younger than this are not called orphans (a media job's output awaits its row). */
  orphanGraceMs?: number;
  now?: number;
}

/** The parts of D1 and R2 used here, so the same code runs in the Worker and in Node (wrangler's proxy). */
interface Statement {
  bind(...values: unknown[]): Statement;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  run(): Promise<unknown>;
}
export interface DoctorDb {
  prepare(query: string): Statement;
}
interface ObjectHead {
  size: number;
  customMetadata?: Record<string, string>;
  checksums: { sha256?: ArrayBuffer };
}
export interface DoctorBucket {
  get(key: string): Promise<(ObjectHead & { arrayBuffer(): Promise<ArrayBuffer> }) | null>;
  head(key: string): Promise<ObjectHead | null>;
  list(o: {
    prefix: string;
    cursor?: string;
    limit: number;
  }): Promise<{ objects: { key: string; size: number; uploaded: Date }[]; truncated: boolean; cursor?: string }>;
  delete(key: string): Promise<void>;
}

export async function runDoctor(d1: DoctorDb, bucket: DoctorBucket, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const now = opts.now ?? Date.now();
  const grace = opts.orphanGraceMs ?? 10 * 60_000;
  const deep = opts.deep ?? true;
  const problems: DoctorProblem[] = [];

  const rows = (await d1.prepare("SELECT id, r2_key AS key, bytes, sha256 FROM assets").all<{ id: string; key: string; bytes: number; sha256: string }>())
    .results;
  const byKey = new Map(rows.map((r) => [r.key, r]));
  for (const row of rows) {
    const body = deep ? await bucket.get(row.key) : null;
    const obj = deep ? body : await bucket.head(row.key);
    if (!obj) {
      problems.push({ kind: "missing-object", subject: row.id, detail: `asset ${row.id}: no object at ${row.key}` });
      continue;
    }
    if (obj.size !== row.bytes) {
      problems.push({ kind: "size-mismatch", subject: row.id, detail: `asset ${row.id}: row says ${row.bytes} bytes, object has ${obj.size}` });
    }
    let sha: string | undefined;
    if (body) sha = await sha256Hex(await body.arrayBuffer());
    else sha = obj.customMetadata?.sha256 ?? (obj.checksums.sha256 ? hex(obj.checksums.sha256) : undefined);
    if (sha && sha !== row.sha256) {
      problems.push({
        kind: "sha256-mismatch",
        subject: row.id,
        detail: `asset ${row.id}: row sha256 ${row.sha256.slice(0, 12)}…, object ${sha.slice(0, 12)}…`,
      });
    }
  }

  let objects = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: "accounts/", cursor, limit: 1000 });
    for (const o of page.objects) {
      objects++;
      if (byKey.has(o.key)) continue;
      // Scaled copies sent to Claude (planner, judge) are derived and have no asset row by design.
      if (o.key.includes(CLAUDE_COPIES)) continue;
      // A compacted shoot's history (src/history.ts) has no asset row by design.
      if (o.key.endsWith(HISTORY_FILE)) continue;
      // So are media job answers (src/storage/job-answers.ts): the consumer reads them, no asset points at them.
      if (isJobAnswerKey(o.key)) continue;
      if (now - o.uploaded.getTime() < grace) continue;
      const p: DoctorProblem = { kind: "orphan-object", subject: o.key, detail: `object ${o.key} (${o.size} bytes) has no asset row` };
      if (opts.repair) {
        await bucket.delete(o.key);
        p.repaired = true;
      }
      problems.push(p);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);

  const jobs = (await d1.prepare("SELECT count(*) AS n FROM jobs").first<{ n: number }>())?.n ?? 0;
  const stuck = (
    await d1
      .prepare(
        `SELECT j.id, j.status, s.status AS shootStatus FROM jobs j LEFT JOIN shoots s ON s.id = j.shoot_id
          WHERE j.status IN ('pending', 'submitted') AND (s.id IS NULL OR s.status IN (${sqlList(FINAL_SHOOT_STATUSES)}))`,
      )
      .all<{ id: string; status: string; shootStatus: string | null }>()
  ).results;
  for (const j of stuck) {
    const p: DoctorProblem = {
      kind: "stuck-job",
      subject: j.id,
      detail: `job ${j.id} is ${j.status} but its shoot is ${j.shootStatus ?? "gone"}: no workflow waits for it`,
    };
    if (opts.repair && (j.shootStatus === null || isFinalStatus(j.shootStatus))) {
      await d1
        .prepare("UPDATE jobs SET status = 'failed', error = ?2, completed_at = ?3 WHERE id = ?1 AND status IN ('pending', 'submitted')")
        .bind(j.id, `abandoned: the shoot is ${j.shootStatus ?? "gone"} (doctor --repair)`, new Date(now).toISOString())
        .run();
      p.repaired = true;
    }
    problems.push(p);
  }

  return { assets: rows.length, objects, jobs, problems, repaired: problems.filter((p) => p.repaired).length };
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}
