/**
 * The reel's stitch settings (SPEC section 2, "reel"): one definition for the Worker, which validates
 * a reviewer's settings (create, decision), and for the media service, which validates a stitch
 * job's params. Both sides parse with these schemas, so whatever one accepts the other accepts.
 */
import { z } from "zod";
import { DEFAULT_EASING, EASING_NAMES, type EasingName } from "../../common/easing.ts";

export const TRANSITIONS = ["cut", "crossfade", "fadeblack"] as const;
export type Transition = (typeof TRANSITIONS)[number];

export const X264_PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

const unit = z.number().min(0).max(1);

/**
 * A named curve or a CSS cubic-bezier. x1 and x2 stay in [0, 1] (time cannot run backwards); y1 and
 * y2 may leave it (overshoot). The same rules as `resolveEasing`, which the stitcher runs.
 */
export const EasingSpecSchema = z.union([
  z.enum(EASING_NAMES as [EasingName, ...EasingName[]], {
    error: `must be one of the easing names (${EASING_NAMES.slice(0, 4).join(", ")}, …) or { bezier: [x1, y1, x2, y2] }`,
  }),
  z.object({ bezier: z.tuple([unit, z.number(), unit, z.number()]) }).strict(),
]);

/** What a reviewer may set, each field optional (create and decision bodies). */
export const StitchSettingsSchema = z
  .object({
    easing: EasingSpecSchema.optional(),
    clipSeconds: z.number().min(0.5).max(3).optional(),
    fps: z.int().min(24).max(120).optional(),
    /** Adds clip 6 → 1 so the reel loops; decides which clips exist, not how they are joined. */
    loop: z.boolean().optional(),
    transition: z.enum(TRANSITIONS).optional(),
  })
  .strict();
export type StitchSettings = Required<z.infer<typeof StitchSettingsSchema>>;

export const STITCH_DEFAULTS: StitchSettings = {
  easing: DEFAULT_EASING,
  clipSeconds: 1.5,
  fps: 60,
  loop: false,
  transition: "cut",
};

/** Encoder settings only the media service uses; a stitch job may override them. */
export const RENDER_DEFAULTS = { transitionSeconds: 0.25, crf: 18, preset: "slow" as X264Preset };

const settings = StitchSettingsSchema.shape;

/**
 * A stitch job's params: the reviewer's settings (without `loop`, which only chose the clips) with
 * their defaults, plus the encoder settings. Unknown keys are dropped, not refused.
 */
export const StitchJobParamsSchema = z.object({
  easing: settings.easing.unwrap().default(STITCH_DEFAULTS.easing),
  clipSeconds: settings.clipSeconds.unwrap().default(STITCH_DEFAULTS.clipSeconds),
  fps: settings.fps.unwrap().default(STITCH_DEFAULTS.fps),
  transition: settings.transition.unwrap().default(STITCH_DEFAULTS.transition),
  transitionSeconds: z.number().min(0.02).max(1.5).default(RENDER_DEFAULTS.transitionSeconds),
  crf: z.int().min(0).max(51).default(RENDER_DEFAULTS.crf),
  preset: z.enum(X264_PRESETS).default(RENDER_DEFAULTS.preset),
});
/** The params as the stitcher runs them (every default applied). */
export type StitchOptions = z.output<typeof StitchJobParamsSchema>;
