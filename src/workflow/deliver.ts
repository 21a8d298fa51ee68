/**
 * The deliver stage (issue 20): a channel pack of a shoot's approved reel, hero and frames, made by
 * one `pack` media job and kept as `pack` assets. Every pack runs in a DeliverWorkflow instance of its
 * own, whether the shoot's workflow started it when the reel was approved or the API did for a
 * completed shoot, so a pack is retried, re-dispatched and recorded the same way either way.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import type { ArtifactsOf } from "../domain/artifacts.ts";
import { CHANNEL_MIME, type ChannelSpec } from "../domain/channels.ts";
import type { ShootParams } from "../domain/shoot.ts";
import { assetsByIds } from "../db/assets.ts";
import { approvedArtifacts } from "../db/checkpoints.ts";
import { db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { createPack, finishPack, getPack, latestPack, packId } from "../db/packs.ts";
import { getShootById } from "../db/shoots.ts";
import { emit } from "../notify/emit.ts";
import { DB_STEP, type RunContext } from "./context.ts";
import { type MediaJobSpec, runMediaJob } from "./media-job.ts";
import { metered, meteredStep } from "../meter.ts";

export interface DeliverInput {
  shootId: string;
  accountId: string;
  version: number;
}

/** What a pack is made from: R2 keys of the approved reel, hero and frames, and where the reel cuts. */
interface PackSources {
  reel: string;
  hero: string;
  frames: string[];
  cuts: number[];
}

export class PackConflict extends Error {}

/**
 * Records pack `version` (default: the next) and starts its workflow. Throws PackConflict while
 * another pack of the shoot is being made. Safe to repeat for one version (a retried step).
 */
