/** Prompt builders for each stage; reviewer feedback is folded into the stage it targets. */
import { BACKGROUNDS, POSES, STYLES } from "./presets.ts";
import type { Plan } from "./plan.ts";

function withFeedback(prompt: string, feedback?: string | null): string {
  return feedback ? `${prompt}\n\nDirector's notes for this take: ${feedback}` : prompt;
}

export function heroPrompt(plan: Plan, brief: string, feedback?: string | null): string {
  return withFeedback(
    [
      "Show me a high fashion photoshoot image of the subject from the reference photo wearing the outfit and " +
        "accessories from the reference images. Full-body shot.",
      `Brief: ${brief}`,
      `Pose: ${POSES[plan.pose]}`,
      `Setting: ${BACKGROUNDS[plan.background]}`,
      `Wardrobe: ${plan.wardrobeNotes}`,
      `Style: ${STYLES[plan.style]} ${plan.styleDetails}`.trim(),
    ].join("\n"),
    feedback,
  );
}

export function contactSheetPrompt(plan: Plan, feedback?: string | null): string {
  const shots = plan.shots.map((s, i) => `${i + 1}. ${s.description}`).join("\n");
  return withFeedback(
    [
      "Analyze the input image and silently inventory all fashion-critical details: garments, fabrics, colours, " +
        "accessories, hair and make-up. Keep all of them 100% unchanged. Do not output any reasoning.",
      "Output one 2x3 contact sheet: six frames in a grid with thin uniform gutters, the same scene, the same " +
        "subject and wardrobe, each frame a resting point after a dramatic camera move, in this order:",
      shots,
      "Continuity: wardrobe fidelity, depth of field varies with focal length, same scene and light. Exactly six keyframes.",
      `Style: ${STYLES[plan.style]} ${plan.styleDetails}`.trim(),
    ].join("\n"),
    feedback,
  );
}

export function frameEditPrompt(plan: Plan, feedback: string): string {
  return `Take this image and ${feedback.trim()}. Keep the subject, wardrobe and framing. Maintain the style: ${STYLES[plan.style]}`;
}

export function clipPrompt(plan: Plan, index: number, feedback?: string | null): string {
  return withFeedback(plan.motions[index - 1].prompt, feedback);
}
