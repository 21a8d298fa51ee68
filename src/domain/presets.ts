/**
 * Pose, background and style presets, and the keyword matcher that picks them from a brief
 * (the predecessor's table, made deterministic; see reference/predecessor.md section 3).
 */
export const POSES = {
  "confident-standing": "weight on one leg, hand on hip, chin slightly lifted, direct confident gaze at camera",
  "seated-editorial": "sitting on the floor or a low surface, upright posture, legs arranged with intent, contemplative gaze",
  "leaning-casual": "leaning against a wall, relaxed shoulders, approachable expression, soft gaze",
  "editorial-drama": "angular high-fashion pose, strong geometric shapes with the limbs, dramatic tension",
  "relaxed-natural": "soft candid moment, unstaged, weight balanced, gentle natural expression",
  "street-walk": "mid-stride, confident urban walk, natural arm movement",
  "urban-lean": "leaning on a wall or railing, one foot against the wall, street attitude",
} as const;

export const BACKGROUNDS = {
  "studio-grey": "seamless grey studio backdrop, timeless and clean",
  "studio-white": "white cyclorama, high-key, commercial brightness",
  "studio-black": "dark void backdrop, low-key, strong subject isolation",
  industrial: "raw concrete walls and exposed architecture",
  "warm-daylight": "soft window light, warm and diffused",
  "color-gel": "bold solid-colour backdrop lit with saturated gel lighting",
  "outdoor-urban": "city street with metropolitan context",
} as const;

/** The locked house style; replaceable by naming another style preset. */
export const STYLES = {
  house:
    "shot on fuji velvia film on a 55mm prime lens with a hard flash, the light is concentrated on the subject " +
    "and fades slightly toward the edges of the frame. The image is over exposed showing significant film grain " +
    "and is oversaturated. The skin appears shiny (almost oily).",
  "clean-digital": "crisp digital capture on a medium-format camera, soft key light with gentle fill, true-to-life colour, no grain.",
  "soft-film": "shot on 35mm colour negative film, soft natural light, muted pastel palette, fine grain, gentle halation.",
} as const;

export type PoseId = keyof typeof POSES;
export type BackgroundId = keyof typeof BACKGROUNDS;
export type StyleId = keyof typeof STYLES;

export const POSE_IDS = Object.keys(POSES) as [PoseId, ...PoseId[]];
export const BACKGROUND_IDS = Object.keys(BACKGROUNDS) as [BackgroundId, ...BackgroundId[]];
export const STYLE_IDS = Object.keys(STYLES) as [StyleId, ...StyleId[]];

export const DEFAULT_POSE: PoseId = "confident-standing";
export const DEFAULT_BACKGROUND: BackgroundId = "studio-grey";
export const DEFAULT_STYLE: StyleId = "house";

export interface Presets {
  pose: PoseId;
  background: BackgroundId;
  style: StyleId;
}

/** Keyword rows, first match wins; order matters ("bold colors" before "bold"). */
const KEYWORD_RULES: { words: string[]; pose: PoseId; background: BackgroundId }[] = [
  { words: ["colorful", "colourful", "vibrant", "bold colors", "bold colours", "neon"], pose: "editorial-drama", background: "color-gel" },
  { words: ["edgy", "dramatic", "bold", "intense", "moody"], pose: "editorial-drama", background: "studio-black" },
  { words: ["lean", "leaning", "attitude"], pose: "urban-lean", background: "outdoor-urban" },
  { words: ["street", "urban", "city"], pose: "street-walk", background: "outdoor-urban" },
  { words: ["industrial", "raw", "concrete", "warehouse"], pose: "leaning-casual", background: "industrial" },
  { words: ["warm", "soft", "intimate", "golden"], pose: "seated-editorial", background: "warm-daylight" },
  { words: ["professional", "clean", "commercial", "catalogue", "catalog", "e-commerce"], pose: "confident-standing", background: "studio-white" },
  { words: ["casual", "relaxed", "natural", "chill"], pose: "relaxed-natural", background: "studio-grey" },
];

/** Picks presets from the brief's words; explicit choices always win over matched ones. */
export function matchPresets(brief: string, explicit: Partial<Presets> = {}): Presets {
  const text = ` ${brief.toLowerCase().replace(/[^a-z0-9-]+/g, " ")} `;
  const rule = KEYWORD_RULES.find((r) => r.words.some((w) => text.includes(` ${w} `)));
  return {
    pose: explicit.pose ?? rule?.pose ?? DEFAULT_POSE,
    background: explicit.background ?? rule?.background ?? DEFAULT_BACKGROUND,
    style: explicit.style ?? DEFAULT_STYLE,
  };
}
