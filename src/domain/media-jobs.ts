/**
 * The media job contract between the Worker and the media service (docs/contracts.md): the body of
 * `POST /jobs/:id` as zod schemas, which the service parses and the Worker's dispatcher is typed by,
 * the job row's stored request, and what the service reports per output.
 */
import { z } from "zod";
import { ASPECT_RATIOS } from "./aspect.ts";
import { type CheckResult, REFERENCE_ROLES, RegionSchema } from "./findings.ts";
import { FILL_MODES, STILL_FORMATS } from "./channels.ts";
import { StitchJobParamsSchema, X264_PRESETS, type X264Preset } from "./stitch.ts";

export const REFRAME_METHODS = ["attention", "entropy", "pad"] as const;
export type ReframeMethod = (typeof REFRAME_METHODS)[number];

/** The queue message: the job row holds the rest. */
export interface MediaJobMessage {
  jobId: string;
}

const fileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be a simple name such as clip-1 (letters, digits, . _ -)");

const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an http(s) URL");

// Unknown keys in params are dropped rather than refused, so an extra setting is not an error.
export const CropParamsSchema = z.object({
  rows: z.int().min(1).max(6).default(2),
  cols: z.int().min(1).max(6).default(3),
  mode: z.enum(["detect", "equal"]).default("detect"),
});

export const ReframeParamsSchema = z.object({
  aspectRatio: z.enum(ASPECT_RATIOS),
  method: z.enum(REFRAME_METHODS).default("attention"),
  padColor: z.enum(["edge", "black"]).default("edge"),
});

export const ProbeParamsSchema = z.object({});

/**
 * A `check` job (issue 19): which inputs are references (and what each shows), which are outputs to
 * measure against them. Every name is an input name of the job; each input is named exactly once.
 */
export const CheckParamsSchema = z.object({
  /**
   * Reference photos and their role; `label` names the item in reasons ("jacket", "watch"); `box`
   * (fractions of the photo) says where in the photo the item is: the model's face, a garment shot on
   * location. Without it the service finds the face by skin colour and a product by its plain backdrop.
   */
  references: z
    .array(z.object({ input: fileName, role: z.enum(REFERENCE_ROLES), label: z.string().min(1).max(40).optional(), box: RegionSchema.optional() }))
    .max(12)
    .default([]),
  /** Stills to check against the references: the hero, contact-sheet cells, frames. */
  stills: z.array(fileName).max(16).default([]),
  /** The approved hero, the anchor of the stills' continuity (it may be one of `stills` too). */
  hero: fileName.optional(),
  /** Clips, each with the still it starts from and the still it should end on (inputs of the job). */
  clips: z
    .array(z.object({ input: fileName, start: fileName, end: fileName }))
    .max(8)
    .default([]),
  /** Reels: duration against `expectedSeconds`; black and frozen stretches longer than allowed. */
  reels: z
    .array(
      z.object({
        input: fileName,
        expectedSeconds: z.number().positive().max(3600).optional(),
        /** Longest black stretch that is fine (a fade through black passes through black on purpose). */
        maxBlackSeconds: z.number().min(0).max(60).default(0.25),
        /** Longest still stretch that is fine (an easing holds a frame at a clip's slow ends). */
        maxFrozenSeconds: z.number().min(0).max(60).default(1),
      }),
    )
    .max(2)
    .default([]),
});

/**
 * x264 settings of a channel pack's videos, chosen by measurement (`npm run bench:pack`): the
 * fastest per output whose SSIM against a preset-slow encode of the same crop stays at least 0.98.
 */
export const PACK_ENCODER: { crf: number; preset: X264Preset } = { crf: 20, preset: "ultrafast" };

const outputSize = {
  width: z.int().min(16).max(4096),
  height: z.int().min(16).max(4096),
  /** Clear space around the subject's box, a fraction of the output's shorter side. */
  margin: z.number().min(0).max(0.25).default(0.04),
  fill: z.enum(FILL_MODES).default("blur"),
};

/**
 * A `pack` job (issue 20): channel formats of an approved shoot, each reframed around the subject.
 * Every video is made from the input `reel` in one decode; every still from the input it names.
 */
