/**
 * ShootWorkflow: one durable instance per shoot. The pipeline reads like SPEC section 2:
 *
 *   plan -> hero -> contact sheet -> frames -> clips -> reel -> (deliver: channel packs)
 *
 * Each stage makes its output, opens a checkpoint and loops on `revise` until it is approved;
 * only what a revision targets is redone, and every attempt is a new asset version. Side effects
 * live in steps (see provider-job.ts, media-job.ts, checkpoint.ts); step names carry the attempt.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import type { ArtifactsOf, FailedItem } from "../domain/artifacts.ts";
import { CLIP_COUNT, FRAME_COUNT, isFinalStatus, LOOP_CLIP, SHEET_GRID, type Stage } from "../domain/contract.ts";
import { db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { getShootById, updateShoot } from "../db/shoots.ts";
import { assetsByIds } from "../db/assets.ts";
import type { AspectRatio } from "../domain/aspect.ts";
import type { Plan } from "../domain/plan.ts";
import { clipPrompt, contactSheetPrompt, feedbackWithMarks, frameEditPrompt, heroPrompt } from "../domain/prompts.ts";
import type { Mark, Quality } from "../domain/findings.ts";
import type { ShootParams } from "../domain/shoot.ts";
import type { StitchSettings } from "../domain/stitch.ts";
import { NEGATIVE_PROMPT } from "../domain/shots.ts";
import type { ProviderRequest } from "../providers/jobs.ts";
import { awaitDecision, type Outcome } from "./checkpoint.ts";
import { DB_STEP, type RunContext } from "./context.ts";
import { runMediaJob } from "./media-job.ts";
import { makePlan } from "./plan.ts";
import { ensureBudget } from "./budget.ts";
import { checkOutputs, gate } from "./quality.ts";
import { startPack } from "./deliver.ts";
import { runProviderJob, type ProviderOutcome, type StoredRef } from "./provider-job.ts";
import { endShoot } from "../lifecycle.ts";
import { metered, meteredStep } from "../meter.ts";

export interface ShootInput {
  shootId: string;
  accountId: string;
}

/** Ends the run early without an error: the reviewer cancelled, or a checkpoint expired. */
class Stop {
  constructor(
    readonly status: "cancelled" | "expired",
    readonly stage: Stage,
  ) {}
}

export class ShootWorkflow extends WorkflowEntrypoint<Env, ShootInput> {
  constructor(ctx: ExecutionContext, env: Env) {
    super(ctx, metered(env));
  }

  async run(event: WorkflowEvent<ShootInput>, rawStep: WorkflowStep) {
    const step = meteredStep(this.env, event.instanceId, rawStep);
    const { shootId, accountId } = event.payload;
    const shoot = await step.do("load", DB_STEP, async () => {
      const d = db(this.env.DB);
      const row = await getShootById(d, shootId);
      if (!row) throw new NonRetryableError(`shoot ${shootId} not found`);
      const params = row.params as ShootParams;
      const refs = await assetsByIds(d, accountId, params.references);
      const references = params.references.map((id) => refs.find((r) => r.id === id)!.r2Key);
      // Ended before its instance ran (a batch row cancelled while it waited to be placed): nothing to make.
      return { brief: row.brief, params, references, endedAs: isFinalStatus(row.status) ? row.status : null };
    });
    if (shoot.endedAs) return { status: shoot.endedAs };
    const ctx: RunContext = { env: this.env, step, shootId, accountId, params: shoot.params, referenceKeys: shoot.references };

    try {
      const plan = await planStage(ctx, shoot.brief, shoot.references);
      const hero = await heroStage(ctx, shoot.brief, plan, shoot.references);
      const sheet = await contactSheetStage(ctx, plan, hero, shoot.references);
      const frames = await framesStage(ctx, plan, sheet);
      const clips = await clipsStage(ctx, plan, frames);
      await reelStage(ctx, plan, frames, clips);
      // Deliver: the chosen channel packs are made by a workflow of their own (./deliver.ts).
      const channels = shoot.params.channels ?? [];
      if (channels.length) await step.do("deliver", DB_STEP, async () => void (await startPack(this.env, { shootId, accountId }, channels, 1)));
      await step.do("complete", DB_STEP, () => endShoot(this.env, { shootId, accountId }, "completed", { replay: true }));
      return { status: "completed" };
    } catch (err) {
      if (err instanceof Stop) {
        await step.do(`finish ${err.status}`, DB_STEP, () => endShoot(this.env, { shootId, accountId }, err.status, { stage: err.stage, replay: true }));
        return { status: err.status };
      }
      const message = err instanceof Error ? err.message : String(err);
      await step.do("fail", DB_STEP, () => endShoot(this.env, { shootId, accountId }, "failed", { error: message, replay: true }));
      throw err;
    }
  }
}

