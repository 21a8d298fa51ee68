/** `GET /api/presets`: the options a client offers (poses, backgrounds, styles, aspect ratios, easings, stages). */
import { $, createRoute } from "@hono/zod-openapi";
import { ASPECT_RATIOS } from "../domain/aspect.ts";
import { BEZIER_PRESETS, EASING_NAMES } from "../../common/easing.ts";
import { BACKGROUNDS, DEFAULT_BACKGROUND, DEFAULT_POSE, DEFAULT_STYLE, POSES, STYLES } from "../domain/presets.ts";
import { DEFAULT_REVIEW, FINAL_SHOOT_STATUSES, STAGES } from "../domain/contract.ts";
import { DEFAULT_STITCH } from "../domain/shoot.ts";
import { requireApiKey } from "./auth.ts";
import { router } from "./openapi.ts";
import * as S from "./schemas.ts";

const options = (o: Record<string, string>) => Object.entries(o).map(([id, description]) => ({ id, description }));

export const presets = $(router().use(requireApiKey)).openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "getPresets",
    summary: "Pose, background and style presets, aspect ratios, easings and stages",
    tags: ["shoots"],
    security: S.bearer,
    responses: { 200: S.json(S.PresetOptions, "The options"), ...S.problems(401) },
  }),
  (c) =>
    c.json(
      {
        poses: options(POSES),
        backgrounds: options(BACKGROUNDS),
        styles: options(STYLES),
        defaults: { pose: DEFAULT_POSE, background: DEFAULT_BACKGROUND, style: DEFAULT_STYLE },
        aspectRatios: [...ASPECT_RATIOS],
        stages: [...STAGES],
        defaultReview: DEFAULT_REVIEW,
        finalStatuses: [...FINAL_SHOOT_STATUSES],
        easings: [...EASING_NAMES],
        bezierPresets: Object.fromEntries(Object.entries(BEZIER_PRESETS).map(([k, v]) => [k, [...v] as [number, number, number, number]])),
        defaultStitch: DEFAULT_STITCH,
      },
      200,
    ),
);
