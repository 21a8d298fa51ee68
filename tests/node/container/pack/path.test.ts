/**
 * The crop path on tracks whose boxes are given: the subject with its margin stays inside every
 * frame's crop, the crop moves less than 1 % of the source width a frame except at cuts, a still
 * subject gets a still crop, and a subject wider than any crop is filled around, never cut.
 */
import { describe, expect, it } from "vitest";
import { MAX_STEP, planCropPath, planStillCrop } from "../../../../container/pack/path.ts";
import type { Box, SubjectTrack } from "../../../../container/pack/types.ts";

const W = 1280;
const H = 720;
const REELS = { width: 1080, height: 1920, margin: 0.04 };

function inside(crop: Box, b: Box, margin: number): boolean {
  const m = margin * Math.min(crop.width, crop.height);
  const x0 = Math.max(0, b.x - m);
  const x1 = Math.min(W, b.x + b.width + m);
  const y0 = Math.max(0, b.y - m);
  const y1 = Math.min(H, b.y + b.height + m);
  return crop.x <= x0 + 1e-6 && crop.x + crop.width >= x1 - 1e-6 && crop.y <= y0 + 1e-6 && crop.y + crop.height >= y1 - 1e-6;
}

const step = (a: Box, b: Box) => Math.hypot(b.x + b.width / 2 - a.x - a.width / 2, b.y + b.height / 2 - a.y - a.height / 2);

function track(boxes: (Box | null)[], cuts: number[] = []): SubjectTrack {
  return { width: W, height: H, fps: 25, boxes, cuts };
}

describe("planCropPath", () => {
  it("keeps a subject walking across the frame inside a 9:16 crop with its margin, moving under 1 % a frame", () => {
    // 150 frames from x 100 to x 1000: 6 px a frame, with a 2 px wobble the measurements would have.
    const boxes = Array.from({ length: 150 }, (_, i) => ({ x: 100 + 6 * i + 2 * Math.sin(i), y: 150, width: 180, height: 420 }));
    const path = planCropPath(track(boxes), REELS);
    expect(path.boxes).toHaveLength(150);
    path.boxes.forEach((c, i) => {
      expect(inside(c, boxes[i]!, REELS.margin), `frame ${i}`).toBe(true);
    });
    for (let i = 1; i < 150; i++) expect(step(path.boxes[i - 1]!, path.boxes[i]!)).toBeLessThan(0.01 * W);
    expect(path.boxes[0]!.width / path.boxes[0]!.height).toBeCloseTo(1080 / 1920, 6);
    expect(path.filled).toBe(false);
    expect(path.upscale).toBeCloseTo(1920 / 720, 6);
  });

  it("starts moving early for a subject faster than the camera may move, and jumps only at cuts", () => {
    // 15 px a frame (1.2 % of the width) for 30 frames, then a cut to the other side.
    const boxes = [
      ...Array.from({ length: 60 }, (_, i) => ({ x: 200 + 15 * Math.max(0, Math.min(30, i - 15)), y: 200, width: 150, height: 400 })),
      ...Array.from({ length: 40 }, () => ({ x: 80, y: 180, width: 160, height: 420 })),
    ];
    const path = planCropPath(track(boxes, [60]), REELS);
    path.boxes.forEach((c, i) => {
      expect(inside(c, boxes[i]!, REELS.margin), `frame ${i}`).toBe(true);
    });
    const steps = path.boxes.slice(1).map((c, i) => step(path.boxes[i]!, c));
    steps.forEach((s, i) => {
      if (i + 1 !== 60) expect(s, `frame ${i + 1}`).toBeLessThanOrEqual(Math.SQRT2 * MAX_STEP * W + 1e-9);
    });
    expect(steps[59]).toBeGreaterThan(0.1 * W); // the new shot starts where its subject is
    expect(path.boxes[14]!.x).toBeGreaterThan(path.boxes[0]!.x); // moving before the subject does
  });

  it("holds a still subject with a still crop, measurement jitter and all", () => {
    const boxes = Array.from({ length: 100 }, (_, i) => ({ x: 500 + ((i * 7) % 5) - 2, y: 100 + ((i * 3) % 3), width: 200, height: 500 }));
    const path = planCropPath(track(boxes), { width: 1080, height: 1350, margin: 0.04 });
    const first = path.boxes[0]!;
    for (const c of path.boxes) expect(c).toEqual(first);
    // Framed on the subject, not left at the centre of the source.
    expect(first.x + first.width / 2).toBeCloseTo(600, -1);
  });

  it("grows the crop past the source for a subject wider than any 9:16 crop: filled, never cut", () => {
    const boxes = Array.from({ length: 30 }, (_, i) => ({ x: 300 + i, y: 40, width: 600, height: 640 }));
    const path = planCropPath(track(boxes), REELS);
    expect(path.filled).toBe(true);
    path.boxes.forEach((c, i) => {
      expect(inside(c, boxes[i]!, REELS.margin), `frame ${i}`).toBe(true);
    });
    expect(path.boxes[0]!.width).toBeGreaterThan(600);
    expect(path.boxes[0]!.height).toBeGreaterThan(H);
    expect(path.upscale).toBeLessThan(1080 / 600);
  });

  it("holds the last position through frames without a subject", () => {
    const boxes: (Box | null)[] = Array.from({ length: 40 }, (_, i) => (i < 20 ? { x: 900, y: 200, width: 150, height: 400 } : null));
    const path = planCropPath(track(boxes), REELS);
    expect(path.boxes[39]).toEqual(path.boxes[19]);
    expect(inside(path.boxes[39]!, boxes[0]!, REELS.margin)).toBe(true);
  });
});

describe("planStillCrop", () => {
  it("frames a subject near the edge inside the source, and centre-crops without one", () => {
    const subject = { x: 20, y: 100, width: 200, height: 500 };
    const near = planStillCrop(subject, { width: W, height: H }, { width: 1500, height: 2000, margin: 0.04 });
    expect(near.box.x).toBe(0);
    expect(inside(near.box, subject, 0.04)).toBe(true);
    expect(near.filled).toBe(false);
    const none = planStillCrop(null, { width: W, height: H }, { width: 2048, height: 2048, margin: 0.04 });
    expect(none.box).toEqual({ x: (W - H) / 2, y: 0, width: H, height: H });
  });
});
