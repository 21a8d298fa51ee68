/**
 * What each checkpoint shows its reviewer, by stage: one schema per stage, joined as a union
 * discriminated by the checkpoint's stage. The workflow's checkpoint opener validates against it
 * before the row is written; the API's `CheckpointArtifacts` component is built from the same shapes.
 */
import { z } from "zod";
import type { CheckpointStage } from "./contract.ts";
import { QualitySchema } from "./findings.ts";
import { StitchSettingsSchema } from "./stitch.ts";

const assets = z.array(z.string()).describe("Ids of the assets to review");
/** Why the stage has no result to approve: the reviewer revises (tries again) or cancels. */
const error = z.string().optional();
/** Items whose latest try failed, with the reason; a revise retries just those. */
export const FailedItem = z.object({
  /** The frame or clip number, for stages with several items. */
  index: z.number().int().optional(),
  /** The item, for one-output stages (hero, contact-sheet) or a media step (reframe). */
  item: z.string().optional(),
  error: z.string(),
  job: z.string(),
});
export type FailedItem = z.infer<typeof FailedItem>;
const failed = z.array(FailedItem).optional();
/** The quality gate's findings on this attempt's outputs (issue 19); absent where nothing was checked. */
const quality = QualitySchema.optional();

export const BoxSchema = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
export const ClipItemSchema = z.object({ clip: z.number().int(), assetId: z.string().nullable(), error: z.string().nullable() });
const stitch = StitchSettingsSchema.required();

export const StageArtifacts = {
  plan: z.object({ assets }),
  hero: z.object({ assets, error, failed, quality }),
  "contact-sheet": z.object({ assets, error, failed, quality }),
  frames: z.object({
    assets,
    error,
    failed,
    quality,
    boxes: z.array(BoxSchema).optional(),
    confidence: z.number().optional(),
    /** Why the grid's confidence is below 1. */
    problem: z.string().optional(),
  }),
  clips: z.object({ assets, error, failed, quality, clips: z.array(ClipItemSchema), stitch }),
  reel: z.object({ assets, error, failed, quality, clips: z.array(ClipItemSchema).optional(), stitch }),
  budget: z.object({
    assets,
    budget: z.object({ spentUsd: z.number(), nextUsd: z.number(), capUsd: z.number(), neededUsd: z.number(), before: z.string() }),
  }),
} as const satisfies Record<CheckpointStage, z.ZodType>;

type Stages = typeof StageArtifacts;
const content = <S extends keyof Stages>(stage: S) => z.object({ stage: z.literal(stage), artifacts: StageArtifacts[stage] });
/** A checkpoint's stage with what it shows: the discriminated union of every stage's shape. */
export const CheckpointContent = z.discriminatedUnion("stage", [
  content("plan"),
  content("hero"),
  content("contact-sheet"),
  content("frames"),
  content("clips"),
  content("reel"),
  content("budget"),
]);
export type CheckpointContent = z.infer<typeof CheckpointContent>;
export type ArtifactsOf<S extends keyof Stages> = z.infer<Stages[S]>;
export type CheckpointArtifacts = CheckpointContent["artifacts"];

/** Throws, naming the stage and the offending fields, when a stage built its artifacts wrong (a bug). */
export function checkArtifacts(c: CheckpointContent): void {
  const parsed = CheckpointContent.safeParse(c);
  if (!parsed.success) {
    throw new Error(`the ${c.stage} checkpoint's artifacts are invalid (${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`);
  }
}
