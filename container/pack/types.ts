/**
 * The seam between the pack's two halves: subject tracking and the crop path (track.ts, path.ts) and
 * the encoders that follow a path (video.ts, still.ts). Boxes are in source pixels.
 */
import type { Box } from "../crop.ts";

export type { Box };

/** Where the subject is in a video: one box per source frame (interpolated between samples), and the hard cuts. */
export interface SubjectTrack {
  width: number;
  height: number;
  fps: number;
  /** One per source frame; null where no subject was found (the path holds its last position). */
  boxes: (Box | null)[];
  /** Indices of frames that start a new shot (a hard cut between clips), ascending, without 0. */
  cuts: number[];
}

/** What an output of `width` × `height` shows of the source, frame by frame. */
export interface CropPath {
  /** One per output frame; may reach outside the source, where the output is filled. */
  boxes: Box[];
  /** Output pixels per source pixel (above 1: upscaled). */
  upscale: number;
  /** Some frame's box reaches outside the source. */
  filled: boolean;
}

export interface PathOptions {
  /** The output's pixel size (only its aspect and scale matter to the path). */
  width: number;
  height: number;
  /** Clear space around the subject, a fraction of the output's shorter side. */
  margin: number;
}
