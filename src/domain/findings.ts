/**
 * Findings: what a quality check says about one output (issue 19). One shape for every check, made
 * by the media service's `check` job (container/check/) and read by the Worker. Pure zod, shared.
 *
 * A finding names the asset (the job's input name), the check, pass or flag, the measured score and
 * the threshold it was held to, where (a box on a still, normalised 0–1, or a time range on a video,
 * in seconds), and the reason in words a producer understands.
 */
import { z } from "zod";

/** The checks the media service measures. */
export const CHECK_NAMES = ["garment-colour", "garment-swap", "accessory", "identity", "continuity", "clip-stability", "clip-end", "reel-sanity"] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/**
 * The vision judge's rubric (src/quality/judge.ts), one check per item: garment details, accessories,
 * identity, anatomy, framing, text and logos. Its score is its confidence that the item is wrong.
 */
export const JUDGE_CHECKS = ["judge-garment", "judge-accessories", "judge-identity", "judge-anatomy", "judge-framing", "judge-text"] as const;
export type JudgeCheck = (typeof JUDGE_CHECKS)[number];

/** Every check a finding can come from. */
export const FINDING_CHECKS = [...CHECK_NAMES, ...JUDGE_CHECKS] as const;
export type FindingCheck = (typeof FINDING_CHECKS)[number];

/** What a reference photo shows: the garment to keep, the model whose identity to keep, an accessory to keep in view. */
export const REFERENCE_ROLES = ["garment", "model", "accessory"] as const;
export type ReferenceRole = (typeof REFERENCE_ROLES)[number];

export const VERDICTS = ["pass", "flag"] as const;
export type Verdict = (typeof VERDICTS)[number];

const unit = z.number().min(0).max(1);

/** A box on a still, as fractions of its width and height. */
export const RegionSchema = z.object({ x: unit, y: unit, w: unit, h: unit });
export type Region = z.infer<typeof RegionSchema>;

/** A stretch of a clip or reel, in seconds from its start. */
export const TimeRangeSchema = z.object({ from: z.number().min(0), to: z.number().min(0) });
export type TimeRange = z.infer<typeof TimeRangeSchema>;

/**
 * A reviewer's mark: where on which output, and what to do there. A finding is a mark a check made
 * (the same place and words, plus the measurement), so both are drawn and sent to the next attempt alike.
 */
export const MarkSchema = z.object({
  /**
   * The output: in a check job, its input name (`hero`, `frame-3`, `clip-2`, `reel`); in the API and
   * in a revise decision, its asset id.
   */
  asset: z.string().min(1).max(64),
  region: RegionSchema.optional(),
  timeRange: TimeRangeSchema.optional(),
  /** What is wrong there or what to do, in a producer's words. */
  reason: z.string().trim().min(1).max(500),
});
export type Mark = z.infer<typeof MarkSchema>;

export const FindingSchema = MarkSchema.extend({
  check: z.enum(FINDING_CHECKS),
  verdict: z.enum(VERDICTS),
  /** The measurement, in the unit the reason names (ΔE00, a similarity 0–1, seconds…). */
  score: z.number(),
  /** The threshold it was held to; whether a higher score is worse is the check's (see `higherIsWorse`). */
  threshold: z.number(),
});
export type Finding = z.infer<typeof FindingSchema>;

export const FindingsSchema = z.array(FindingSchema);

/** Whether a check's score flags when above its threshold (a distance) or below it (a likeness). */
export const higherIsWorse: Record<FindingCheck, boolean> = {
  "garment-colour": true,
  "garment-swap": false,
  accessory: false,
  identity: false,
  continuity: true,
  "clip-stability": true,
  "clip-end": true,
  "reel-sanity": true,
  ...(Object.fromEntries(JUDGE_CHECKS.map((c) => [c, true])) as Record<JudgeCheck, boolean>),
};

/** The `check` job's result (besides `outputs`, which a check job has none of). */
export const CheckResultSchema = z.object({
  findings: FindingsSchema,
  /** How many findings flag. */
  flagged: z.int().min(0),
  /** Checks that could not be measured on an asset, and why (no garment reference, no face found…). */
  skipped: z.array(z.object({ asset: z.string(), check: z.enum(CHECK_NAMES), reason: z.string() })),
});
export type CheckResult = z.infer<typeof CheckResultSchema>;

/** How a vision judge call ended: answered, or why its answer was not used (the measured verdict stands). */
export const JUDGE_STATUSES = ["answered", "refused", "invalid", "timeout", "error"] as const;
export type JudgeStatus = (typeof JUDGE_STATUSES)[number];

/**
 * What a checkpoint shows of the quality gate: the findings on its outputs (`asset` is the asset id),
 * what could not be measured, the judge's fate, and which items were regenerated automatically.
 */
export const QualitySchema = z.object({
  findings: FindingsSchema,
  /** How many findings flag (the judge's included). */
  flagged: z.int().min(0),
  skipped: z.array(z.object({ asset: z.string(), check: z.enum(CHECK_NAMES), reason: z.string() })),
  /** The checks could not run (the media service failed the job): a person looks, whatever the policy. */
  error: z.string().optional(),
  judge: z.object({ status: z.enum(JUDGE_STATUSES), reason: z.string().optional() }).optional(),
  /** Items regenerated once, with their findings in the prompt, before anyone was asked (`autoFix`). */
  autoFixed: z.array(z.string()).optional(),
});
export type Quality = z.infer<typeof QualitySchema>;

/** Whether the gate wants a person: something flagged, or the checks could not run. */
export const needsPerson = (q: Quality | undefined) => Boolean(q && (q.flagged > 0 || q.error));
