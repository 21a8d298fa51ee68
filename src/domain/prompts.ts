/** Prompt builders for each stage; reviewer feedback is folded into the stage it targets. */
import { BACKGROUNDS, POSES, STYLES } from "./presets.ts";
import type { Plan } from "./plan.ts";
import type { Mark, Region } from "./findings.ts";

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

/** A box in words a model follows: "upper left", "centre", "lower middle", with its extent in per cent. */
export function describeRegion(r: Region): string {
  const cx = r.x + r.w / 2;
  const cy = r.y + r.h / 2;
  const v = cy < 1 / 3 ? "upper" : cy > 2 / 3 ? "lower" : "middle";
  const h = cx < 1 / 3 ? "left" : cx > 2 / 3 ? "right" : "centre";
  const where = v === "middle" && h === "centre" ? "centre" : v === "middle" ? `${h} side` : `${v} ${h === "centre" ? "middle" : h}`;
  const pct = (a: number, b: number) => `${Math.round(a * 100)}–${Math.round(b * 100)} %`;
  return `${where} (${pct(r.x, r.x + r.w)} across, ${pct(r.y, r.y + r.h)} down)`;
}

/**
 * Feedback with the reviewer's marks (or the checks' findings) folded in, each naming its place:
 * "At the upper left (10–30 % across, 5–20 % down): keep the stitching sharp." Null when there is neither.
 */
export function feedbackWithMarks(feedback: string | null | undefined, marks: readonly Mark[] | undefined): string | null {
  const places = (marks ?? []).map((m) => {
    const at = m.region
      ? `At the ${describeRegion(m.region)}`
      : m.timeRange
        ? `From ${m.timeRange.from.toFixed(1)} s to ${m.timeRange.to.toFixed(1)} s`
        : "Overall";
    return `${at}: ${m.reason.replace(/[.\s]+$/, "")}.`;
  });
  const text = [feedback?.trim(), ...places].filter(Boolean).join(" ");
  return text || null;
}
