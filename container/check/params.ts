/**
 * Every tuned number of the checks, named. Tuned on the drift set's seeds 0–29 only
 * (`BENCH_QA_FIRST=0 BENCH_QA_PAIRS=30 npm run bench:qa`); `npm run bench:qa` reports seeds from 1000,
 * held out (docs/benchmarks.md).
 */

/** Long edge of the picture the still checks measure on; the coarse search runs at half of it. */
export const STILL_EDGE = 256;
/** Long edge of the second look at an accessory not found at `STILL_EDGE` (its search's fine level; `STILL_EDGE` is the coarse). */
export const CLOSER_EDGE = 512;
/** Long edge of a decoded reference (templates are resampled from it). */
export const REFERENCE_EDGE = 320;

/** Rotations of a garment or accessory template tried where it was found, degrees. */
export const ROTATIONS = [-3, 0, 3];

/** NCC of the garment reference's luma at its best place: below this, the garment is not the reference's. */
export const GARMENT_FOUND = 0.4;
/** The garment's colour is measured only where it was placed at least this surely (NCC). */
export const GARMENT_PLACED = 0.55;
/** ΔE00 between a garment colour in the reference and the same part of the output: above this, drifted. */
export const GARMENT_DELTA_E = 10;
/** A garment colour counts when it covers at least this share of the garment. */
export const GARMENT_COLOUR_SHARE = 0.15;
/**
 * Sizes tried for a garment: √(area) of the template as a fraction of √(area) of the output (a
 * garment filling a 2:3 frame is about 0.8; the simulator's inserts about 0.15).
 */
export const GARMENT_SIZES = { min: 0.12, max: 1.1 } as const;

/** NCC of the accessory reference at its best place: below this, it is not in the picture. */
export const ACCESSORY_FOUND = 0.5;
export const ACCESSORY_SIZES = { min: 0.06, max: 0.45 } as const;

/** NCC of the model reference's face at its best place: below this, the face is not the model's. */
export const IDENTITY_FOUND = 0.75;
export const FACE_SIZES = { min: 0.07, max: 0.5 } as const;
/** A face not matched at first is searched again at `STILL_EDGE` from the start, at sizes up to this. */
export const FACE_SECOND_LOOK_MAX = 0.25;

/**
 * An accessory's or a face's likeness is its NCC scaled down by the colour gap where it was found:
 * by nothing up to `COLOUR_SLACK` ΔE00 (light and white balance differ between shots), to zero at
 * `COLOUR_SLACK + COLOUR_SPAN`.
 */
export const COLOUR_SLACK = 6;
/**
 * The slack for a face: a frame graded warmer or cooler than the reference (the simulator's angles,
 * a photographer's grade) moves skin by 8–12 ΔE00 while the features stay; on the tuning seeds no
 * swapped face passed for it.
 */
export const FACE_COLOUR_SLACK = 10;
export const COLOUR_SPAN = 30;

/** Continuity compares only stills where the garment was placed at least this surely (NCC). */
export const CONTINUITY_PLACED = 0.7;

/** ΔE00 between a still's garment colour and the hero's (or the stills' median): above this, the set is not continuous. */
export const CONTINUITY_DELTA_E = 12;

/** Clip thumbnails for stability: width in pixels (height follows the clip's aspect). */
export const CLIP_THUMB_WIDTH = 32;
/**
 * The clip is decoded at twice that width (stability halves it), and its first and last frames are
 * held against the start and end stills at this size: at 32 px a figure moved and zoomed on a plain
 * backdrop is a pixel or two.
 */
export const CLIP_END_WIDTH = 2 * CLIP_THUMB_WIDTH;
/** Lab distance off the way from a clip's first frame to its last (the worst quarter of the picture, smoothed over `STRAY_WINDOW` frames): above this, it morphs. */
export const CLIP_STRAY = 3;
export const STRAY_WINDOW = 5;
/** Pixels (of the stability thumbnail) within which a frame's pixel may find what the first or last frame shows: motion, not a morph. */
export const STRAY_REACH = 2;
/** Mean Lab distance between neighbouring frames beyond the clip's usual step: above this, a sudden change. */
export const CLIP_JUMP = 12;
/** ΔE00 between a clip's last frame and its end frame (mean of the worst quarter of the picture), at the best alignment (below). */
export const CLIP_END_DELTA_E = 5;
/**
 * The alignment searched: zooms (then ±2 % around the best) and shifts up to this share of the
 * thumbnail's width each way. A provider's clip may end on its end frame cropped and moved (the
 * simulator pans a 6 % larger picture), which is not ending away.
 */
export const CLIP_END_ZOOMS = [0.88, 0.92, 0.96, 1, 1.04, 1.08, 1.12];
export const CLIP_END_SHIFT = 0.12;

/** Reel: how far the duration may be from the expected one (seconds, or this share of it, whichever is larger). */
export const REEL_DURATION_TOLERANCE = { seconds: 0.25, share: 0.05 } as const;
