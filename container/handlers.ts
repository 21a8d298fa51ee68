/**
 * Runs one validated job end to end: download inputs into a temp dir, do the work, describe the
 * outputs (size, sha256, dimensions), and only then PUT them. The returned value is the job's
 * `result`, which the registry stores for idempotent replies.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { runChecks } from "./check/index.ts";
import { cropSheet } from "./crop.ts";
import { describeOutputs, downloadInputs, sha256File, uploadOutputs, withTempDir, type OutputFile } from "./io.ts";
import { probeFile } from "./probe.ts";
import { reframeImage } from "./reframe.ts";
import { runPack } from "./pack/index.ts";
import { clipNumber, type CropJob, type Job, type ProbeJob, type ReframeJob, type StitchJob } from "./schema.ts";
import { stitchClips } from "./stitch.ts";

interface Produced {
  files: OutputFile[];
  extra: Record<string, unknown>;
}

async function crop(job: CropJob, inputs: Map<string, string>, dir: string): Promise<Produced> {
  const r = await cropSheet(inputs.get("sheet")!, dir, job.params);
  return {
    files: r.frames.map((f) => ({ name: f.name, path: f.path, mime: "image/png", width: f.width, height: f.height })),
    extra: {
      boxes: r.boxes,
      confidence: r.confidence,
      ...(r.problem ? { problem: r.problem } : {}),
      sheet: r.sheet,
      frameSize: r.frameSize,
      mode: job.params.mode,
    },
  };
}

async function reframe(job: ReframeJob, inputs: Map<string, string>, dir: string): Promise<Produced> {
  const files: OutputFile[] = [];
  const boxes = [];
  for (const { name } of job.inputs) {
    const out = path.join(dir, `out-${name}.png`);
    const r = await reframeImage(inputs.get(name)!, out, job.params, name);
    files.push({ name, path: out, mime: "image/png", width: r.width, height: r.height });
    boxes.push(r.box);
  }
  return { files, extra: { boxes, aspectRatio: job.params.aspectRatio, method: job.params.method } };
}

async function stitch(job: StitchJob, inputs: Map<string, string>, dir: string): Promise<Produced> {
  const clips = job.inputs.map((i) => ({ name: i.name, path: inputs.get(i.name)! })).sort((a, b) => clipNumber(a.name)! - clipNumber(b.name)!);
  const r = await stitchClips(clips, dir, job.params);
  const files: OutputFile[] = [
    {
      name: "reel",
      path: r.reel.path,
      mime: "video/mp4",
      width: r.reel.width,
      height: r.reel.height,
      duration: r.reel.duration,
      frames: r.reel.frames,
      fps: r.reel.fps,
    },
  ];
  if (job.outputs.poster) files.push({ name: "poster", path: r.poster.path, mime: "image/jpeg", width: r.poster.width, height: r.poster.height });
  return {
    files,
    extra: {
      clips: r.clips,
      framesPerClip: r.framesPerClip,
      transitionFrames: r.transitionFrames,
      easing: job.params.easing,
      transition: job.params.transition,
    },
  };
}

async function probe(job: ProbeJob, inputs: Map<string, string>): Promise<Record<string, unknown>> {
  const { name } = job.inputs[0]!;
  const file = inputs.get(name)!;
  const info = await probeFile(file, name);
  return { ...info, bytes: (await stat(file)).size, sha256: await sha256File(file) };
}

export async function executeJob(id: string, job: Job): Promise<Record<string, unknown>> {
  return withTempDir(id, async (dir) => {
    const inputs = await downloadInputs(job.inputs, dir);
    if (job.kind === "probe") return probe(job, inputs);
    // A check makes no files: its result is the findings (src/domain/findings.ts).
    if (job.kind === "check") return { ...(await runChecks(job.params, inputs)) };
    const produced: Produced =
      job.kind === "crop"
        ? await crop(job, inputs, dir)
        : job.kind === "reframe"
          ? await reframe(job, inputs, dir)
          : job.kind === "pack"
            ? await runPack(job, inputs, dir)
            : await stitch(job, inputs, dir);
    const outputs = await describeOutputs(produced.files);
    // Everything succeeded: only now does anything leave the container.
    await uploadOutputs(produced.files, job.outputs);
    return { ...produced.extra, outputs };
  });
}
