/**
 * Idempotent job registry (docs/contracts.md: "Idempotent by id").
 *
 * - While a job runs, a second POST with the same id awaits the same promise (no second run).
 * - A finished job's answer is written as JSON under `<stateDir>/jobs/`, so a restarted service
 *   answers it again without downloading, computing or uploading anything.
 * - Failures are not stored: a 422 changed nothing (outputs are only PUT on success) and a 500 is
 *   meant to be retried, so running again is always safe and may succeed once inputs are fixed.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { Semaphore } from "../common/semaphore.ts";
import { errorMessage, isInputError } from "./errors.ts";

export type JobAnswer =
  | { httpStatus: 200; body: { id: string; status: "done"; result: unknown } }
  | { httpStatus: 422; body: { id: string; status: "failed"; error: string } }
  | { httpStatus: 409; body: { id: string; status: "conflict"; error: string } }
  | { httpStatus: 500; body: { id: string; status: "error"; error: string } };

interface StoredJob {
  id: string;
  status: "done";
  fingerprint: string;
  finishedAt: string;
  result: unknown;
}

export class JobRegistry {
  private readonly dir: string;
  private readonly inFlight = new Map<string, { fingerprint: string; answer: Promise<JobAnswer> }>();
  private readonly semaphore: Semaphore;
  private readonly log: (line: string) => void;

  constructor(opts: { stateDir: string; concurrency?: number; log?: (line: string) => void }) {
    this.dir = path.join(opts.stateDir, "jobs");
    this.semaphore = new Semaphore(opts.concurrency ?? 2);
    this.log = opts.log ?? (() => {});
  }

  private file(id: string): string {
    // Ids come from the URL; hashing keeps any id a safe, fixed-length file name.
    return path.join(this.dir, `${createHash("sha256").update(id).digest("hex").slice(0, 40)}.json`);
  }

  private async load(id: string): Promise<StoredJob | undefined> {
    try {
      const stored = JSON.parse(await readFile(this.file(id), "utf8")) as StoredJob;
      return stored.id === id && stored.status === "done" ? stored : undefined;
    } catch {
      return undefined; // missing or half-written: treat as not finished
    }
  }

  private async store(job: StoredJob): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.file(job.id);
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, JSON.stringify(job));
    await rename(tmp, target); // atomic: a crash never leaves a truncated answer behind
  }

  /** The stored or running state of a job, for GET /jobs/:id. */
  async status(id: string): Promise<JobAnswer | { httpStatus: 202; body: { id: string; status: "running" } } | undefined> {
    if (this.inFlight.has(id)) return { httpStatus: 202, body: { id, status: "running" } };
    const stored = await this.load(id);
    return stored ? { httpStatus: 200, body: { id, status: "done", result: stored.result } } : undefined;
  }

  /**
   * Runs `work` once per id. `fingerprint` identifies what was asked (kind, params, names, not the
   * signed URLs, which change between retries); reusing an id for a different job is a 409.
   */
  submit(id: string, fingerprint: string, work: () => Promise<unknown>): Promise<JobAnswer> {
    const running = this.inFlight.get(id);
    if (running) {
      return running.fingerprint === fingerprint ? running.answer : Promise.resolve(conflict(id));
    }
    const answer = this.execute(id, fingerprint, work).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, { fingerprint, answer });
    return answer;
  }

  private async execute(id: string, fingerprint: string, work: () => Promise<unknown>): Promise<JobAnswer> {
    try {
      const stored = await this.load(id);
      if (stored) {
        if (stored.fingerprint !== fingerprint) return conflict(id);
        return { httpStatus: 200, body: { id, status: "done", result: stored.result } };
      }
      const started = Date.now();
      const result = await this.semaphore.use(work);
      await this.store({ id, status: "done", fingerprint, finishedAt: new Date().toISOString(), result });
      this.log(`job ${id} done in ${Date.now() - started} ms`);
      return { httpStatus: 200, body: { id, status: "done", result } };
    } catch (err) {
      if (isInputError(err)) {
        this.log(`job ${id} failed: ${err.message}`);
        return { httpStatus: 422, body: { id, status: "failed", error: err.message } };
      }
      this.log(`job ${id} internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return { httpStatus: 500, body: { id, status: "error", error: errorMessage(err) } };
    }
  }
}

function conflict(id: string): JobAnswer {
  return {
    httpStatus: 409,
    body: { id, status: "conflict", error: `job id "${id}" was already used for a different job; use a new id` },
  };
}