/** Moves the shoot's visible stage forward (and logs it). */
function enter(ctx: RunContext, stage: Stage): Promise<void> {
  return ctx.step.do(`enter ${stage}`, DB_STEP, async () => {
    const d = db(ctx.env.DB);
    await updateShoot(d, ctx.shootId, { stage, status: "running" });
    await logEvent(d, { shootId: ctx.shootId, accountId: ctx.accountId, type: "stage.started", data: { stage } });
  });
}

/** Approve goes on; cancel and expire end the run; revise hands the decision back to the stage. */
function revisionOrDone(outcome: Outcome, stage: Stage) {
  if (outcome.action === "cancel") throw new Stop("cancelled", stage);
  if (outcome.action === "expire") throw new Stop("expired", stage);
  return outcome.action === "revise" ? outcome : null;
}

// ---- 0. plan ------------------------------------------------------------------------------------

async function planStage(ctx: RunContext, brief: string, references: string[]): Promise<Plan> {
  await enter(ctx, "plan");
  let presets = ctx.params.presets;
  let feedback: string | null = null;
  for (let attempt = 1; ; attempt++) {
    const { plan, assetId } = await ctx.step.do(`plan#${attempt}`, { retries: { limit: 2, delay: "2 seconds" }, timeout: "3 minutes" }, () =>
      makePlan(ctx, { brief, references, presets, feedback, attempt }),
    );
    const revise = revisionOrDone(await awaitDecision(ctx, "plan", attempt, { assets: [assetId] }), "plan");
    if (!revise) return plan;
    presets = { ...presets, ...revise.presets };
    feedback = revise.feedback ?? null;
  }
}

// ---- 1. hero ------------------------------------------------------------------------------------

async function heroStage(ctx: RunContext, brief: string, plan: Plan, references: string[]): Promise<StoredRef> {
  await enter(ctx, "hero");
  let feedback: string | null = null;
  let marks: Mark[] = [];
  let aspect: string = ctx.params.aspectRatio ?? "2:3";
  let current = plan;
  let version = 0;
  const make = async (notes: Mark[]) => {
    version++;
    const prompt = heroPrompt(current, brief, feedbackWithMarks(feedback, notes));
    const request = imageRequest(ctx.env, prompt, references.map(r2), aspect);
    revisionOrDone((await ensureBudget(ctx, `hero#${version}`, [request.model])) ?? { action: "approve" }, "hero");
    return runProviderJob(ctx, {
      name: `hero#${version}`,
      stage: "hero",
      asset: { kind: "hero", index: 0, version, mime: "image/png" },
      request,
      provenance: { prompt, aspectRatio: aspect, presets: pick(current), feedback, ...(notes.length ? { marks: notes } : {}) },
    });
  };
  for (let attempt = 1; ; attempt++) {
    let hero = await make(marks);
    const quality = await gate(
      ctx,
      "hero",
      [{ name: "hero", assetId: () => (hero.ok ? hero.ref.assetId : undefined) }],
      ctx.env.IMAGE_MODEL,
      async () => (hero.ok ? checkOutputs(ctx, { stage: "hero", stills: [{ name: "hero", ref: hero.ref }] }) : undefined),
      async ([fix]) => {
        const fixed = await make(fix.marks);
        if (fixed.ok) hero = fixed;
      },
    );
    // A failed hero shows its error; the API accepts only revise (a new try) or cancel for it.
    const revise = revisionOrDone(await awaitDecision(ctx, "hero", attempt, { ...singleArtifacts("hero", hero), ...withQuality(quality) }), "hero");
    if (!revise && hero.ok) return hero.ref;
    feedback = revise?.feedback ?? feedback;
    marks = revise?.marks ?? [];
    current = { ...current, ...revise?.presets };
    aspect = revise?.aspectRatio ?? aspect;
  }
}

