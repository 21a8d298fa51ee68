/** What a shoot is asked to do: validated request shapes shared by the API, the workflow and the UI. */
import { z } from "zod";
import { ASPECT_RATIOS } from "./aspect.ts";
import { DECISION_ACTIONS, DEFAULT_REVIEW, FRAME_COUNT, LOOP_CLIP, REVIEW_POLICIES, STAGES, TIMEOUT_POLICIES } from "./contract.ts";
import { ChannelChoicesSchema, ChannelSpecSchema, resolveChannels } from "./channels.ts";
import { MarkSchema, REFERENCE_ROLES, type ReferenceRole } from "./findings.ts";
import { BACKGROUND_IDS, POSE_IDS, STYLE_IDS } from "./presets.ts";
import { STITCH_DEFAULTS, StitchSettingsSchema } from "./stitch.ts";

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
export const DurationSchema = z.string().regex(/^\d+ (second|minute|hour|day)s?$/, 'must look like "30 minutes" or "7 days"');

/**
 * What each reference shows, in the order of `references` (`null` for one the checks should not use):
 * the quality checks hold the outputs to the garment, the model's identity and the accessories.
 */
export const ReferenceRolesSchema = z.array(z.enum(REFERENCE_ROLES).nullable()).max(8);

/** The fields of a shoot request; `CreateShootSchema` adds the check across them. */
export const CreateShootFields = z
  .object({
    brief: z.string().trim().min(3).max(2000),
    references: z.array(z.string().min(1).max(64)).min(1).max(8),
    referenceRoles: ReferenceRolesSchema.optional(),
    presets: PresetsSchema.optional(),
    aspectRatio: z.enum(ASPECT_RATIOS).optional(),
    review: z.array(z.enum(STAGES)).max(STAGES.length).optional(),
    /** `flagged`: the stages in `review` wait for a person only when a quality check flags. */
    reviewPolicy: z.enum(REVIEW_POLICIES).optional(),
    /** Regenerate a flagged item once, with the findings in its prompt, before anyone is asked. */
    autoFix: z.boolean().optional(),
    checkpointTimeout: DurationSchema.optional(),
    timeoutPolicy: z.enum(TIMEOUT_POLICIES).optional(),
    stitch: StitchSettingsSchema.optional(),
    /** Channel packs made when the reel is approved: default channels by name or specs of their own (none: no pack). */
    channels: ChannelChoicesSchema.optional(),
    idempotencyKey: z.string().min(1).max(128).optional(),
    /** A cap on what the shoot may spend at the providers; it pauses at a `budget` checkpoint before passing it. */
    budgetUsd: z.number().positive().max(100_000).optional(),
    /** A recipe of the account (`name`, or `name@version`); the shoot's own fields override its settings. */
    recipe: z
      .string()
      .regex(/^[A-Za-z0-9][\w.-]{0,62}(@\d{1,6})?$/, 'must be a recipe name, or "name@version"')
      .optional(),
  })
  .strict();

/** `referenceRoles`, when given, says what each reference is: one entry per reference. */
export const rolesMatch = (s: { references: unknown[]; referenceRoles?: unknown[] }) => !s.referenceRoles || s.referenceRoles.length === s.references.length;
export const rolesIssue = { message: "must have one entry per reference (null for one the checks should not use)", path: ["referenceRoles"] };

export const CreateShootSchema = CreateShootFields.refine(rolesMatch, rolesIssue);
export type CreateShoot = z.infer<typeof CreateShootSchema>;

/** A recipe name: letters, digits, `.`, `_`, `-` (no `@`, which separates the version). */
export const RecipeNameSchema = z.string().regex(/^[A-Za-z0-9][\w.-]{0,62}$/, "must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit");

/** What a recipe holds: the settings a brand reuses, in the shape of a shoot's own fields. */
export const RecipeSettingsSchema = CreateShootFields.pick({
  presets: true,
  aspectRatio: true,
  review: true,
  reviewPolicy: true,
  autoFix: true,
  checkpointTimeout: true,
  timeoutPolicy: true,
  stitch: true,
  channels: true,
  budgetUsd: true,
}).strict();
export type RecipeSettings = z.infer<typeof RecipeSettingsSchema>;

/** The recipe-shaped fields a shoot spec sets itself. */
export function ownSettings(spec: Partial<CreateShoot>): RecipeSettings {
  const keys = Object.keys(RecipeSettingsSchema.shape) as (keyof RecipeSettings)[];
  return Object.fromEntries(keys.filter((k) => spec[k] !== undefined).map((k) => [k, spec[k]]));
}
export interface RecipeRef {
  name: string;
  version: number;
}

