/**
 * The reel, end to end through the HTTP service: clips whose frames show their own number as a
 * barcode are stitched, the uploaded reel is decoded, and every frame's number is read back.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceFrameIndices, type EasingSpec } from "../../../common/easing.ts";
import {
  makeBarcodeClip,
  mp4TopLevelBoxes,
  postJob,
  readBarcode,
  readBarcodes,
  run,
  startBlobServer,
  startService,
  tempDir,
  type BlobServer,
} from "./helpers.ts";

const W = 192;
const H = 108;

interface TestClip {
  name: string;
  fps: number;
  /** Barcode values of the frames a decoder really produces, in order. */
  truth: number[];
}

let blobs: BlobServer;
let svc: Awaited<ReturnType<typeof startService>>;
const clips: TestClip[] = [];

async function addClip(name: string, file: string, fps: number): Promise<void> {
  blobs.set(name, readFileSync(file));
  const truth = await readBarcodes(file, ...(name === "clip-2" ? ([W / 2, H / 2] as const) : ([W, H] as const)));
  expect(
    truth.every((v) => v !== undefined),
    `${name} barcodes readable`,
  ).toBe(true);
  clips.push({ name, fps, truth: truth as number[] });
}

beforeAll(async () => {
  blobs = await startBlobServer();
  svc = await startService();
  const dir = tempDir("clips");
  const values = (clip: number, count: number) => Array.from({ length: count }, (_, f) => clip * 100 + f);

  await makeBarcodeClip(path.join(dir, "c1.mp4"), values(1, 29), { width: W, height: H, fps: 24 });
  // Half size and another frame rate: scaled up to the reel size in the decoder.
  await makeBarcodeClip(path.join(dir, "c2.mp4"), values(2, 37), { width: W / 2, height: H / 2, fps: 30 });
  // An MP4 with an edit list: its container has more packets than the frames ffmpeg decodes, so
  // metadata-based frame counts would be wrong.
  await makeBarcodeClip(path.join(dir, "c3-src.mp4"), values(3, 48), { width: W, height: H, fps: 24, gop: 12 });
  await run("ffmpeg", ["-v", "error", "-y", "-ss", "0.3", "-i", path.join(dir, "c3-src.mp4"), "-c", "copy", path.join(dir, "c3.mp4")]);
  await makeBarcodeClip(path.join(dir, "c4.mp4"), values(4, 23), { width: W, height: H, fps: 25 });
  await makeBarcodeClip(path.join(dir, "c5.mp4"), values(5, 31), { width: W, height: H, fps: 30 });

  await addClip("clip-1", path.join(dir, "c1.mp4"), 24);
  await addClip("clip-2", path.join(dir, "c2.mp4"), 30);
  await addClip("clip-3", path.join(dir, "c3.mp4"), 24);
  await addClip("clip-4", path.join(dir, "c4.mp4"), 25);
  await addClip("clip-5", path.join(dir, "c5.mp4"), 30);
  const packets = await run("ffprobe", [
    "-v",
    "error",
    "-count_packets",
    "-show_entries",
    "stream=nb_read_packets",
    "-of",
    "csv=p=0",
    path.join(dir, "c3.mp4"),
  ]);
  // Guard the premise of the edit-list case.
  expect(Number(packets.toString().trim())).toBeGreaterThan(clips[2]!.truth.length);
});

afterAll(async () => {
  await svc?.close();
  await blobs?.close();
});

/** Inputs are named clip-1..N in reel order; `sources` says which test clip each one is. */
function stitchBody(sources: string[], params: Record<string, unknown>, tag: string) {
  return {
    kind: "stitch",
    inputs: sources.map((source, i) => ({ name: `clip-${i + 1}`, url: blobs.inUrl(source) })),
    outputs: { reel: blobs.outUrl(`${tag}/reel.mp4`), poster: blobs.outUrl(`${tag}/poster.jpg`) },
    params,
  };
}

