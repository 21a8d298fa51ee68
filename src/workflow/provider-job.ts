/**
 * A provider job as durable parts: submit (once), wait for its webhook or callback (falling back to
 * polling when the wait times out, so a lost webhook never strands a shoot), and store the output
 * in R2 with an asset row.
 *
 * Failures never throw the shoot away. A submission refused with 429 or 5xx is tried again after
 * the provider's Retry-After (else a doubling backoff); a job that fails transiently is tried again
 * as a new job; a validation or content-policy refusal is not retried blindly. Each attempt is its
 * own job row with its error. When the tries are spent, the caller gets the provider's message and
 * marks the item failed at its stage's checkpoint, keeping everything that succeeded.
 */
import { recordAsset, type AssetKind } from "../db/assets.ts";
import { db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { adoptExternalId, ensureJob, getJob, markRefused, markSubmitted, markSubmitting, type JobResult, type JobSignal, toSignal } from "../db/jobs.ts";
import { pollAndComplete } from "../jobs/completion.ts";
import { durationMs } from "../lib/duration.ts";
import { priceOf } from "../lib/prices.ts";
import { ProviderRefusal } from "../providers/errors.ts";
import { submitProviderJob, type ProviderRequest } from "../providers/jobs.ts";
import { inspect, putBytes, shootKey } from "../storage/r2.ts";
import { resolveBlobRefs } from "../storage/urls.ts";
import { acquireSlot, releaseSlot } from "./slots.ts";
import { spentUsd } from "./budget.ts";
import { DB_STEP, IO_STEP, jobId as makeJobId, type Duration, type RunContext } from "./context.ts";
import { awaitJob } from "./job-wait.ts";

export interface ProviderJobSpec {
  /** Step name base, e.g. `hero#2` or `clip-3#1`. */
  name: string;
  stage: string;
  /** Where the output goes; `mime` is the expected type (the stored one is sniffed from the bytes). */
  asset: { kind: AssetKind; index: number; version: number; mime: string };
  request: ProviderRequest;
  provenance: Record<string, unknown>;
}

export interface StoredRef {
  assetId: string;
  key: string;
  width: number | null;
  height: number | null;
}

export type ProviderOutcome = { ok: true; ref: StoredRef; jobId: string } | { ok: false; error: string; jobId: string };

type Refused = { jobId: string; refused: true; transient: boolean; retryAfterMs: number | null; error: string };
type Submitted = { jobId: string } | Refused;
/** One attempt's outcome: refused at submit, or the job's result. */
type Attempted = Refused | { jobId: string; result: JobSignal };

const MAX_BACKOFF_MS = 10 * 60_000;

export async function runProviderJob(ctx: RunContext, spec: ProviderJobSpec): Promise<ProviderOutcome> {
  const { env, step, shootId } = ctx;
  const { kind, index, version } = spec.asset;
  const baseId = makeJobId(shootId, kind, index, version);
  const jobTries = Math.max(1, Number(env.PROVIDER_JOB_TRIES) || 3);
  const submitTries = Math.max(1, Number(env.PROVIDER_SUBMIT_TRIES) || 8);
  const backoffMs = durationMs(env.PROVIDER_BACKOFF ?? "", 2000);

  let failedJobs = 0;
  let refusals = 0;
  let lastError = "";
  let jobId = baseId;
  for (let t = 1; ; t++) {
    jobId = t === 1 ? baseId : `${baseId}-t${t}`;
    const name = t === 1 ? spec.name : `${spec.name} try ${t}`;
    if (t > 1 && !(await retryFitsBudget(ctx, spec, name))) {
      lastError = `${lastError} (not tried again: another try would pass the budget cap)`;
      break;
    }
    const sub = await submitHoldingSlot(ctx, spec, jobId, name, version);
    if ("refused" in sub) {
      lastError = sub.error;
      if (!sub.transient || ++refusals >= submitTries) break;
      // Honour the provider's Retry-After; without one, back off exponentially.
      const waitMs = Math.min(sub.retryAfterMs ?? backoffMs * 2 ** (refusals - 1), MAX_BACKOFF_MS);
      await step.sleep(`backoff ${name}`, Math.max(1, waitMs));
      continue;
    }
    const result = sub.result;
    if (result.status === "succeeded" && result.outputUrl) return { ok: true, ref: await store(ctx, spec, jobId, result.outputUrl), jobId };
    lastError = result.status === "failed" ? result.error : "the provider reported success without an output";
    const retryable = result.status === "failed" ? result.retryable !== false : true;
    if (!retryable || ++failedJobs >= jobTries) break;
  }
  return { ok: false, error: lastError, jobId };
}

/**
 * One attempt holding a slot in the provider's pool (src/limits) from before the submit until its
 * outcome is known: a refusal, the job's result, or an error that ends the shoot. Step names derive
 * from the attempt's name (`slot hero#1#1`, `release hero#1`), so a replay takes the same steps.
 */
async function submitHoldingSlot(ctx: RunContext, spec: ProviderJobSpec, id: string, name: string, attempt: number): Promise<Attempted> {
  await acquireSlot(ctx, spec.request, id, name);
  let out: Attempted;
  let resumedAt: string | undefined;
  try {
    const sub = await submit(ctx, spec, id, name, attempt);
    if ("refused" in sub) out = sub;
    else {
      const awaited = await awaitResult(ctx, spec, id, name);
      out = { jobId: id, result: awaited.signal };
      resumedAt = awaited.resumedAt;
    }
  } catch (err) {
    await releaseSlot(ctx, spec.request, id, name);
    throw err;
  }
  await releaseSlot(ctx, spec.request, id, name, resumedAt);
  return out;
}

/** Submits one attempt, at most once whatever retries the step makes. */
function submit(ctx: RunContext, spec: ProviderJobSpec, id: string, name: string, attempt: number): Promise<Submitted> {
  const { env, step, shootId, accountId } = ctx;
  return step.do(`submit ${name}`, IO_STEP, async (): Promise<Submitted> => {
    const d = db(env.DB);
    const job = await ensureJob(d, {
      id,
      shootId,
      accountId,
      type: "provider",
      provider: spec.request.provider,
      model: spec.request.model,
      stage: spec.stage,
      attempt,
      status: "pending",
      request: spec.request,
    });
    // This step ran before and the refusal was recorded, but the step died before returning it.
    if (job.status === "failed" && !job.externalId) return { jobId: id, refused: true, transient: true, retryAfterMs: null, error: job.error ?? "refused" };
    if (job.status !== "pending") return { jobId: id };
    // FAL has no idempotency key: record the intent first, so a step that dies after the call waits
    // for the webhook (its URL names this job) instead of paying for a second request. Kling's
    // external_task_id makes a repeated create find the first task.
    if (spec.request.provider === "fal" && !(await markSubmitting(d, id))) return { jobId: id };
    let externalId: string;
    try {
      // Inputs are named `r2:<key>` in the stored request and signed only for the provider call.
      externalId = await submitProviderJob(env, id, await resolveBlobRefs(env, spec.request));
    } catch (err) {
      if (!(err instanceof ProviderRefusal)) throw err;
      await markRefused(d, id, err.message);
      await logEvent(d, {
        shootId,
        accountId,
        type: "job.failed",
        data: { job: id, provider: spec.request.provider, stage: spec.stage, error: err.message, refused: err.status },
      });
      return { jobId: id, refused: true, transient: err.transient, retryAfterMs: err.retryAfterMs, error: err.message };
    }
    await markSubmitted(d, id, externalId);
    await logEvent(d, { shootId, accountId, type: "job.submitted", data: { job: id, provider: spec.request.provider, stage: spec.stage } });
    return { jobId: id };
  });
}

/**
 * Waits for the job's own event (src/workflow/job-wait.ts); on each timeout asks the provider (or
 * recovers a lost submit). An unsigned callback's event only says the provider has an outcome, so
 * the next step reads it from the provider, as a poll does.
 */
function awaitResult(ctx: RunContext, spec: ProviderJobSpec, id: string, name: string) {
  return awaitJob(ctx, {
    jobId: id,
    name,
    timeout: ctx.env.PROVIDER_WAIT_TIMEOUT as Duration,
    maxWaits: Number(ctx.env.PROVIDER_MAX_WAITS) || 36,
    source: "the provider",
    recovery: "poll",
    recover: () => pollOnce(ctx, spec, id, "poll"),
    check: () => pollOnce(ctx, spec, id, "callback"),
  });
}

async function pollOnce(ctx: RunContext, spec: ProviderJobSpec, id: string, by: "poll" | "callback"): Promise<JobSignal | null> {
  const { env, shootId, accountId } = ctx;
  const d = db(env.DB);
  const job = (await getJob(d, id))!;
  if (job.result) return toSignal(job.result as JobResult);
  if (job.status === "submitting" && !job.externalId) {
    // The submit answer was lost and no webhook has named the request within a whole wait: submit
    // again. Should the first request still finish, its webhook is recorded as a duplicate (its
    // cost counts, its output is discarded).
    const externalId = await submitProviderJob(env, id, await resolveBlobRefs(env, spec.request));
    if (await adoptExternalId(d, id, externalId)) {
      await logEvent(d, { shootId, accountId, type: "job.submitted", data: { job: id, provider: job.provider, stage: job.stage, resubmitted: true } });
    }
    return null;
  }
  await pollAndComplete(env, job, by, { notify: false });
  // Whoever finished it (this poll, or a webhook that raced it) stored the outcome.
  const done = (await getJob(d, id))!.result as JobResult | null;
  return done ? toSignal(done) : null;
}

function store(ctx: RunContext, spec: ProviderJobSpec, jobId: string, url: string): Promise<StoredRef> {
  const { env, step, shootId, accountId } = ctx;
  const { kind, index, version } = spec.asset;
  return step.do(`store ${spec.name}`, IO_STEP, async () => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`download of ${spec.name} output failed: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const d = db(env.DB);
    const mime = inspect(bytes)?.mime ?? spec.asset.mime;
    // One object per kind, index and version: a retried store overwrites the same key and finds the same row.
    const stored = await putBytes(env.BUCKET, shootKey(accountId, shootId, kind, index, version, mime), bytes);
    const row = await recordAsset(d, {
      accountId,
      shootId,
      kind,
      stage: spec.stage,
      index,
      version,
      stored,
      provenance: { ...spec.provenance, job: jobId, provider: spec.request.provider, model: spec.request.model },
    });
    await logEvent(d, { shootId, accountId, type: "asset.stored", data: { asset: row.id, kind, index, version } });
    return { assetId: row.id, key: row.r2Key, width: row.width, height: row.height };
  });
}

/** A retry inside a running stage never passes the cap: without room it stops, for the reviewer to decide. */
async function retryFitsBudget(ctx: RunContext, spec: ProviderJobSpec, name: string): Promise<boolean> {
  const cap = ctx.params.budgetUsd;
  if (cap == null) return true;
  const price = priceOf(ctx.env, spec.request.model) ?? 0;
  return ctx.step.do(`budget ${name}`, DB_STEP, async () => (await spentUsd(ctx.env, db(ctx.env.DB), ctx.shootId)) + price <= cap + 1e-9);
}
