/**
 * Job bodies (docs/contracts.md, "Media service"), validated with zod. A malformed body is a 400
 * that names the field; the rules that depend on the kind (which inputs and outputs it takes) are
 * checked here too, so a job never starts with a body it cannot finish.
 */
import { createHash } from "node:crypto";
import { MediaJobBodySchema, type MediaJob } from "../src/domain/media-jobs.ts";
import { namesUsed } from "./check/index.ts";

// The body's schema is the shared contract (src/domain/media-jobs.ts, src/domain/stitch.ts); this
// module adds the rules that depend on the kind.
export type Job = MediaJob;
export type CropJob = Extract<Job, { kind: "crop" }>;
export type ReframeJob = Extract<Job, { kind: "reframe" }>;
export type StitchJob = Extract<Job, { kind: "stitch" }>;
export type ProbeJob = Extract<Job, { kind: "probe" }>;
export type CheckJob = Extract<Job, { kind: "check" }>;
export type PackJob = Extract<Job, { kind: "pack" }>;

export interface Invalid {
  field: string;
  error: string;
}

function pathOf(p: ReadonlyArray<PropertyKey>): string {
  return p.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join("") || "body";
}

/** Clip inputs in reel order (clip-1, clip-2, …). */
export function clipNumber(name: string): number | undefined {
  const m = /^clip-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function kindRules(job: Job): Invalid | undefined {
  const names = job.inputs.map((i) => i.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) return { field: "inputs", error: `inputs: the name "${dup}" is used twice` };
  const outNames = Object.keys(job.outputs);
  const expectOutputs = (required: string[], optional: string[] = []): Invalid | undefined => {
    const missing = required.find((n) => !outNames.includes(n));
    if (missing) return { field: `outputs.${missing}`, error: `outputs.${missing}: a ${job.kind} job needs an upload URL for "${missing}"` };
    const extra = outNames.find((n) => !required.includes(n) && !optional.includes(n));
    if (extra) return { field: `outputs.${extra}`, error: `outputs.${extra}: a ${job.kind} job does not produce "${extra}"` };
    return undefined;
  };
  switch (job.kind) {
    case "crop": {
      if (names.length !== 1 || names[0] !== "sheet") return { field: "inputs", error: 'inputs: a crop job takes one input named "sheet"' };
      const n = job.params.rows * job.params.cols;
      return expectOutputs(Array.from({ length: n }, (_, i) => `frame-${i + 1}`));
    }
    case "reframe":
      return expectOutputs(names);
    case "stitch": {
      const numbers = names.map(clipNumber);
      if (numbers.some((n) => n === undefined)) {
        return { field: "inputs", error: "inputs: a stitch job takes clips named clip-1, clip-2, … clip-N" };
      }
      const sorted = (numbers as number[]).slice().sort((a, b) => a - b);
      if (sorted.some((n, i) => n !== i + 1)) {
        return { field: "inputs", error: `inputs: clips must be numbered clip-1 to clip-${names.length} without gaps` };
      }
      return expectOutputs(["reel"], ["poster"]);
    }
    case "probe":
      if (names.length !== 1) return { field: "inputs", error: "inputs: a probe job takes exactly one input" };
      return expectOutputs([]);
    case "check": {
      const used = namesUsed(job.params);
      const unknown = used.find((n) => !names.includes(n));
      if (unknown) return { field: "params", error: `params: "${unknown}" is not one of the job's inputs` };
      const unused = names.find((n) => !used.includes(n));
      if (unused)
        return { field: "inputs", error: `inputs: "${unused}" is not named in params (as a reference, still, hero, clip, start or end frame, or reel)` };
      const refNames = job.params.references.map((r) => r.input);
      const twice = refNames.find((n, i) => refNames.indexOf(n) !== i || job.params.stills.includes(n));
      if (twice) return { field: "params.references", error: `params.references: "${twice}" is named twice, or as a reference and a still` };
      if (job.params.stills.length && !job.params.references.length) {
        return { field: "params.references", error: "params.references: stills are checked against references; name at least one" };
      }
      if (!job.params.stills.length && !job.params.clips.length && !job.params.reels.length) {
        return { field: "params", error: "params: nothing to check (name stills, clips or reels)" };
      }
      return expectOutputs([]);
    }
    case "pack": {
      const { videos, stills } = job.params;
      if (!videos.length && !stills.length) return { field: "params", error: "params: nothing to pack (name videos or stills)" };
      if (videos.length && !names.includes("reel")) return { field: "inputs", error: 'inputs: a pack with videos takes the reel as the input named "reel"' };
      const missing = stills.find((s) => !names.includes(s.input));
      if (missing) return { field: "params.stills", error: `params.stills: "${missing.input}" is not one of the job's inputs` };
      const produced = [...videos.map((v) => v.output), ...stills.map((s) => s.output)];
      const twice = produced.find((n, i) => produced.indexOf(n) !== i);
      if (twice) return { field: "params", error: `params: the output name "${twice}" is used twice` };
      return expectOutputs(produced);
    }
  }
}

/** Parses a body: the job, or the first problem with the field it concerns. */
export function parseJob(body: unknown): { job: Job } | { invalid: Invalid } {
  const parsed = MediaJobBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = pathOf(issue.path);
    return { invalid: { field, error: `${field}: ${issue.message}` } };
  }
  const invalid = kindRules(parsed.data);
  return invalid ? { invalid } : { job: parsed.data };
}

/**
 * What the job asks for, without the signed URLs (they change on every retry): two POSTs with the
 * same id and fingerprint are the same job.
 */
export function fingerprint(job: Job): string {
  const canonical = JSON.stringify({
    kind: job.kind,
    params: job.params,
    inputs: job.inputs.map((i) => i.name),
    outputs: Object.keys(job.outputs).sort(),
  });
  return createHash("sha256").update(canonical).digest("hex");
}
