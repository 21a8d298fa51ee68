/**
 * A provider job as three durable parts: submit (once), wait for its webhook or callback (falling
 * back to polling when the wait times out, so a lost webhook never strands a shoot), and store the
 * output in R2 with an asset row.
 */
import { NonRetryableError } from "cloudflare:workflows";
import { recordAsset, type AssetKind } from "../db/assets.ts";
import { db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { ensureJob, finishJob, getJob, markSubmitted, type JobResult, type JobSignal, toSignal } from "../db/jobs.ts";
import { priceOf } from "../lib/prices.ts";
import { pollProviderJob, submitProviderJob, type ProviderRequest } from "../providers/jobs.ts";
import { inspect, putBytes, shootKey } from "../storage/r2.ts";
import { resolveBlobRefs } from "../storage/urls.ts";
import { IO_STEP, isTimeout, jobId as makeJobId, type Duration, type RunContext } from "./context.ts";
import { acquireSlot, releaseSlot } from "../limits/slots.ts";

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

export async function runProviderJob(ctx: RunContext, spec: ProviderJobSpec): Promise<StoredRef> {
  const { env, step, shootId, accountId } = ctx;
  const { kind, index, version } = spec.asset;
  const baseId = makeJobId(shootId, kind, index, version);

  // A job the provider reports failed (an input it could not fetch, a moderation hiccup) is tried
  // again as a new job, a few times, before the shoot fails with the provider's reason.
  const tries = Math.max(1, Number(env.PROVIDER_JOB_TRIES) || 3);
  let outputUrl: string | undefined;
  let jobId = baseId;
  let lastError = "";
  for (let t = 1; t <= tries && !outputUrl; t++) {
    jobId = t === 1 ? baseId : `${baseId}-t${t}`;
    const result = await submitAndAwait(ctx, spec, jobId, t === 1 ? spec.name : `${spec.name} try ${t}`, version);
    if (result.status === "succeeded") outputUrl = result.outputUrl;
    else lastError = result.error;
  }
  if (!outputUrl) throw new NonRetryableError(`${spec.name} failed at the provider after ${tries} tries: ${lastError}`);
  const url = outputUrl;

  return step.do(`store ${spec.name}`, IO_STEP, async () => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`download of ${spec.name} output failed: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const d = db(env.DB);
    const mime = inspect(bytes)?.mime ?? spec.asset.mime;
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

/** Holds a slot in the provider's pool (src/limits) from before the submit until the outcome is known. */
async function submitAndAwait(ctx: RunContext, spec: ProviderJobSpec, id: string, name: string, attempt: number): Promise<JobSignal> {
  await acquireSlot(ctx, spec.request, id, name);
  let signal: JobSignal;
  try {
    signal = await submitAndAwaitJob(ctx, spec, id, name, attempt);
  } catch (err) {
    await releaseSlot(ctx, spec.request, id, name);
    throw err;
  }
  await releaseSlot(ctx, spec.request, id, name);
  return signal;
}

/** Submits one job (once, whatever retries the step makes) and waits for its outcome. */
async function submitAndAwaitJob(ctx: RunContext, spec: ProviderJobSpec, id: string, name: string, attempt: number): Promise<JobSignal> {
  const { env, step, shootId, accountId } = ctx;
  await step.do(`submit ${name}`, IO_STEP, async () => {
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
    if (job.status === "pending") {
      // Inputs are named `r2:<key>` in the stored request and signed only for the provider call.
      const externalId = await submitProviderJob(env, id, await resolveBlobRefs(env, spec.request));
      await markSubmitted(d, id, externalId);
      await logEvent(d, { shootId, accountId, type: "job.submitted", data: { job: id, provider: spec.request.provider, stage: spec.stage } });
    }
    return { jobId: id };
  });

  const maxWaits = Number(env.PROVIDER_MAX_WAITS) || 36;
  for (let wait = 1; ; wait++) {
    try {
      const event = await step.waitForEvent(`await ${name}#${wait}`, { type: `job-${id}`, timeout: env.PROVIDER_WAIT_TIMEOUT as Duration });
      return event.payload as JobSignal;
    } catch (err) {
      if (!isTimeout(err)) throw err;
      // The webhook may be lost: ask the provider directly.
      const polled = await step.do(`poll ${name}#${wait}`, IO_STEP, async () => {
        const d = db(env.DB);
        const job = (await getJob(d, id))!;
        if (job.result) return toSignal(job.result as JobResult);
        const r = job.externalId ? await pollProviderJob(env, job.provider, job.model!, job.externalId) : null;
        if (r) await finishJob(d, id, r, priceOf(env, job.model));
        const done = (await getJob(d, id))!.result as JobResult | null;
        return done ? toSignal(done) : null;
      });
      if (polled) return polled;
      if (wait >= maxWaits) throw new NonRetryableError(`${name}: the provider gave no result after ${wait} waits`);
    }
  }
}
