/** The fixed six-angle shot list (row-major on the contact sheet) and the camera moves between frames. */
import type { FRAME_COUNT } from "./contract.ts";
export const SHOT_LIST = [
  {
    name: "beauty portrait",
    description: "High-fashion beauty portrait: very close, slightly above or below eye level, offset angle, shallow depth of field.",
  },
  { name: "high-angle three-quarter", description: "High-angle three-quarter: overhead, off-centre diagonal, abstracting the shape of the body." },
  { name: "low-angle full body", description: "Low-angle oblique full body: camera low to the ground, elongating the silhouette and showing the footwear." },
  { name: "long-lens profile", description: "Side-on compression: long lens, profile or near-profile, flattened perspective." },
  { name: "intimate close portrait", description: "Intimate close portrait from an unexpected height: offset and expressive." },
  { name: "extreme detail", description: "Extreme detail of a garment or accessory from a non-intuitive angle: texture seen from below, behind or the side." },
] as const;

/** Camera language for clip i (frame i -> frame i+1); the sixth is the optional loop clip 6 -> 1. */
export const CAMERA_MOVES = [
  {
    name: "Jib Up + Arc",
    prompt:
      "The camera rises on a jib while orbiting from the front to a three-quarter view; the model's gaze lifts. Smooth, cinematic. The subject is otherwise still.",
  },
  { name: "Descending Arc", prompt: "The camera descends from overhead to ground level in one sweeping arc; the posture elongates. Smooth, continuous move." },
  {
    name: "Low Dolly Arc",
    prompt: "A low arc around the subject reveals the profile; the model turns slightly; the background stays still; shallow depth of field.",
  },
  { name: "Dolly In", prompt: "A slow push-in toward the face from the profile, lens compression increasing. The subject is completely still." },
  { name: "Macro Push", prompt: "A slow creep onto the fabric and detail texture. The subject and the fabric are completely still." },
  {
    name: "Pull Back + Arc",
    prompt: "The camera pulls back and arcs up from the detail to the portrait, returning to the opening frame. Smooth camera transition completing the loop.",
  },
] as const;

/** One shot per frame of the contract: a list of another length does not type-check. */
const _oneShotPerFrame: typeof FRAME_COUNT = SHOT_LIST.length;

export const NEGATIVE_PROMPT = "blur, distort, and low quality";