// ---- 2. contact sheet ---------------------------------------------------------------------------

async function contactSheetStage(ctx: RunContext, plan: Plan, hero: StoredRef, references: string[]): Promise<StoredRef> {
  await enter(ctx, "contact-sheet");
  let feedback: string | null = null;
  let marks: Mark[] = [];
  let version = 0;
  const make = async (notes: Mark[]) => {
    version++;
    const prompt = contactSheetPrompt(plan, feedbackWithMarks(feedback, notes));
    const request = imageRequest(ctx.env, prompt, [r2(hero.key), ...references.map(r2)], "3:2");
    revisionOrDone((await ensureBudget(ctx, `contact-sheet#${version}`, [request.model])) ?? { action: "approve" }, "contact-sheet");
    return runProviderJob(ctx, {
      name: `contact-sheet#${version}`,
      stage: "contact-sheet",
      asset: { kind: "contact-sheet", index: 0, version, mime: "image/png" },
      request,
      provenance: { prompt, hero: hero.assetId, feedback, ...(notes.length ? { marks: notes } : {}) },
    });
  };
  for (let attempt = 1; ; attempt++) {
    let sheet = await make(marks);
    const quality = await gate(
      ctx,
      "contact-sheet",
      [{ name: "contact-sheet", assetId: () => (sheet.ok ? sheet.ref.assetId : undefined) }],
      ctx.env.IMAGE_MODEL,
      async () => (sheet.ok ? checkOutputs(ctx, { stage: "contact-sheet", judgeOnly: [{ name: "sheet", ref: sheet.ref }] }) : undefined),
      async ([fix]) => {
        const fixed = await make(fix.marks);
        if (fixed.ok) sheet = fixed;
      },
    );
    const artifacts = { ...singleArtifacts("contact-sheet", sheet), ...withQuality(quality) };
    const revise = revisionOrDone(await awaitDecision(ctx, "contact-sheet", attempt, artifacts), "contact-sheet");
    if (!revise && sheet.ok) return sheet.ref;
    feedback = revise?.feedback ?? feedback;
    marks = revise?.marks ?? [];
  }
}

const withQuality = (quality: Quality | undefined) => (quality ? { quality } : {});

// ---- 3. frames ----------------------------------------------------------------------------------