export async function startPack(
  env: Env,
  shoot: { shootId: string; accountId: string },
  channels: ChannelSpec[],
  version?: number,
): Promise<{ id: string; version: number }> {
  const d = db(env.DB);
  const latest = await latestPack(d, shoot.shootId);
  const v = version ?? (latest?.version ?? 0) + 1;
  if (version === undefined && latest?.status === "running") throw new PackConflict(`pack ${latest.version} of this shoot is still being made`);
  const id = packId(shoot.shootId, v);
  const created = await createPack(d, { ...shoot, version: v, channels });
  if (!created && version === undefined) throw new PackConflict(`pack ${v} of this shoot was just requested`);
  try {
    await env.DELIVER.create({ id, params: { ...shoot, version: v } satisfies DeliverInput });
  } catch (err) {
    // A repeated start finds its instance; any other failure leaves no pack "running" for ever.
    const exists = await env.DELIVER.get(id).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await finishPack(d, id, "failed", `the pack could not be started: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }
  if (created) await logEvent(d, { ...shoot, type: "pack.started", data: { pack: id, version: v, channels: channels.map((c) => c.name) } });
  return { id, version: v };
}

/** The approved outputs a pack needs, or why the shoot has none to pack. */
async function packSources(env: Env, shootId: string, accountId: string): Promise<PackSources | string> {
  const d = db(env.DB);
  const approved = await approvedArtifacts(d, shootId);
  const reel = approved.get("reel") as ArtifactsOf<"reel"> | undefined;
  const hero = approved.get("hero")?.assets[0];
  const frames = approved.get("frames")?.assets ?? [];
  if (!reel?.assets[0] || !hero || frames.length === 0) return "the shoot has no approved reel, hero and frames to pack";
  const ids = [reel.assets[0], hero, ...frames];
  const rows = await assetsByIds(d, accountId, ids);
  const key = (id: string) => rows.find((r) => r.id === id)?.r2Key;
  if (ids.some((id) => !key(id))) return "an approved output of the shoot is missing";
  // Hard cuts where the clips meet (a crossfade or fade has none: the service looks for cuts itself).
  const duration = rows.find((r) => r.id === reel.assets[0])?.duration ?? 0;
  const { clipSeconds, transition } = reel.stitch;
  const cuts = transition === "cut" ? Array.from({ length: Math.max(0, Math.round(duration / clipSeconds) - 1) }, (_, i) => (i + 1) * clipSeconds) : [];
  return { reel: key(reel.assets[0])!, hero: key(hero)!, frames: frames.map((id) => key(id)!), cuts };
}

/** The pack's media job: every video channel from the reel, every still channel from the hero and each frame. */
export function packJob(sources: PackSources, channels: ChannelSpec[], version: number): MediaJobSpec {
  const stills = [{ input: "hero", index: 0 }, ...sources.frames.map((_, i) => ({ input: `frame-${i + 1}`, index: i + 1 }))];
  const framing = (c: ChannelSpec) => ({ width: c.width, height: c.height, margin: c.margin, fill: c.fill });
  const videoChannels = channels.filter((c) => c.media === "video");
  const stillChannels = channels.filter((c) => c.media === "still");
  const output = (c: ChannelSpec, name: string, index: number, source: string) => ({
    name,
    kind: "pack" as const,
    index,
    version,
    mime: CHANNEL_MIME[c.format],
    channel: c.name,
    source,
  });
  return {
    name: `pack#${version}`,
    stage: "deliver",
    kind: "pack",
    attempt: version,
    inputs: [{ name: "reel", key: sources.reel }, { name: "hero", key: sources.hero }, ...sources.frames.map((key, i) => ({ name: `frame-${i + 1}`, key }))],
    outputs: [
      ...videoChannels.map((c) => output(c, c.name, 0, "reel")),
      ...stillChannels.flatMap((c) => stills.map((s) => output(c, `${c.name}-${s.input}`, s.index, s.input))),
    ],
    params: {
      videos: videoChannels.map((c) => ({ output: c.name, ...framing(c) })),
      stills: stillChannels.flatMap((c) =>
        stills.map((s) => ({ input: s.input, output: `${c.name}-${s.input}`, format: c.format as "jpeg" | "png" | "webp", ...framing(c) })),
      ),
      cuts: sources.cuts,
    },
  };
}

export class DeliverWorkflow extends WorkflowEntrypoint<Env, DeliverInput> {
  constructor(ctx: ExecutionContext, env: Env) {
    super(ctx, metered(env));
  }

  async run(event: WorkflowEvent<DeliverInput>, rawStep: WorkflowStep) {
    const step = meteredStep(this.env, event.instanceId, rawStep);
    const { shootId, accountId, version } = event.payload;
    const id = packId(shootId, version);
    const loaded = await step.do("load", DB_STEP, async () => {
      const d = db(this.env.DB);
      const [shoot, pack] = await Promise.all([getShootById(d, shootId), getPack(d, id)]);
      if (!shoot || !pack) return { error: `pack ${id} or its shoot is gone` };
      const sources = await packSources(this.env, shootId, accountId);
      return typeof sources === "string" ? { error: sources } : { params: shoot.params as ShootParams, channels: pack.channels, sources };
    });
    const finish = (status: "ready" | "failed", error?: string, files = 0) =>
      step.do(`finish ${status}`, DB_STEP, async () => {
        const d = db(this.env.DB);
        await finishPack(d, id, status, error);
        // Announced once: the delivery id derives from the pack's id (a retried step writes it again as the same row).
        await emit(this.env, d, accountId, `pack.${status}`, id, {
          shootId,
          pack: id,
          version,
          ...(status === "ready" ? { files, url: `/api/shoots/${shootId}/pack` } : { error }),
        });
        await logEvent(d, {
          shootId,
          accountId,
          ...(status === "ready"
            ? { type: "pack.ready" as const, data: { pack: id, version, files } }
            : { type: "pack.failed" as const, data: { pack: id, version, error: error ?? "unknown" } }),
        });
      });
    if ("error" in loaded) {
      await finish("failed", loaded.error);
      return { status: "failed" };
    }
    const ctx: RunContext = { env: this.env, step, shootId, accountId, params: loaded.params };
    const spec = packJob(loaded.sources, loaded.channels, version);
    const out = await runMediaJob(ctx, spec);
    if (!out.ok) {
      await finish("failed", out.error);
      return { status: "failed" };
    }
    await finish("ready", undefined, spec.outputs.length);
    return { status: "ready" };
  }
}
