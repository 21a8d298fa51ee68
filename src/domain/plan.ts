/**
 * The shoot plan (stage 0): presets, wardrobe notes, the six-shot list and the camera moves.
 * `planShoot` is the deterministic planner used when no Anthropic key is configured; the Claude
 * planner must return the same shape, validated by `PlanSchema`.
 */
import { z } from "zod";
import { BACKGROUND_IDS, POSE_IDS, STYLE_IDS, matchPresets, type Presets } from "./presets.ts";
import { CAMERA_MOVES, SHOT_LIST } from "./shots.ts";

export const PlanSchema = z.object({
  pose: z.enum(POSE_IDS),
  background: z.enum(BACKGROUND_IDS),
  style: z.enum(STYLE_IDS),
  wardrobeNotes: z.string().max(1000),
  styleDetails: z.string().max(500),
  shots: z.array(z.object({ name: z.string().max(80), description: z.string().max(600) })).length(6),
  motions: z.array(z.object({ name: z.string().max(80), prompt: z.string().max(2000) })).length(6),
  planner: z.enum(["rules", "claude"]),
  /** Why this planner made the plan: no key configured, or why Claude's answer was not used. */
  plannerReason: z.string().max(500).optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

export interface PlanInput {
  brief: string;
  presets?: Partial<Presets>;
}

export function planShoot({ brief, presets }: PlanInput): Plan {
  const chosen = matchPresets(brief, presets);
  const glasses = /\b(glasses|sunglasses|eyewear|aviators?)\b/i.test(brief);
  return {
    ...chosen,
    wardrobeNotes: "Keep every garment and accessory from the references exactly as shown: cut, colour, fabric, logos and hardware.",
    styleDetails: glasses ? "There are harsh white reflections on the glasses frames." : "",
    shots: SHOT_LIST.map((s) => ({ name: s.name, description: s.description })),
    motions: CAMERA_MOVES.map((m) => ({ name: m.name, prompt: m.prompt })),
    planner: "rules",
  };
}
