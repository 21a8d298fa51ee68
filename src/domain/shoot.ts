/** What a shoot is asked to do: validated request shapes shared by the API, the workflow and the UI. */
import { z } from "zod";
import { ASPECT_RATIOS } from "./aspect.ts";
import { EASING_NAMES } from "./easing.ts";
import { BACKGROUND_IDS, POSE_IDS, STYLE_IDS } from "./presets.ts";

export const STAGES = ["plan", "hero", "contact-sheet", "frames", "clips", "reel"] as const;
export type Stage = (typeof STAGES)[number];
/** Checkpoints are the stages plus `budget`, where a shoot about to pass its cost cap waits. */
export const CHECKPOINT_STAGES = [...STAGES, "budget"] as const;
export type CheckpointStage = (typeof CHECKPOINT_STAGES)[number];
/** Checkpoints a human reviews unless the shoot's review policy says otherwise. */
export const DEFAULT_REVIEW: Stage[] = ["hero", "contact-sheet", "frames", "clips", "reel"];

export const SHOOT_STATUSES = ["running", "awaiting_review", "completed", "failed", "cancelled", "expired"] as const;
export type ShootStatus = (typeof SHOOT_STATUSES)[number];

export const PresetsSchema = z
  .object({
    pose: z.enum(POSE_IDS).optional(),
    background: z.enum(BACKGROUND_IDS).optional(),
    style: z.enum(STYLE_IDS).optional(),
  })
  .strict();

const easingName = z.string().refine((s) => (EASING_NAMES as readonly string[]).includes(s), {
  message: `must be one of the easing names (${EASING_NAMES.slice(0, 4).join(", ")}, …)`,
});
const bezier = z
  .object({ bezier: z.tuple([z.number().min(0).max(1), z.number(), z.number().min(0).max(1), z.number()]) })
  .strict();

export const StitchSchema = z
  .object({
    easing: z.union([easingName, bezier]).optional(),
    clipSeconds: z.number().min(0.5).max(3).optional(),
    fps: z.number().int().min(24).max(120).optional(),
    loop: z.boolean().optional(),
    transition: z.enum(["cut", "crossfade", "fadeblack"]).optional(),
  })
  .strict();
export type StitchSettings = Required<z.infer<typeof StitchSchema>>;
export const DEFAULT_STITCH: StitchSettings = {
  easing: "dramaticSwoop",
  clipSeconds: 1.5,
  fps: 60,
  loop: false,
  transition: "cut",
};

/** Durations like "7 days", "90 seconds", "2 hours" (the Workflows duration format). */
export const DurationSchema = z
  .string()
  .regex(/^\d+ (second|minute|hour|day)s?$/, 'must look like "30 minutes" or "7 days"');

export const CreateShootSchema = z
  .object({
    brief: z.string().trim().min(3).max(2000),
    references: z.array(z.string().min(1).max(64)).min(1).max(8),
    presets: PresetsSchema.optional(),
    aspectRatio: z.enum(ASPECT_RATIOS).optional(),
    review: z.array(z.enum(STAGES)).max(STAGES.length).optional(),
    checkpointTimeout: DurationSchema.optional(),
    timeoutPolicy: z.enum(["expire", "approve"]).optional(),
    stitch: StitchSchema.optional(),
    idempotencyKey: z.string().min(1).max(128).optional(),
    /** A cap on what the shoot may spend at the providers; it pauses at a `budget` checkpoint before passing it. */
    budgetUsd: z.number().positive().max(100_000).optional(),
  })
  .strict();
export type CreateShoot = z.infer<typeof CreateShootSchema>;

export const DecisionSchema = z
  .object({
    action: z.enum(["approve", "revise", "cancel"]),
    feedback: z.string().trim().max(2000).optional(),
    frames: z.array(z.number().int().min(1).max(6)).min(1).max(6).optional(),
    clips: z.array(z.number().int().min(1).max(6)).min(1).max(6).optional(),
    presets: PresetsSchema.optional(),
    aspectRatio: z.enum(ASPECT_RATIOS).optional(),
    stitch: StitchSchema.optional(),
    /** Frames checkpoint: cut the sheet into equal cells when the grid was not detected. */
    split: z.enum(["detect", "equal"]).optional(),
    /** Budget checkpoint: the new cap (approve with it to go on). */
    budgetUsd: z.number().positive().max(100_000).optional(),
  })
  .strict();
export type Decision = z.infer<typeof DecisionSchema>;

/** Stored on the shoot row and passed to the workflow as its only input besides ids. */
export interface ShootParams {
  references: string[];
  presets: z.infer<typeof PresetsSchema>;
  aspectRatio: (typeof ASPECT_RATIOS)[number] | null;
  review: Stage[];
  checkpointTimeout: string;
  timeoutPolicy: "expire" | "approve";
  stitch: StitchSettings;
  /** USD cap on provider spend; null for none. */
  budgetUsd?: number | null;
}