async function framesStage(ctx: RunContext, plan: Plan, sheet: StoredRef): Promise<StoredRef[]> {
  await enter(ctx, "frames");
  const versions = Array<number>(FRAME_COUNT).fill(0);
  let frames: StoredRef[] = [];
  let crop: Pick<ArtifactsOf<"frames">, "boxes" | "confidence" | "problem"> = {};
  let aspect = ctx.params.aspectRatio;
  let cropAttempts = 0;
  let reframes = 0;
  // The crop or reframe that failed (the media service's reason), shown until a revise redoes it.
  let cropFailed = null as FailedItem | null;
  let reframeFailed = null as FailedItem | null;

  const indices = [...Array(FRAME_COUNT).keys()].map((i) => i + 1);
  const frameOutputs = () => indices.map((i) => ({ name: `frame-${i}`, kind: "frame" as const, index: i, version: versions[i - 1] + 1, mime: "image/png" }));
  const adopt = (assets: Record<string, StoredRef>) => {
    frames = indices.map((i) => assets[`frame-${i}`]);
    for (let i = 0; i < versions.length; i++) versions[i]++;
  };
  const cut = async (mode: "detect" | "equal") => {
    cropAttempts++;
    const out = await runMediaJob(ctx, {
      name: `crop#${cropAttempts}`,
      stage: "frames",
      kind: "crop",
      attempt: cropAttempts,
      inputs: [{ name: "sheet", key: sheet.key }],
      outputs: frameOutputs(),
      params: { ...SHEET_GRID, mode },
    });
    cropFailed = out.ok ? null : { item: "crop", error: out.error, job: out.jobId };
    if (!out.ok) return;
    crop = { boxes: out.details.boxes, confidence: out.details.confidence, problem: out.details.problem };
    adopt(out.assets);
    if (aspect) await reframe(aspect);
  };
  // A reframe that fails keeps the cropped frames; the checkpoint shows why and a revise tries it again.
  const reframe = async (ratio: AspectRatio) => {
    reframes++;
    const out = await runMediaJob(ctx, {
      name: `reframe#${reframes}`,
      stage: "frames",
      kind: "reframe",
      attempt: reframes,
      inputs: indices.map((i) => ({ name: `frame-${i}`, key: frames[i - 1].key })),
      outputs: frameOutputs(),
      params: { aspectRatio: ratio, method: "attention" },
    });
    reframeFailed = out.ok ? null : { item: "reframe", error: `reframe to ${ratio} failed: ${out.error}`, job: out.jobId };
    if (out.ok) adopt(out.assets);
  };
  // A regeneration the provider refuses keeps the frame as it was and is marked at the checkpoint.
  let failed: FailedItem[] = [];
  const regenerate = (n: number, feedback: string, marks: Mark[] = []) => {
    const version = versions[n - 1] + 1;
    const prompt = frameEditPrompt(plan, feedbackWithMarks(feedback, marks)!);
    return runProviderJob(ctx, {
      name: `frame-${n}#${version}`,
      stage: "frames",
      asset: { kind: "frame", index: n, version, mime: "image/png" },
      request: imageRequest(ctx.env, prompt, [r2(frames[n - 1].key)], aspect ?? "1:1"),
      provenance: { prompt, from: frames[n - 1].assetId, feedback, ...(marks.length ? { marks } : {}) },
    }).then((out) => {
      // The version is used either way, so a later try has its own job id and step names.
      versions[n - 1] = version;
      if (out.ok) frames[n - 1] = out.ref;
      else failed.push({ index: n, error: out.error, job: out.jobId });
    });
  };

  // The frames' checks (the judge's: see GateSpec.judgeOnly), and autoFix's one redo of flagged frames.
  const check = () =>
    gate(
      ctx,
      "frames",
      indices.map((n) => ({ name: `frame-${n}`, assetId: () => frames[n - 1].assetId })),
      ctx.env.IMAGE_MODEL,
      () => checkOutputs(ctx, { stage: "frames", judgeOnly: frames.map((ref, i) => ({ name: `frame-${i + 1}`, ref })) }),
      (flagged) => Promise.all(flagged.map((f) => regenerate(Number(f.name.slice("frame-".length)), "correct what is noted.", f.marks))).then(() => undefined),
    );

  await cut("detect");
  for (let attempt = 1; ; attempt++) {
    const marked = reframeFailed ? [...failed, reframeFailed] : failed;
    const quality = cropFailed ? undefined : await check();
    const artifacts: ArtifactsOf<"frames"> = cropFailed
      ? { assets: [sheet.assetId], error: cropFailed.error, failed: [cropFailed] }
      : {
          assets: frames.map((f) => f.assetId),
          ...crop,
          ...(reframeFailed ? { error: reframeFailed.error } : {}),
          ...(marked.length ? { failed: marked } : {}),
          ...withQuality(quality),
        };
    failed = [];
    const revise = revisionOrDone(await awaitDecision(ctx, "frames", attempt, artifacts), "frames");
    if (!revise) return frames;
    if (revise.split || cropFailed) {
      await cut(revise.split ?? "detect");
      continue;
    }
    if (revise.aspectRatio) aspect = revise.aspectRatio;
    if (aspect && (revise.aspectRatio || reframeFailed)) {
      await reframe(aspect);
      if (!revise.frames) continue;
    }
    // A marked frame is redone with its marks; feedback alone redoes every frame.
    const marksOn = (n: number) => (revise.marks ?? []).filter((m) => m.asset === frames[n - 1].assetId);
    const withMarks = indices.filter((n) => marksOn(n).length);
    const targets = revise.frames ?? (withMarks.length ? withMarks : revise.feedback ? indices : []);
    if (!targets.length) continue;
    const budget = await ensureBudget(
      ctx,
      `frames#${attempt}`,
      targets.map(() => ctx.env.IMAGE_MODEL),
    );
    if (budget) revisionOrDone(budget, "frames");
    await Promise.all(targets.map((n) => regenerate(n, revise.feedback || "refine the image", marksOn(n))));
  }
}

