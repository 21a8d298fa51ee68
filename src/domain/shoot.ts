/** What a shoot is asked to do: validated request shapes shared by the API, the workflow and the UI. */
import { z } from "zod";
import { ASPECT_RATIOS } from "./aspect.ts";
import { BACKGROUND_IDS, POSE_IDS, STYLE_IDS } from "./presets.ts";
import { StitchSettingsSchema, type StitchSettings } from "./stitch.ts";

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

// The stitch settings live in ./stitch.ts (shared with the media service); these are the names the
// API modules import them by.
export { StitchSettingsSchema as StitchSchema, STITCH_DEFAULTS as DEFAULT_STITCH, type StitchSettings } from "./stitch.ts";

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
    stitch: StitchSettingsSchema.optional(),
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
    stitch: StitchSettingsSchema.optional(),
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