async function streamInfo(file: Buffer, dir: string) {
  const f = path.join(dir, "probe.mp4");
  (await import("node:fs")).writeFileSync(f, file);
  const json = JSON.parse(
    (
      await run("ffprobe", [
        "-v",
        "error",
        "-count_packets",
        "-show_entries",
        "stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_packets",
        "-of",
        "json",
        f,
      ])
    ).toString(),
  );
  return json.streams[0] as { codec_name: string; pix_fmt: string; width: number; height: number; r_frame_rate: string; nb_read_packets: string };
}

describe("stitch: frame-exact speed curves", () => {
  const easings: Array<[string, EasingSpec]> = [
    ["dramaticSwoop (default curve)", "dramaticSwoop"],
    ["easeOutBack (overshoots past the end)", "easeOutBack"],
    ["easeOutBounce (moves backwards in time)", "easeOutBounce"],
  ];
  const names = ["clip-1", "clip-2", "clip-3", "clip-4"];
  const fps = 30;
  const n = 30; // round(clipSeconds 1 × fps 30)

  for (const [label, easing] of easings) {
    it(`every output frame is the expected source frame: ${label}`, async () => {
      const tag = `exact-${typeof easing === "string" ? easing : "bezier"}`;
      const { status, json } = await postJob(svc, tag, stitchBody(names, { easing, clipSeconds: 1, fps, preset: "veryfast" }, tag));
      expect(status, JSON.stringify(json)).toBe(200);
      expect(json.status).toBe("done");

      const [reelPut] = blobs.putsTo(`${tag}/reel.mp4`);
      expect(blobs.putsTo(`${tag}/reel.mp4`)).toHaveLength(1);
      expect(reelPut!.contentType).toBe("video/mp4");
      const reel = json.result.outputs.reel;
      expect(reel).toMatchObject({ mime: "video/mp4", width: W, height: H, frames: names.length * n, fps, bytes: reelPut!.body.length });
      expect(reel.sha256).toBe(createHash("sha256").update(reelPut!.body).digest("hex"));
      expect(reel.duration).toBeCloseTo((names.length * n) / fps, 6);

      // The frames the decoder really produced decide the mapping (40 for the edit-list clip).
      expect(json.result.clips.map((c: { sourceFrames: number }) => c.sourceFrames)).toEqual(clips.slice(0, 4).map((c) => c.truth.length));

      const got = await readBarcodes(reelPut!.body, W, H);
      expect(got).toHaveLength(names.length * n);
      const expected: number[] = [];
      for (const clip of clips.slice(0, 4)) {
        const idx = sourceFrameIndices({ easing, outFrames: n, sourceFrames: clip.truth.length, sourceFps: clip.fps });
        for (const i of idx) expected.push(clip.truth[i]!);
      }
      expect(got).toEqual(expected);

      const info = await streamInfo(reelPut!.body, tempDir("probe"));
      expect(info).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p", width: W, height: H, r_frame_rate: "30/1" });
      expect(Number(info.nb_read_packets)).toBe(names.length * n);
      const boxes = mp4TopLevelBoxes(reelPut!.body);
      expect(boxes.indexOf("moov")).toBeGreaterThanOrEqual(0);
      expect(boxes.indexOf("moov"), `faststart: ${boxes.join(",")}`).toBeLessThan(boxes.indexOf("mdat"));
      expect(boxes, "a plain (not fragmented) MP4").not.toContain("moof");

      // Poster: a JPEG of the middle frame of the reel.
      const [posterPut] = blobs.putsTo(`${tag}/poster.jpg`);
      expect(posterPut!.contentType).toBe("image/jpeg");
      expect(posterPut!.body.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      const gray = await sharp(posterPut!.body).greyscale().raw().toBuffer({ resolveWithObject: true });
      expect([gray.info.width, gray.info.height]).toEqual([W, H]);
      expect(readBarcode(gray.data, W, H)).toBe(expected[Math.floor(expected.length / 2)]);
    });
  }

  it("defaults give 1.5 s per clip at 60 fps: 5 clips make a 450-frame, 7.5 s reel", async () => {
    const tag = "defaults";
    const all = ["clip-1", "clip-2", "clip-3", "clip-4", "clip-5"];
    const { status, json } = await postJob(svc, tag, stitchBody(all, { preset: "ultrafast" }, tag));
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json.result.outputs.reel).toMatchObject({ frames: 450, fps: 60, duration: 7.5 });
    const got = await readBarcodes(blobs.putsTo(`${tag}/reel.mp4`)[0]!.body, W, H);
    expect(got).toHaveLength(450);
    // The default curve is dramaticSwoop.
    const expected = clips.flatMap((clip) =>
      sourceFrameIndices({ easing: "dramaticSwoop", outFrames: 90, sourceFrames: clip.truth.length, sourceFps: clip.fps }).map((i) => clip.truth[i]),
    );
    expect(got).toEqual(expected);
  });

  it("crossfade and fade-through-black overlap clips by the transition and blend them", async () => {
    const params = { easing: "linear", clipSeconds: 1, fps: 30, transitionSeconds: 0.2, preset: "ultrafast" };
    const sources = [clips[0]!, clips[3]!, clips[4]!]; // 29, 23 and 31 source frames
    const T = 6; // round(0.2 s × 30 fps)
    const picks = sources.map((c) =>
      sourceFrameIndices({ easing: "linear", outFrames: n, sourceFrames: c.truth.length, sourceFps: c.fps }).map((i) => c.truth[i]!),
    );
    const bitsOf = (v: number) => {
      const bits = Array.from({ length: 10 }, (_, i) => (v >> i) & 1);
      return [...bits, bits.reduce((a, b) => a ^ b, 0), 1];
    };
    for (const transition of ["crossfade", "fadeblack"] as const) {
      const tag = `transition-${transition}`;
      const { status, json } = await postJob(
        svc,
        tag,
        stitchBody(
          sources.map((c) => c.name),
          { ...params, transition },
          tag,
        ),
      );
      expect(status, JSON.stringify(json)).toBe(200);
      expect(json.result.outputs.reel.frames).toBe(3 * 30 - 2 * T);
      expect(json.result.transitionFrames).toBe(T);
      const f = path.join(tempDir("fade"), "r.mp4");
      (await import("node:fs")).writeFileSync(f, blobs.putsTo(`${tag}/reel.mp4`)[0]!.body);
      const gray = await run("ffmpeg", ["-v", "error", "-i", f, "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]);
      expect(gray.length).toBe(78 * W * H);
      const frame = (k: number) => gray.subarray(k * W * H, (k + 1) * W * H);
      // Untouched outside the transitions.
      expect(readBarcode(frame(0), W, H)).toBe(picks[0]![0]);
      expect(readBarcode(frame(23), W, H)).toBe(picks[0]![23]);
      expect(readBarcode(frame(30), W, H)).toBe(picks[1]![T]);
      expect(readBarcode(frame(77), W, H)).toBe(picks[2]![29]);
      // Inside the first transition, output 24 + j mixes clip-1's frame 24 + j with clip-2's frame j.
      for (let j = 0; j < T; j++) {
        const p = (j + 1) / (T + 1);
        const a = bitsOf(picks[0]![24 + j]!);
        const b = bitsOf(picks[1]![j]!);
        const gray = frame(24 + j);
        for (let block = 0; block < 12; block++) {
          const [la, lb] = [16 + 219 * a[block]!, 16 + 219 * b[block]!];
          const studio = transition === "crossfade" ? la * (1 - p) + lb * p : p < 0.5 ? 16 + (la - 16) * (1 - 2 * p) : 16 + (lb - 16) * (2 * p - 1);
          const want = ((studio - 16) * 255) / 219; // ffmpeg's grey output is full range
          const bx = (block % 4) * (W / 4);
          const by = Math.floor(block / 4) * (H / 3);
          let sum = 0;
          let count = 0;
          for (let y = by + H / 12; y < by + H / 4; y++)
            for (let x = bx + W / 16; x < bx + (3 * W) / 16; x++) {
              sum += gray[y * W + x]!;
              count++;
            }
          expect(Math.abs(sum / count - want), `${transition} j=${j} block=${block}`).toBeLessThan(14);
        }
      }
    }
  });
});
