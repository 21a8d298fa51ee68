/**
 * The HTTP contract of the media service (docs/contracts.md): idempotency by id across concurrent
 * calls and restarts, 400 / 422 / 500 answers, and the reframe and probe jobs.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSheet } from "../../../common/sheets/draw.ts";
import { makeBarcodeClip, postJob, startBlobServer, startService, tempDir, type BlobServer } from "./helpers.ts";

let blobs: BlobServer;
let clipBytes: Buffer;

beforeAll(async () => {
  blobs = await startBlobServer();
  const sheet = await makeSheet({ gutter: 20, gutterColor: [255, 255, 255], margin: 30, backdrop: "grey", noise: 1, seed: 2 });
  blobs.set("sheet.png", sheet.buffer);
  blobs.set("photo.png", (await makeSheet({ rows: 1, cols: 1, gutter: 0, gutterColor: [255, 255, 255], margin: 0, backdrop: "warm", noise: 1 })).buffer);
  const dir = tempDir("svc-clips");
  await makeBarcodeClip(
    path.join(dir, "a.mp4"),
    Array.from({ length: 24 }, (_, i) => i),
    { width: 96, height: 54, fps: 24 },
  );
  clipBytes = readFileSync(path.join(dir, "a.mp4"));
  blobs.set("clip-ok.mp4", clipBytes);
  blobs.set("clip-corrupt.mp4", Buffer.concat([clipBytes.subarray(0, 64), randomBytes(4000)]));
  blobs.set("clip-empty.mp4", Buffer.alloc(0));
  blobs.set(
    "frame.png",
    await sharp({ create: { width: 800, height: 600, channels: 3, background: "#7a8a9a" } })
      .png()
      .toBuffer(),
  );
});

afterAll(async () => {
  await blobs?.close();
});

const frameOutputs = (tag: string, query?: string) =>
  Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`frame-${i + 1}`, blobs.outUrl(`${tag}/frame-${i + 1}.png`, query)]));

function cropBody(tag: string, query = "sig=first", mode: "detect" | "equal" = "detect", sheet = "sheet.png") {
  return {
    kind: "crop",
    inputs: [{ name: "sheet", url: blobs.inUrl(sheet, query) }],
    outputs: frameOutputs(tag, query),
    params: { rows: 2, cols: 3, mode },
  };
}

describe("media service: idempotent jobs", () => {
  it("runs a job once: concurrent POSTs share the run, later POSTs and a restarted service replay it", async () => {
    const stateDir = tempDir("state-idem");
    let svc = await startService(stateDir);
    try {
      const [a, b] = await Promise.all([postJob(svc, "shoot-1:frames:1", cropBody("idem")), postJob(svc, "shoot-1:frames:1", cropBody("idem"))]);
      expect(a.status, JSON.stringify(a.json)).toBe(200);
      expect(b.status).toBe(200);
      expect(a.json).toEqual(b.json);
      expect(a.json).toMatchObject({ id: "shoot-1:frames:1", status: "done" });
      expect(a.json.result.confidence).toBeGreaterThanOrEqual(0.5);
      expect(a.json.result.boxes).toHaveLength(6);
      const countPuts = () => blobs.puts.filter((p) => p.path.startsWith("idem/")).length;
      expect(countPuts()).toBe(6);
      for (let i = 1; i <= 6; i++) {
        const [put] = blobs.putsTo(`idem/frame-${i}.png`);
        expect(put!.contentType).toBe("image/png");
        expect(a.json.result.outputs[`frame-${i}`]).toMatchObject({ mime: "image/png", bytes: put!.body.length, ...a.json.result.frameSize });
      }
      expect(blobs.gets.get("sheet.png")).toBe(1);

      // Again after it finished, with freshly signed URLs: same answer, nothing downloaded or uploaded.
      const again = await postJob(svc, "shoot-1:frames:1", cropBody("idem", "sig=second"));
      expect(again.status).toBe(200);
      expect(again.json).toEqual(a.json);
      expect(countPuts()).toBe(6);
      expect(blobs.gets.get("sheet.png")).toBe(1);

      // A restarted service on the same state dir still knows the answer.
      await svc.close();
      svc = await startService(stateDir);
      const afterRestart = await postJob(svc, "shoot-1:frames:1", cropBody("idem", "sig=third"));
      expect(afterRestart.status).toBe(200);
      expect(afterRestart.json).toEqual(a.json);
      expect(countPuts()).toBe(6);
      expect(blobs.gets.get("sheet.png")).toBe(1);
      const status = await fetch(`${svc.url}/jobs/${encodeURIComponent("shoot-1:frames:1")}`);
      expect(status.status).toBe(200);

      // Reusing the id for a different job is refused instead of answering the wrong result.
      const other = await postJob(svc, "shoot-1:frames:1", cropBody("idem", "sig=x", "equal"));
      expect(other.status).toBe(409);
      expect(other.json.error).toMatch(/already used for a different job/);
      expect(countPuts()).toBe(6);
    } finally {
      await svc.close();
    }
  });

  it("a failed upload is a 500 (retryable), stores nothing, and the retry runs the job", async () => {
    const svc = await startService();
    try {
      blobs.failPuts(503);
      const failed = await postJob(svc, "put-fails", cropBody("putfail"));
      expect(failed.status).toBe(500);
      expect(failed.json).toMatchObject({ id: "put-fails", status: "error" });
      expect(failed.json.error).toMatch(/upload of "frame-\d" .* failed/);
      expect(failed.json.error).not.toMatch(/sig=/); // signed URLs never leak into errors
      blobs.failPuts(undefined);
      const retried = await postJob(svc, "put-fails", cropBody("putfail"));
      expect(retried.status).toBe(200);
      expect(blobs.puts.filter((p) => p.path.startsWith("putfail/"))).toHaveLength(6);
    } finally {
      blobs.failPuts(undefined);
      await svc.close();
    }
  });

  it("PUTs the answer after the outputs, before replying, so another instance's job is found in storage", async () => {
    const svc = await startService();
    try {
      const done = await postJob(svc, "answered", { ...cropBody("answered"), answer: blobs.outUrl("answered/answer.json") });
      expect(done.status).toBe(200);
      const [answer] = blobs.putsTo("answered/answer.json");
      expect(answer!.contentType).toBe("application/json");
      expect(JSON.parse(answer!.body.toString())).toEqual(done.json);
      // The last PUT of the job: every output was stored when the answer says the job is done.
      expect(blobs.puts.filter((p) => p.path.startsWith("answered/")).at(-1)!.path).toBe("answered/answer.json");
      // A replay answers from disk without PUTting the answer again.
      const again = await postJob(svc, "answered", { ...cropBody("answered", "sig=second"), answer: blobs.outUrl("answered/answer.json", "sig=second") });
      expect(again.json).toEqual(done.json);
      expect(blobs.putsTo("answered/answer.json")).toHaveLength(1);
    } finally {
      await svc.close();
    }
  });
});

describe("media service: bad inputs and bad bodies", () => {
  let svc: Awaited<ReturnType<typeof startService>>;
  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.close();
  });

  const stitch = (clip2: string, tag: string) => ({
    kind: "stitch",
    inputs: [
      { name: "clip-1", url: blobs.inUrl("clip-ok.mp4") },
      { name: "clip-2", url: blobs.inUrl(clip2) },
    ],
    outputs: { reel: blobs.outUrl(`${tag}/reel.mp4`), poster: blobs.outUrl(`${tag}/poster.jpg`) },
    params: { fps: 24, clipSeconds: 0.5, preset: "ultrafast" },
  });

  it("a corrupt clip is a 422 naming the clip, and nothing is uploaded", async () => {
    const { status, json } = await postJob(svc, "corrupt-1", stitch("clip-corrupt.mp4", "corrupt"));
    expect(status).toBe(422);
    expect(json).toMatchObject({ id: "corrupt-1", status: "failed" });
    expect(json.error).toMatch(/^clip-2 (is not a readable video|could not be decoded|has no decodable)/);
    expect(json.error).toMatch(/regenerate or re-upload/);
    expect(blobs.puts.filter((p) => p.path.startsWith("corrupt/"))).toHaveLength(0);
  });

  it("an empty or missing clip is a 422 that says so", async () => {
    const empty = await postJob(svc, "empty-1", stitch("clip-empty.mp4", "empty"));
    expect(empty.status).toBe(422);
    expect(empty.json.error).toMatch(/"clip-2" is empty \(0 bytes\)/);
    const missing = await postJob(svc, "missing-1", stitch("no-such-clip.mp4", "missing"));
    expect(missing.status).toBe(422);
    expect(missing.json.error).toMatch(/"clip-2" could not be downloaded \(HTTP 404/);
    expect(blobs.puts.filter((p) => p.path.startsWith("empty/") || p.path.startsWith("missing/"))).toHaveLength(0);
  });

  // Under load this once failed with "clip-2 has no decodable video frames": the tiny clip was decoded
  // in full before the stitch read it, and Node drained the exited decoder's stdout (container/stitch.ts).
  it("a failure is not stored: once the input is fixed, the same id succeeds", async () => {
    blobs.set("clip-later.mp4", Buffer.alloc(0));
    expect((await postJob(svc, "later-1", stitch("clip-later.mp4", "later"))).status).toBe(422);
    blobs.set("clip-later.mp4", clipBytes);
    const ok = await postJob(svc, "later-1", stitch("clip-later.mp4", "later"));
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json.result.outputs.reel).toMatchObject({ frames: 24, fps: 24, mime: "video/mp4" });
    expect(blobs.putsTo("later/reel.mp4")).toHaveLength(1);
    expect(blobs.putsTo("later/poster.jpg")[0]!.contentType).toBe("image/jpeg");
  });

  it("a picture without a grid fails detection with a reason (422) and splits in equal mode", async () => {
    const detect = await postJob(svc, "nogrid-1", cropBody("nogrid", "sig=a", "detect", "photo.png"));
    expect(detect.status).toBe(422);
    expect(detect.json.error).toMatch(/^Could not find the 2×3 grid with confidence \(0\.\d\d\): .*Choose an equal split or revise the contact sheet\.$/);
    expect(blobs.puts.filter((p) => p.path.startsWith("nogrid/"))).toHaveLength(0);
    const equal = await postJob(svc, "nogrid-2", cropBody("nogrid", "sig=a", "equal", "photo.png"));
    expect(equal.status).toBe(200);
    expect(blobs.puts.filter((p) => p.path.startsWith("nogrid/"))).toHaveLength(6);
  });

  it("an undecodable sheet is a 422", async () => {
    blobs.set("broken.png", Buffer.concat([Buffer.from("\x89PNG\r\n\x1a\n", "latin1"), randomBytes(300)]));
    const res = await postJob(svc, "broken-1", cropBody("broken", "sig=a", "detect", "broken.png"));
    expect(res.status).toBe(422);
    expect(res.json.error).toMatch(/not a readable image/);
  });

  it("a malformed body is a 400 naming the field", async () => {
    const good = stitch("clip-ok.mp4", "bad");
    const cases: Array<[unknown, string]> = [
      ["{not json", "body"],
      [{ ...good, kind: "transcode" }, "kind"],
      [{ ...good, params: { ...good.params, fps: 500 } }, "params.fps"],
      [{ ...good, params: { ...good.params, clipSeconds: 0.1 } }, "params.clipSeconds"],
      [{ ...good, params: { ...good.params, easing: "easeInOutWobble" } }, "params.easing"],
      [{ ...good, params: { ...good.params, easing: { bezier: [1.5, 0, 0.2, 1] } } }, "params.easing.bezier[0]"],
      [{ ...good, params: { ...good.params, transition: "wipe" } }, "params.transition"],
      [{ ...good, inputs: [{ name: "clip-1", url: "ftp://x/y" }] }, "inputs[0].url"],
      [{ ...good, inputs: [{ name: "../etc/passwd", url: blobs.inUrl("x") }] }, "inputs[0].name"],
      [{ ...good, inputs: [{ name: "clip-2", url: blobs.inUrl("x") }] }, "inputs"],
      [{ ...good, outputs: {} }, "outputs.reel"],
      [{ ...cropBody("bad"), outputs: { ...frameOutputs("bad"), "frame-6": undefined } }, "outputs.frame-6"],
      [{ ...cropBody("bad"), params: { rows: 2, cols: 3, mode: "guess" } }, "params.mode"],
      [
        {
          kind: "reframe",
          inputs: [{ name: "frame-1", url: blobs.inUrl("frame.png") }],
          outputs: { "frame-1": blobs.outUrl("r") },
          params: { aspectRatio: "5:4" },
        },
        "params.aspectRatio",
      ],
    ];
    for (const [body, field] of cases) {
      const res = await postJob(svc, `bad-${field}`, body);
      expect(res.status, `${field}: ${JSON.stringify(res.json)}`).toBe(400);
      expect(res.json.field).toBe(field);
      expect(res.json.error.startsWith(`${field}:`), res.json.error).toBe(true);
    }
    expect(blobs.puts.filter((p) => p.path.startsWith("bad/"))).toHaveLength(0);
    // The service is still fine after all that.
    const health = await fetch(`${svc.url}/health`);
    expect(health.status).toBe(200);
  });
});

describe("media service: reframe, probe, health", () => {
  let svc: Awaited<ReturnType<typeof startService>>;
  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.close();
  });

  it("GET /health reports ffmpeg", async () => {
    const res = await fetch(`${svc.url}/health`);
    const json = (await res.json()) as { ok: boolean; ffmpeg: string };
    expect(json.ok).toBe(true);
    expect(json.ffmpeg).toMatch(/^ffmpeg version /);
  });

  it("reframes to 9:16 by attention (crop box recorded) and to 16:9 by padding", async () => {
    const body = (aspectRatio: string, method: string, tag: string) => ({
      kind: "reframe",
      inputs: [
        { name: "frame-1", url: blobs.inUrl("frame.png") },
        { name: "frame-2", url: blobs.inUrl("sheet.png") },
      ],
      outputs: { "frame-1": blobs.outUrl(`${tag}/frame-1.png`), "frame-2": blobs.outUrl(`${tag}/frame-2.png`) },
      params: { aspectRatio, method },
    });
    const crop = await postJob(svc, "reframe-1", body("9:16", "attention", "rf"));
    expect(crop.status, JSON.stringify(crop.json)).toBe(200);
    expect(crop.json.result.boxes[0]).toMatchObject({ y: 0, width: 338, height: 600 });
    expect(crop.json.result.boxes[1]).toMatchObject({ y: 0, width: 954, height: 1696 });
    const put = blobs.putsTo("rf/frame-1.png")[0]!;
    expect(put.contentType).toBe("image/png");
    expect(await sharp(put.body).metadata()).toMatchObject({ width: 338, height: 600 });

    const pad = await postJob(svc, "reframe-2", body("16:9", "pad", "rfpad"));
    expect(pad.status).toBe(200);
    // 800×600 padded to 16:9 keeps the height: 1067×600, the image centred.
    expect(pad.json.result.boxes[0]).toEqual({ x: -133, y: 0, width: 1067, height: 600 });
    const padded = blobs.putsTo("rfpad/frame-1.png")[0]!.body;
    const { data } = await sharp(padded).extract({ left: 0, top: 300, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
    expect([...data.subarray(0, 3)]).toEqual([0x7a, 0x8a, 0x9a]); // the edge colour, not black
  });

  it("probes videos and images", async () => {
    const video = await postJob(svc, "probe-1", { kind: "probe", inputs: [{ name: "file", url: blobs.inUrl("clip-ok.mp4") }] });
    expect(video.status, JSON.stringify(video.json)).toBe(200);
    expect(video.json.result).toMatchObject({ mime: "video/mp4", width: 96, height: 54, frames: 24, fps: 24, duration: 1, bytes: clipBytes.length });
    const image = await postJob(svc, "probe-2", { kind: "probe", inputs: [{ name: "file", url: blobs.inUrl("frame.png") }] });
    expect(image.json.result).toMatchObject({ mime: "image/png", width: 800, height: 600 });
    const bad = await postJob(svc, "probe-3", { kind: "probe", inputs: [{ name: "file", url: blobs.inUrl("clip-corrupt.mp4") }] });
    expect(bad.status).toBe(422);
  });
});
