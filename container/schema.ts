/**
 * Job bodies (docs/contracts.md, "Media service"), validated with zod. A malformed body is a 400
 * that names the field; the rules that depend on the kind (which inputs and outputs it takes) are
 * checked here too, so a job never starts with a body it cannot finish.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { ASPECT_RATIOS } from "../src/domain/aspect.ts";
import { DEFAULT_EASING, resolveEasing, type EasingSpec } from "../src/domain/easing.ts";
import { REFRAME_METHODS } from "./reframe.ts";
import { STITCH_DEFAULTS, TRANSITIONS, X264_PRESETS } from "./stitch.ts";

const fileName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be a simple name such as clip-1 (letters, digits, . _ -)");

const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an http(s) URL");

const input = z.object({ name: fileName, url: httpUrl });

const easing = z
  .union([z.string(), z.object({ bezier: z.tuple([z.number(), z.number(), z.number(), z.number()]) })])
  .superRefine((value, ctx) => {
    try {
      resolveEasing(value as EasingSpec);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  });

// Unknown keys in params are ignored rather than rejected, so a caller passing extra settings
// (such as the reviewer's `loop`, which only decides which clips are sent) is not refused.
export const CropParams = z.object({
  rows: z.int().min(1).max(6).default(2),
  cols: z.int().min(1).max(6).default(3),
  mode: z.enum(["detect", "equal"]).default("detect"),
});

export const ReframeParams = z.object({
  aspectRatio: z.enum(ASPECT_RATIOS),
  method: z.enum(REFRAME_METHODS).default("attention"),
  padColor: z.enum(["edge", "black"]).default("edge"),
});

export const StitchParams = z.object({
  easing: easing.default(DEFAULT_EASING),
  clipSeconds: z.number().min(0.5).max(3).default(STITCH_DEFAULTS.clipSeconds),
  fps: z.number().min(24).max(120).default(STITCH_DEFAULTS.fps),
  transition: z.enum(TRANSITIONS).default(STITCH_DEFAULTS.transition),
  transitionSeconds: z.number().min(0.02).max(1.5).default(STITCH_DEFAULTS.transitionSeconds),
  crf: z.int().min(0).max(51).default(STITCH_DEFAULTS.crf),
  preset: z.enum(X264_PRESETS).default(STITCH_DEFAULTS.preset),
});

const base = {
  id: z.string().optional(),
  inputs: z.array(input).min(1).max(64),
  outputs: z.record(fileName, httpUrl).prefault({}),
};

export const JobBody = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("crop"), ...base, params: CropParams.prefault({}) }),
  z.object({ kind: z.literal("reframe"), ...base, params: ReframeParams }),
  z.object({ kind: z.literal("stitch"), ...base, params: StitchParams.prefault({}) }),
  z.object({ kind: z.literal("probe"), ...base, params: z.object({}).prefault({}) }),
]);

export type Job = z.infer<typeof JobBody>;
export type CropJob = Extract<Job, { kind: "crop" }>;
export type ReframeJob = Extract<Job, { kind: "reframe" }>;
export type StitchJob = Extract<Job, { kind: "stitch" }>;
export type ProbeJob = Extract<Job, { kind: "probe" }>;

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
  }
}

/** Parses a body: the job, or the first problem with the field it concerns. */
export function parseJob(body: unknown): { job: Job } | { invalid: Invalid } {
  const parsed = JobBody.safeParse(body);
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
