/** `GET /api/presets`: the options a client offers (poses, backgrounds, styles, aspect ratios, easings, stages). */
import { Hono } from "hono";
import { ASPECT_RATIOS } from "../domain/aspect.ts";
import { BEZIER_PRESETS, EASING_NAMES } from "../domain/easing.ts";
import { BACKGROUNDS, DEFAULT_BACKGROUND, DEFAULT_POSE, DEFAULT_STYLE, POSES, STYLES } from "../domain/presets.ts";
import { DEFAULT_REVIEW, DEFAULT_STITCH, STAGES } from "../domain/shoot.ts";
import { requireApiKey, type AppEnv } from "./auth.ts";

const options = (o: Record<string, string>) => Object.entries(o).map(([id, description]) => ({ id, description }));

export const presets = new Hono<AppEnv>().use(requireApiKey).get("/", (c) =>
  c.json({
    poses: options(POSES),
    backgrounds: options(BACKGROUNDS),
    styles: options(STYLES),
    defaults: { pose: DEFAULT_POSE, background: DEFAULT_BACKGROUND, style: DEFAULT_STYLE },
    aspectRatios: ASPECT_RATIOS,
    stages: STAGES,
    defaultReview: DEFAULT_REVIEW,
    easings: EASING_NAMES,
    bezierPresets: BEZIER_PRESETS,
    defaultStitch: DEFAULT_STITCH,
  }),
);