// ---- 4. clips -----------------------------------------------------------------------------------

interface ClipSet {
  clips: (StoredRef | undefined)[];
  versions: number[];
  /** Clips whose latest try the provider failed, with its message; the clip keeps any earlier version. */
  failed: Map<number, { error: string; job: string }>;
  stitch: StitchSettings;
}

async function clipsStage(ctx: RunContext, plan: Plan, frames: StoredRef[]): Promise<ClipSet> {
  await enter(ctx, "clips");
  const set: ClipSet = { clips: [], versions: Array<number>(LOOP_CLIP).fill(0), failed: new Map(), stitch: { ...ctx.params.stitch } };
  await makeClips(
    ctx,
    plan,
    frames,
    set,
    wantedClips(set).map((n) => ({ n, feedback: null })),
    "clips#1",
  );
  for (let attempt = 1; ; attempt++) {
    const quality = await gateClips(ctx, plan, frames, set);
    const outcome = await awaitDecision(ctx, "clips", attempt, { ...clipArtifacts(set), ...withQuality(quality) });
    const revise = revisionOrDone(outcome, "clips");
    const decision = revise ?? (outcome as { stitch?: Partial<StitchSettings> });
    set.stitch = { ...set.stitch, ...decision.stitch };
    // A revise redoes the clips it names or marks, and any clip that has no output yet (a failed one).
    const marks = (n: number) => (revise?.marks ?? []).filter((m) => m.asset === set.clips[n - 1]?.assetId);
    const jobs = wantedClips(set)
      .filter((n) => !set.clips[n - 1] || revise?.clips?.includes(n) || marks(n).length)
      .map((n) => ({ n, feedback: revise?.feedback ?? null, marks: marks(n) }));
    // An approval that turned the loop on still needs the loop clip shown before the reel.
    if (!revise && jobs.length === 0) return set;
    await makeClips(ctx, plan, frames, set, jobs, `clips#${attempt + 1}`);
  }
}

/** The clips' checks (each against the frames it starts and ends on), and autoFix's one redo of flagged clips. */
function gateClips(ctx: RunContext, plan: Plan, frames: StoredRef[], set: ClipSet): Promise<Quality | undefined> {
  const frame = (i: number) => ({ name: `frame-${i + 1}`, ref: frames[i] });
  const made = () => wantedClips(set).filter((n) => set.clips[n - 1]);
  return gate(
    ctx,
    "clips",
    wantedClips(set).map((n) => ({ name: `clip-${n}`, assetId: () => set.clips[n - 1]?.assetId })),
    clipModel(ctx.env),
    () =>
      checkOutputs(ctx, {
        stage: "clips",
        clips: made().map((n) => ({ name: `clip-${n}`, ref: set.clips[n - 1]!, start: frame(n - 1), end: frame(n % FRAME_COUNT) })),
      }),
    (flagged) => {
      const round = ctx.checkRounds?.clips ?? 0;
      const jobs = flagged.map((f) => ({ n: Number(f.name.slice("clip-".length)), feedback: null, marks: f.marks }));
      return makeClips(ctx, plan, frames, set, jobs, `clips auto-fix#${round}`);
    },
  );
}

const wantedClips = (set: ClipSet) => [...Array(CLIP_COUNT).keys()].map((i) => i + 1).concat(set.stitch.loop ? [LOOP_CLIP] : []);

