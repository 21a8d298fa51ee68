/**
 * Moving bytes in and out of a job. The service holds no storage credentials: inputs are signed GET
 * URLs and outputs signed PUT URLs (docs/contracts.md). Each job works in its own temp directory,
 * removed afterwards whatever happened.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InputError, errorMessage } from "./errors.ts";
import type { MediaOutputMeta } from "../src/domain/media-jobs.ts";

const MAX_INPUT_BYTES = Number(process.env.MEDIA_MAX_INPUT_BYTES ?? 1024 * 1024 * 1024);
const FETCH_TIMEOUT_MS = Number(process.env.MEDIA_FETCH_TIMEOUT_MS ?? 300_000);
const ATTEMPTS = 3;

export interface NamedUrl {
  name: string;
  url: string;
}

/** A produced file waiting to be PUT, with what the result reports about it. */
export interface OutputFile extends Omit<MediaOutputMeta, "bytes" | "sha256"> {
  name: string;
  path: string;
}

/** What the Worker records per output (the contract type, shared with src/). */
export type OutputInfo = MediaOutputMeta;

export async function withTempDir<T>(id: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const safe = id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40);
  const dir = await mkdtemp(path.join(process.env.MEDIA_TMP_DIR ?? os.tmpdir(), `atelier-job-${safe}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one task per item; the first failure aborts the others, and we wait until every task has
 * stopped, so nothing keeps writing into (or reading from) a temp dir that is about to be removed,
 * and no upload carries on after the job has already answered.
 */
async function allOrNothing<T>(items: T[], task: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const results = await Promise.allSettled(
    items.map((item) =>
      task(item, controller.signal).catch((err: unknown) => {
        controller.abort();
        throw err;
      }),
    ),
  );
  // Report the first real failure, not an abort it caused in a sibling.
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
  const first = failures.find((e) => !(e instanceof Error && e.name === "AbortError")) ?? failures[0];
  if (failures.length) throw first;
}

/** Transient trouble (network, 5xx, 429) is worth another attempt; a 4xx is an answer. */
function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

class HttpStatusError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

function describeUrl(url: string): string {
  // Never echo signatures into logs or error messages.
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

async function downloadOnce(input: NamedUrl, file: string, signal: AbortSignal): Promise<number> {
  const res = await fetch(input.url, { signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]), redirect: "follow" });
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new HttpStatusError(`HTTP ${res.status}`, res.status);
  }
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > MAX_INPUT_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw new InputError(`input "${input.name}" is too large (${declared} bytes; the limit is ${MAX_INPUT_BYTES})`);
  }
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > MAX_INPUT_BYTES) cb(new InputError(`input "${input.name}" is larger than ${MAX_INPUT_BYTES} bytes`));
      else cb(null, chunk);
    },
  });
  if (!res.body) return 0;
  await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), limit, createWriteStream(file));
  return bytes;
}

/**
 * Downloads every input into `dir` as `<name>` (names are validated to be safe file names).
 * A 404/410 means the input is missing: an input problem (422). A refused link (401/403), network
 * trouble and 5xx after retries are internal (500), so the queue tries again later.
 */
export async function downloadInputs(inputs: NamedUrl[], dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  await allOrNothing(inputs, async (input, signal) => {
    const file = path.join(dir, `in-${input.name}`);
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      try {
        const bytes = await downloadOnce(input, file, signal);
        if (bytes === 0) throw new InputError(`input "${input.name}" is empty (0 bytes); regenerate or re-upload it`);
        break;
      } catch (err) {
        if (err instanceof InputError || signal.aborted) throw err;
        const status = err instanceof HttpStatusError ? err.status : 0;
        if (status === 404 || status === 410) {
          throw new InputError(`input "${input.name}" could not be downloaded (HTTP ${status} from ${describeUrl(input.url)}); check that the file exists`);
        }
        if (status && !retryable(status)) {
          // 401/403/400: the signed link itself is wrong or expired, not something a reviewer can fix.
          throw new Error(`input "${input.name}" was refused (HTTP ${status} from ${describeUrl(input.url)}); the link may have expired`);
        }
        if (attempt >= ATTEMPTS) {
          throw new Error(`input "${input.name}" could not be downloaded from ${describeUrl(input.url)}: ${errorMessage(err)}`);
        }
        await sleep(250 * 2 ** attempt);
      }
    }
    files.set(input.name, file);
  });
  return files;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Size and hash of each output, as the result reports them (before anything is uploaded). */
export async function describeOutputs(files: OutputFile[]): Promise<Record<string, OutputInfo>> {
  const out: Record<string, OutputInfo> = {};
  for (const f of files) {
    const { size } = await stat(f.path);
    const info: OutputInfo = { bytes: size, sha256: await sha256File(f.path), mime: f.mime };
    for (const key of ["width", "height", "duration", "frames", "fps"] as const) {
      if (f[key] !== undefined) info[key] = f[key];
    }
    out[f.name] = info;
  }
  return out;
}

/**
 * PUTs every output with its Content-Type. Called only after the whole job succeeded, so a failed
 * job leaves no object behind. PUTs are idempotent, so transient failures are retried.
 */
export async function uploadOutputs(files: OutputFile[], urls: Record<string, string>): Promise<void> {
  await allOrNothing(files, async (f, signal) => {
    const url = urls[f.name];
    if (!url) throw new Error(`no upload URL for output "${f.name}"`);
    await putWithRetries(url, await readFile(f.path), f.mime, `"${f.name}"`, signal);
  });
}

/**
 * PUTs a finished job's answer (JSON) to the URL the job gave, so a redelivered job is completed
 * from storage by whichever instance, or the Worker itself, sees it next.
 */
export async function putAnswer(url: string, answer: unknown): Promise<void> {
  await putWithRetries(url, Buffer.from(JSON.stringify(answer)), "application/json", "the answer", new AbortController().signal);
}

async function putWithRetries(url: string, body: Buffer, mime: string, what: string, signal: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    try {
      const res = await fetch(url, {
        method: "PUT",
        body,
        headers: { "content-type": mime, "content-length": String(body.length) },
        signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]),
      });
      await res.body?.cancel().catch(() => {});
      if (res.ok) return;
      throw new HttpStatusError(`HTTP ${res.status}`, res.status);
    } catch (err) {
      if (signal.aborted) throw err;
      const status = err instanceof HttpStatusError ? err.status : 0;
      if ((status && !retryable(status)) || attempt >= ATTEMPTS) {
        throw new Error(`upload of ${what} to ${describeUrl(url)} failed: ${errorMessage(err)}`);
      }
      await sleep(250 * 2 ** attempt);
    }
  }
}