export const PackParamsSchema = z.object({
  videos: z
    .array(z.object({ output: fileName, ...outputSize }))
    .max(8)
    .default([]),
  stills: z
    .array(z.object({ input: fileName, output: fileName, format: z.enum(STILL_FORMATS).default("jpeg"), ...outputSize }))
    .max(64)
    .default([]),
  /** Where the reel's clips meet, in seconds: the crop path may jump there (the service also finds hard cuts itself). */
  cuts: z.array(z.number().min(0)).max(64).default([]),
  crf: z.int().min(0).max(51).default(PACK_ENCODER.crf),
  preset: z.enum(X264_PRESETS).default(PACK_ENCODER.preset),
});

/** A box in source pixels: `[x, y, width, height]` (it may reach outside the source where the output is filled). */
export type PackBox = [number, number, number, number];

/** What a pack job reports per output, besides its file's metadata. */
export interface PackOutputInfo {
  /** Output pixels per source pixel of the crop (above 1: upscaled). */
  upscale: number;
  /** Some of the output is fill (the subject could not be held by a crop alone). */
  filled: boolean;
  /** Video: the crop, one box per output frame. */
  path?: PackBox[];
  /** Still: the crop. */
  crop?: PackBox;
}

const base = {
  id: z.string().optional(),
  inputs: z
    .array(z.object({ name: fileName, url: httpUrl }))
    .min(1)
    .max(64),
  outputs: z.record(fileName, httpUrl).prefault({}),
  /**
   * Where the service PUTs its success answer (`MediaJobAnswer`, JSON) after the outputs and before
   * it responds, so any instance's finished job is found in R2 by the Worker, not on one disk.
   */
  answer: httpUrl.optional(),
};

/** The body of `POST /jobs/:id`. */
export const MediaJobBodySchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("crop"), ...base, params: CropParamsSchema.prefault({}) }),
  z.object({ kind: z.literal("reframe"), ...base, params: ReframeParamsSchema }),
  z.object({ kind: z.literal("stitch"), ...base, params: StitchJobParamsSchema.prefault({}) }),
  z.object({ kind: z.literal("probe"), ...base, params: ProbeParamsSchema.prefault({}) }),
  z.object({ kind: z.literal("check"), ...base, params: CheckParamsSchema.prefault({}) }),
  z.object({ kind: z.literal("pack"), ...base, params: PackParamsSchema.prefault({}) }),
]);
/** What a sender writes (defaults may be left out). */
export type MediaJobBody = z.input<typeof MediaJobBodySchema>;
/** What the service runs (every default applied). */
export type MediaJob = z.output<typeof MediaJobBodySchema>;
export type MediaJobKind = MediaJob["kind"];

/** The kinds the Worker sends; `probe` is the service's own (the Worker sniffs uploads in-process). */
export type WorkerMediaKind = Exclude<MediaJobKind, "probe">;

/**
 * Stored on the job row; the consumer turns keys into signed URLs when it dispatches, so a retry
 * gets fresh URLs for the same job.
 */
export type MediaJobRequest = {
  [K in WorkerMediaKind]: {
    kind: K;
    inputs: { name: string; key: string }[];
    outputs: { name: string; key: string; mime: string }[];
    params: Extract<MediaJobBody, { kind: K }>["params"];
  };
}[WorkerMediaKind];

export interface MediaOutputMeta {
  bytes: number;
  sha256: string;
  mime: string;
  width?: number;
  height?: number;
  duration?: number;
  frames?: number;
  fps?: number;
}

/** A finished job's answer: the body of the service's 200 and of the answer object it PUTs. */
export interface MediaJobAnswer {
  id: string;
  status: "done";
  result: MediaJobOutput;
}

/** A finished job's `result`: every output's metadata plus what the kind adds (crop: boxes; check: findings). */
export interface MediaJobOutput extends Partial<CheckResult> {
  outputs?: Record<string, MediaOutputMeta>;
  boxes?: { x: number; y: number; width: number; height: number }[];
  confidence?: number;
  /** Crop: why the grid's confidence is below 1, in words a reviewer can act on. */
  problem?: string;
  /** Pack: per output name. */
  pack?: Record<string, PackOutputInfo>;
}