/** What the clips checkpoint shows: every wanted clip with its asset or the provider's reason. */
function clipArtifacts(set: ClipSet): ArtifactsOf<"clips"> {
  const wanted = wantedClips(set);
  const items = wanted.map((n) => ({ clip: n, assetId: set.clips[n - 1]?.assetId ?? null, error: set.failed.get(n)?.error ?? null }));
  const failed = [...set.failed.entries()].filter(([n]) => wanted.includes(n)).map(([n, f]) => ({ index: n, error: f.error, job: f.job }));
  const missing = items.filter((i) => !i.assetId);
  return {
    assets: items.flatMap((i) => (i.assetId ? [i.assetId] : [])),
    clips: items,
    stitch: set.stitch,
    ...(failed.length ? { failed } : {}),
    // With a clip missing there is nothing to approve yet: revise it (or cancel).
    ...(missing.length ? { error: missing.map((i) => `clip ${i.clip}: ${i.error ?? "not made"}`).join("; ") } : {}),
  };
}

/** Generates clips i -> i+1 (6 -> 1 for the loop) in parallel, at most CLIP_CONCURRENCY at once. */
async function makeClips(
  ctx: RunContext,
  plan: Plan,
  frames: StoredRef[],
  set: ClipSet,
  jobs: { n: number; feedback: string | null; marks?: Mark[] }[],
  label: string,
) {
  const cap = Math.max(1, Number(ctx.env.CLIP_CONCURRENCY) || 3);
  for (let i = 0; i < jobs.length; i += cap) {
    const batch = jobs.slice(i, i + cap);
    const requests = batch.map(({ n, feedback, marks = [] }) => {
      const prompt = clipPrompt(plan, n, feedbackWithMarks(feedback, marks));
      return { n, feedback, marks, prompt, request: clipRequest(ctx.env, prompt, frames[n - 1].key, frames[n % FRAME_COUNT].key) };
    });
    const stage = label.startsWith("reel") ? "reel" : "clips";
    const budget = await ensureBudget(
      ctx,
      `${label} batch ${i / cap + 1}`,
      requests.map((r) => r.request.model),
    );
    if (budget) revisionOrDone(budget, stage);
    await Promise.all(
      requests.map(async ({ n, feedback, marks, prompt, request }) => {
        const version = set.versions[n - 1] + 1;
        const from = frames[n - 1];
        const to = frames[n % FRAME_COUNT];
        const out = await runProviderJob(ctx, {
          name: `clip-${n}#${version}`,
          stage: "clips",
          asset: { kind: "clip", index: n, version, mime: "video/mp4" },
          request,
          provenance: { prompt, from: from.assetId, to: to.assetId, feedback, ...(marks.length ? { marks } : {}) },
        });
        // The version is used either way, so a later try has its own job id and step names.
        set.versions[n - 1] = version;
        if (out.ok) {
          set.clips[n - 1] = out.ref;
          set.failed.delete(n);
        } else {
          set.failed.set(n, { error: out.error, job: out.jobId });
        }
      }),
    );
  }
}

// ---- 5. reel ------------------------------------------------------------------------------------

