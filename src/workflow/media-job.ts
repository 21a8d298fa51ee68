/**
 * A media job (crop, reframe, stitch) as durable parts: enqueue it on the media Queue, wait for the
 * consumer to report it (src/workflow/job-wait.ts), and record its outputs as assets. Queue messages
 * can be lost (local queues live in memory), so a wait that times out re-dispatches the same job id;
 * the media service answers a job id it has finished with its stored result, so nothing is made
 * twice. A job that fails, lands on the dead-letter queue or never answers comes back as
 * `{ ok: false, error }` for the stage's checkpoint to show.
 */
import { recordAsset, type AssetKind } from "../db/assets.ts";
import { db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { countDispatch, ensureJob, getJob, markSubmitted, type JobResult, toSignal } from "../db/jobs.ts";
import { completeJob } from "../jobs/completion.ts";
import type { CheckResult } from "../domain/findings.ts";
import type { MediaJobMessage, MediaJobOutput, MediaJobRequest, WorkerMediaKind } from "../domain/media-jobs.ts";
import { packKey, shootKey } from "../storage/r2.ts";
import { DB_STEP, IO_STEP, jobId as makeJobId, type Duration, type RunContext } from "./context.ts";
import { awaitJob } from "./job-wait.ts";
import type { StoredRef } from "./provider-job.ts";

/** One media job: its kind and params as the media job contract types them. */
export type MediaJobSpec = {
  [K in WorkerMediaKind]: {
    /** Step name base, e.g. `crop#1`. */
    name: string;
    /** Part of the job id besides kind and attempt, where a kind runs in several stages (`check`: the stage). */
    scope?: string;
    stage: string;
    kind: K;
    attempt: number;
    inputs: { name: string; key: string }[];
    /** A pack file names its channel and what it was made from (`reel`, `hero`, `frame-3`): its key and row say so. */
    outputs: { name: string; kind: AssetKind; index: number; version: number; mime: string; channel?: string; source?: string }[];
    params: Extract<MediaJobRequest, { kind: K }>["params"];
  };
}[WorkerMediaKind];

/** What a stage shows its reviewer besides the outputs (crop: the detected boxes, confidence and why it is not 1; check: findings). */
export interface MediaDetails extends Partial<CheckResult> {
  boxes?: { x: number; y: number; width: number; height: number }[];
  confidence?: number;
  problem?: string;
}

export type MediaJobOutcome = { ok: true; assets: Record<string, StoredRef>; details: MediaDetails } | { ok: false; error: string; jobId: string };

export async function runMediaJob(ctx: RunContext, spec: MediaJobSpec): Promise<MediaJobOutcome> {
  const { env, step, shootId, accountId } = ctx;
  const id = makeJobId(shootId, spec.kind, ...(spec.scope ? [spec.scope] : []), spec.attempt);
  const message: MediaJobMessage = { jobId: id };

  await step.do(`enqueue ${spec.name}`, IO_STEP, async () => {
    const d = db(env.DB);
    const { name: _name, stage: _stage, attempt: _attempt, scope: _scope, ...fields } = spec;
    const request: MediaJobRequest = {
      ...fields,
      outputs: spec.outputs.map((o) => ({
        name: o.name,
        key: o.channel
          ? packKey(accountId, shootId, o.version, o.channel, o.source ?? o.name, o.mime)
          : shootKey(accountId, shootId, o.kind, o.index, o.version, o.mime),
        mime: o.mime,
      })),
    };
    const job = await ensureJob(d, {
      id,
      shootId,
      accountId,
      type: "media",
      provider: "media",
      model: spec.kind,
      stage: spec.stage,
      attempt: spec.attempt,
      status: "pending",
      request,
    });
    if (job.status === "pending") {
      await markSubmitted(d, id, null);
      await logEvent(d, { shootId, accountId, type: "job.submitted", data: { job: id, provider: "media", stage: spec.stage } });
    }
    await env.MEDIA_JOBS.send(message);
    await countDispatch(d, id, job.dispatches + 1);
    return { jobId: id };
  });

  const { signal: result } = await awaitJob(ctx, {
    jobId: id,
    name: spec.name,
    timeout: env.MEDIA_JOB_TIMEOUT as Duration,
    maxWaits: Number(env.MEDIA_MAX_WAITS) || 6,
    source: "the media service",
    recovery: "redispatch",
    // A lost queue message is sent again (the service answers a finished id from its stored result).
    recover: async (last) => {
      const d = db(env.DB);
      const job = (await getJob(d, id))!;
      if (job.result) return toSignal(job.result);
      if (last) return null;
      await env.MEDIA_JOBS.send(message);
      await countDispatch(d, id, job.dispatches + 1);
      return null;
    },
    // The row is failed, so the watchdog stops sending it and a late answer changes nothing.
    giveUp: async (reason) => {
      const job = (await getJob(db(env.DB), id))!;
      await completeJob(env, job, { status: "failed", error: reason }, "timeout", { notify: false });
    },
  });
  if (result.status === "failed") return { ok: false, error: result.error, jobId: id };

  return step.do(`record ${spec.name}`, DB_STEP, async () => {
    const d = db(env.DB);
    const job = (await getJob(d, id))!;
    // The media service's answer, stored as it came (docs/contracts.md, "Media service").
    const { outputs, boxes, confidence, problem, findings, flagged, skipped, pack } = ((job.result as JobResult & { status: "succeeded" }).output ??
      {}) as MediaJobOutput;
    const request = job.request as MediaJobRequest;
    const assets: Record<string, StoredRef> = {};
    for (const o of spec.outputs) {
      const meta = outputs?.[o.name];
      const key = request.outputs.find((x) => x.name === o.name)!.key;
      if (!meta) return { ok: false as const, error: `${spec.name}: the media service did not report output ${o.name}`, jobId: id };
      const row = await recordAsset(d, {
        accountId,
        shootId,
        kind: o.kind,
        stage: spec.stage,
        index: o.index,
        version: o.version,
        channel: o.channel,
        stored: { key, bytes: meta.bytes, sha256: meta.sha256, mime: meta.mime as never, width: meta.width, height: meta.height, duration: meta.duration },
        // A pack file keeps how it was framed (upscale, fill), not the whole job's params; its crop path stays on the job row.
        provenance: o.channel
          ? { job: id, media: spec.kind, channel: o.channel, source: o.source, upscale: pack?.[o.name]?.upscale, filled: pack?.[o.name]?.filled }
          : { job: id, media: spec.kind, params: spec.params, inputs: spec.inputs.map((i) => i.key) },
      });
      assets[o.name] = { assetId: row.id, key: row.r2Key, width: row.width, height: row.height };
      await logEvent(d, { shootId, accountId, type: "asset.stored", data: { asset: row.id, kind: o.kind, index: o.index, version: o.version } });
    }
    const details: MediaDetails = { boxes, confidence, problem, findings, flagged, skipped };
    return { ok: true as const, assets, details };
  });
}
