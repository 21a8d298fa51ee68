/**
 * Subject tracking on a real H.264 clip (drawn with FFmpeg from a synthetic studio scene whose figure
 * box is known): boxes in source pixels close around the figure in every frame, the hard cut found at
 * its frame, and a cut the caller gives taken even where the picture does not jump.
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { trackSubject } from "../../../../container/pack/track.ts";
import { writeSceneClip, type Scene } from "../../../../common/pack-scenes.ts";
import { tempDir } from "../helpers.ts";

const scene: Scene = {
  name: "two shots",
  width: 640,
  height: 360,
  fps: 25,
  shots: [
    {
      frames: 30,
      backdrop: { top: [236, 230, 220], bottom: [214, 206, 194] },
      garment: [150, 40, 50],
      pose: (k) => ({ cx: 0.25 + 0.006 * k, cy: 0.5, h: 0.7 }),
    },
    { frames: 25, backdrop: { top: [190, 192, 196], bottom: [160, 162, 168] }, garment: [30, 90, 150], pose: () => ({ cx: 0.8, cy: 0.52, h: 0.5 }) },
  ],
};

describe("trackSubject", () => {
  const file = path.join(tempDir("pack-track"), "clip.mp4");
  let drawn: Awaited<ReturnType<typeof writeSceneClip>>;
  beforeAll(async () => {
    drawn = await writeSceneClip(scene, file);
  });

  it("boxes the figure in every frame and finds the hard cut", async () => {
    const { boxes: known, cuts } = drawn;
    const track = await trackSubject(file);
    expect(track).toMatchObject({ width: 640, height: 360, fps: 25, cuts });
    expect(track.boxes).toHaveLength(known.length);
    track.boxes.forEach((b, i) => {
      const k = known[i]!;
      expect(b, `frame ${i}`).not.toBeNull();
      // Around the figure to within 2 % of the frame's width on each side, never more than 1 % inside it.
      const tol = 0.02 * scene.width;
      expect(b!.x, `frame ${i}`).toBeGreaterThan(k.x - tol);
      expect(b!.x, `frame ${i}`).toBeLessThan(k.x + 0.01 * scene.width);
      expect(b!.x + b!.width, `frame ${i}`).toBeLessThan(k.x + k.width + tol);
      expect(b!.x + b!.width, `frame ${i}`).toBeGreaterThan(k.x + k.width - 0.01 * scene.width);
      expect(b!.y, `frame ${i}`).toBeGreaterThan(k.y - tol);
      expect(b!.y + b!.height, `frame ${i}`).toBeLessThan(k.y + k.height + tol);
    });
  });

  it("takes the caller's cuts, in seconds, beside the ones it finds", async () => {
    const track = await trackSubject(file, { cuts: [0.4, 30 / 25] });
    expect(track.cuts).toEqual([10, 30]);
  });
});
