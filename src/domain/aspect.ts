/** Aspect ratios a producer may ask for, for stills, frames and the reel (SPEC section 2). */
export const ASPECT_RATIOS = ["16:9", "9:16", "4:3", "3:4", "1:1", "3:2", "2:3", "4:5"] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];

/** Width divided by height, e.g. "3:2" -> 1.5. */
export function aspectValue(ratio: AspectRatio): number {
  const [w, h] = ratio.split(":").map(Number);
  return w / h;
}