async function reelStage(ctx: RunContext, plan: Plan, frames: StoredRef[], set: ClipSet): Promise<void> {
  await enter(ctx, "reel");
  for (let attempt = 1; ; attempt++) {
    const wanted = wantedClips(set);
    const clips = set.clips.slice(0, wanted.length);
    let artifacts: ArtifactsOf<"reel">;
    if (clips.some((c) => !c) || clips.length < wanted.length) {
      // A clip a reel revision asked for failed at the provider: show why instead of stitching.
      artifacts = { ...clipArtifacts(set), error: clipArtifacts(set).error ?? "a clip is missing" };
    } else {
      const { loop: _loop, ...stitch } = set.stitch;
      const out = await runMediaJob(ctx, {
        name: `stitch#${attempt}`,
        stage: "reel",
        kind: "stitch",
        attempt,
        inputs: (clips as StoredRef[]).map((c, i) => ({ name: `clip-${i + 1}`, key: c.key })),
        outputs: [
          { name: "reel", kind: "reel", index: 0, version: attempt, mime: "video/mp4" },
          { name: "poster", kind: "poster", index: 0, version: attempt, mime: "image/jpeg" },
        ],
        params: stitch,
      });
      const failed = clipArtifacts(set).failed;
      const quality = out.ok ? await checkOutputs(ctx, { stage: "reel", reel: { ref: out.assets.reel, stitch: set.stitch, clips: wanted.length } }) : undefined;
      artifacts = out.ok
        ? { assets: [out.assets.reel.assetId, out.assets.poster.assetId], stitch: set.stitch, ...(failed ? { failed } : {}), ...withQuality(quality) }
        : {
            assets: (clips as StoredRef[]).map((c) => c.assetId),
            stitch: set.stitch,
            error: out.error,
            failed: [...(failed ?? []), { item: "stitch", error: out.error, job: out.jobId }],
          };
    }
    const revise = revisionOrDone(await awaitDecision(ctx, "reel", attempt, artifacts), "reel");
    if (!revise) return;
    set.stitch = { ...set.stitch, ...revise.stitch };
    // A mark on the reel at a moment redoes the clip playing then, with the note.
    const onClip = (m: Mark) => set.clips.some((c) => c?.assetId === m.asset);
    const marks = (n: number) => (revise.marks ?? []).filter((m) => (onClip(m) ? m.asset === set.clips[n - 1]?.assetId : clipAt(set, m) === n));
    const missing = wantedClips(set).filter((n) => !set.clips[n - 1] || revise.clips?.includes(n) || marks(n).length);
    if (missing.length)
      await makeClips(
        ctx,
        plan,
        frames,
        set,
        missing.map((n) => ({ n, feedback: revise.feedback ?? null, marks: marks(n) })),
        `reel#${attempt + 1}`,
      );
  }
}

/** The clip playing at a reel mark's moment (each clip holds `clipSeconds` of the reel). */
function clipAt(set: ClipSet, mark: Mark): number | null {
  if (!mark.timeRange || !set.stitch.clipSeconds) return null;
  const mid = (mark.timeRange.from + mark.timeRange.to) / 2;
  return Math.min(wantedClips(set).length, Math.floor(mid / set.stitch.clipSeconds) + 1);
}

// ---- requests -----------------------------------------------------------------------------------

/** A one-output stage's checkpoint: the asset, or the provider's reason with the failed item marked. */
function singleArtifacts(item: string, out: ProviderOutcome): ArtifactsOf<"hero"> {
  return out.ok ? { assets: [out.ref.assetId] } : { assets: [], error: out.error, failed: [{ item, error: out.error, job: out.jobId }] };
}

const r2 = (key: string) => `r2:${key}`;
const pick = (p: Plan) => ({ pose: p.pose, background: p.background, style: p.style });

function imageRequest(env: Env, prompt: string, imageUrls: string[], aspectRatio: string): ProviderRequest {
  return {
    provider: "fal",
    model: env.IMAGE_MODEL,
    input: { prompt, image_urls: imageUrls, aspect_ratio: aspectRatio, resolution: env.IMAGE_RESOLUTION, output_format: "png", num_images: 1 },
  };
}

const clipModel = (env: Env) => (env.CLIP_PROVIDER === "fal" ? env.CLIP_FAL_MODEL : env.CLIP_MODEL);

function clipRequest(env: Env, prompt: string, fromKey: string, toKey: string): ProviderRequest {
  const duration = env.CLIP_SECONDS === "10" ? "10" : "5";
  if (env.CLIP_PROVIDER === "fal") {
    return {
      provider: "fal",
      model: env.CLIP_FAL_MODEL,
      input: { prompt, start_image_url: r2(fromKey), end_image_url: r2(toKey), duration, negative_prompt: NEGATIVE_PROMPT, generate_audio: false },
    };
  }
  return { provider: "kling", model: env.CLIP_MODEL, image: r2(fromKey), imageTail: r2(toKey), prompt, negativePrompt: NEGATIVE_PROMPT, duration };
}