/**
 * A shoot's params from layers of settings, lowest first (a batch's recipe, the batch, a row's
 * recipe, the row): presets and stitch merge field by field, the rest the highest layer that sets it.
 */
export function resolveParams(
  refs: { references: string[]; referenceRoles?: (ReferenceRole | null)[] },
  layers: (RecipeSettings | undefined)[],
  defaults: { checkpointTimeout: string },
  recipe: RecipeRef | null,
): ShootParams {
  const set = layers.filter((l): l is RecipeSettings => Boolean(l));
  const last = <K extends keyof RecipeSettings>(k: K) => set.reduce<RecipeSettings[K] | undefined>((v, l) => (l[k] !== undefined ? l[k] : v), undefined);
  return {
    references: refs.references,
    referenceRoles: refs.referenceRoles ?? refs.references.map(() => null),
    presets: Object.assign({}, ...set.map((l) => l.presets ?? {})),
    aspectRatio: last("aspectRatio") ?? null,
    review: last("review") ?? DEFAULT_REVIEW,
    reviewPolicy: last("reviewPolicy") ?? "always",
    autoFix: last("autoFix") ?? false,
    checkpointTimeout: last("checkpointTimeout") ?? defaults.checkpointTimeout,
    timeoutPolicy: last("timeoutPolicy") ?? "expire",
    stitch: Object.assign({ ...STITCH_DEFAULTS }, ...set.map((l) => l.stitch ?? {})),
    budgetUsd: last("budgetUsd") ?? null,
    channels: resolveChannels(last("channels") ?? []),
    ...(recipe ? { recipe } : {}),
  };
}

/**
 * The `flagged` policy approves what the checks pass, so the checks must have something to hold the
 * stills to: at least one reference with a role. The error's message, or null when the params are fine.
 */
export function gateProblem(params: Pick<ShootParams, "reviewPolicy" | "referenceRoles">): string | null {
  if (params.reviewPolicy !== "flagged" || params.referenceRoles?.some(Boolean)) return null;
  return 'the "flagged" review policy needs referenceRoles saying which reference is the garment, the model or an accessory, so the checks have something to compare with';
}

export const DecisionSchema = z
  .object({
    action: z.enum(DECISION_ACTIONS),
    feedback: z.string().trim().max(2000).optional(),
    frames: z.array(z.number().int().min(1).max(FRAME_COUNT)).min(1).max(FRAME_COUNT).optional(),
    clips: z.array(z.number().int().min(1).max(LOOP_CLIP)).min(1).max(LOOP_CLIP).optional(),
    presets: PresetsSchema.optional(),
    aspectRatio: z.enum(ASPECT_RATIOS).optional(),
    stitch: StitchSettingsSchema.optional(),
    /** Frames checkpoint: cut the sheet into equal cells when the grid was not detected. */
    split: z.enum(["detect", "equal"]).optional(),
    /** Budget checkpoint: the new cap (approve with it to go on). */
    budgetUsd: z.number().positive().max(100_000).optional(),
    /**
     * Revise: places on this checkpoint's outputs (a box on a still, a moment of a clip) with what to
     * do there; the next attempt's prompt names each place. A frame or clip marked is redone.
     */
    marks: z.array(MarkSchema).min(1).max(20).optional(),
  })
  .strict();
export type Decision = z.infer<typeof DecisionSchema>;

/** Stored on the shoot row and passed to the workflow as its only input besides ids: every setting resolved. */
export const ShootParamsSchema = z.object({
  references: z.array(z.string()),
  /** What each reference shows (null: not used by the checks). Shoots made before the checks have none. */
  referenceRoles: ReferenceRolesSchema.optional(),
  presets: PresetsSchema,
  aspectRatio: z.enum(ASPECT_RATIOS).nullable(),
  review: z.array(z.enum(STAGES)),
  reviewPolicy: z.enum(REVIEW_POLICIES).optional(),
  autoFix: z.boolean().optional(),
  checkpointTimeout: z.string(),
  timeoutPolicy: z.enum(TIMEOUT_POLICIES),
  stitch: StitchSettingsSchema.required(),
  /** USD cap on provider spend; null for none. */
  budgetUsd: z.number().nullable().optional(),
  /** The channels the deliver stage packs once the reel is approved (specs resolved at creation). */
  channels: z.array(ChannelSpecSchema).optional(),
  /** The recipe (and its version) the shoot's settings came from. */
  recipe: z.object({ name: z.string(), version: z.number().int() }).optional(),
});
export type ShootParams = z.infer<typeof ShootParamsSchema>;
