/**
 * Channel packs (issue 20): ask for a pack of a completed shoot, read the latest pack (each channel's
 * files, sizes and upscale factors), and download one channel as a zip. The archive
 * (`./archive.ts`) carries the latest ready pack too, a folder per channel.
 */
import { $, createRoute, z } from "@hono/zod-openapi";
import type { AssetRow } from "../db/assets.ts";
import { db } from "../db/client.ts";
import { latestPack, packAssets, packFileName, packSource, type PackRow } from "../db/packs.ts";
import { getShoot } from "../db/shoots.ts";
import { ChannelChoicesSchema, ChannelNameSchema, ChannelSpecSchema, DEFAULT_CHANNELS, resolveChannels, UPSCALE_WARNING } from "../domain/channels.ts";
import { ASPECT_RATIOS, aspectValue } from "../domain/aspect.ts";
import { PACK_STATUSES } from "../domain/contract.ts";
import type { ShootParams } from "../domain/shoot.ts";
import { assetUrl } from "../storage/urls.ts";
import { PackConflict, startPack } from "../workflow/deliver.ts";
import { requireApiKey } from "./auth.ts";
import { router } from "./openapi.ts";
import { conflict, notFound, Problem } from "./problem.ts";
import * as S from "./schemas.ts";
import { zipResponse } from "./zip.ts";

const tags = ["packs"];

const PackFile = z
  .object({
    asset: z.string(),
    name: z.string().openapi({ description: "Its file name in the channel's folder", example: "frame-3.jpg" }),
    source: z.string().openapi({ description: "What it was made from: `reel`, `hero` or `frame-<n>`" }),
    url: z.url().openapi({ description: "Signed, expiring URL of the bytes" }),
    mime: z.string(),
    bytes: z.number().int(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    duration: z.number().nullable(),
    upscale: z.number().nullable().openapi({ description: "Output pixels per source pixel of its crop (above 1: upscaled)" }),
    filled: z.boolean().openapi({ description: "Part of the picture is fill: no crop of the channel's aspect could hold the subject" }),
  })
  .openapi("PackFile");

const PackChannel = ChannelSpecSchema.safeExtend({
  upscale: z.number().nullable().openapi({ description: "The largest upscale of the channel's files" }),
  warning: z
    .string()
    .nullable()
    .openapi({ description: `Set when a file is upscaled beyond ${UPSCALE_WARNING}×` }),
  download: z.string().openapi({ description: "Path of the channel's zip (bearer key)" }),
  files: z.array(PackFile),
}).openapi("PackChannel");

const Pack = z
  .object({
    id: z.string(),
    version: z.number().int().min(1),
    status: z.enum(PACK_STATUSES),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    channels: z.array(PackChannel).openapi({ description: "Every channel asked for; `files` is empty until the pack is ready" }),
  })
  .openapi("Pack");

const PackRequest = z
  .object({
    channels: ChannelChoicesSchema.min(1)
      .optional()
      .openapi({ description: "Default channels by name, or specs of your own; default: the shoot's channels, else every default channel" }),
  })
  .strict()
  .openapi("PackRequest");

const ChannelParams = S.ShootIdParam.extend({ channel: ChannelNameSchema.openapi({ description: "The channel's name", example: "reels" }) });

interface Provenance {
  upscale?: number;
  filled?: boolean;
}

async function packView(env: Env, origin: string, shootId: string, pack: PackRow, files: AssetRow[]): Promise<z.infer<typeof Pack>> {
  const channels = await Promise.all(
    pack.channels.map(async (spec) => {
      const own = files.filter((f) => f.channel === spec.name);
      const views = await Promise.all(
        own.map(async (f) => ({
          asset: f.id,
          name: packFileName(f),
          source: packSource(f),
          url: await assetUrl(env, origin, f.id),
          mime: f.mime,
          bytes: f.bytes,
          width: f.width,
          height: f.height,
          duration: f.duration,
          upscale: (f.provenance as Provenance | null)?.upscale ?? null,
          filled: (f.provenance as Provenance | null)?.filled ?? false,
        })),
      );
      const upscale = views.length ? Math.max(...views.map((v) => v.upscale ?? 0)) : null;
      // The shoot's aspect ratio nearest the channel's: what to shoot in next time.
      const ratio = spec.width / spec.height;
      const nearest = [...ASPECT_RATIOS].sort((a, b) => Math.abs(Math.log(aspectValue(a) / ratio)) - Math.abs(Math.log(aspectValue(b) / ratio)))[0];
      const warning =
        upscale && upscale > UPSCALE_WARNING ? `upscaled ${upscale.toFixed(1)}× from the shoot's pixels: shoot in ${nearest} for full quality` : null;
      return { ...spec, upscale, warning, download: `/api/shoots/${shootId}/pack/${spec.name}`, files: views };
    }),
  );
  const { id, version, status, error, createdAt, updatedAt } = pack;
  return { id, version, status, error, createdAt, updatedAt, channels };
}

const ChannelList = z.object({ channels: z.array(ChannelSpecSchema.openapi("ChannelSpec")) }).openapi("ChannelList");

/** `GET /api/channels`: the default channel set a shoot or recipe chooses from by name. */
export const channelsApi = $(router().use(requireApiKey)).openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listChannels",
    summary: "The default channels",
    description: "Each channel's exact pixel size, media, file format and codec, safe margin and fill; a shoot may also bring specs of its own.",
    tags,
    security: S.bearer,
    responses: { 200: S.json(ChannelList, "The default channel set"), ...S.problems(401) },
  }),
  (c) => c.json({ channels: [...DEFAULT_CHANNELS] }, 200),
);

export const packsApi = $(router().use(requireApiKey))
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/packs",
      operationId: "createPack",
      summary: "Make a channel pack of a completed shoot",
      description:
        "Reframes the approved reel into every chosen video channel and the approved hero and frames into every chosen still channel, around the subject (never cut: filled where no crop holds it). 202 with the pack, `running`; read it with `getPack`.",
      tags,
      security: S.bearer,
      request: { params: S.ShootIdParam, body: { required: false, content: { "application/json": { schema: PackRequest } } } },
      responses: { 202: S.json(Pack, "The pack is being made"), ...S.problems(400, 401, 404, 409, 503) },
    }),
    async (c) => {
      const d = db(c.env.DB);
      const { id } = c.req.valid("param");
      const body = c.req.valid("json") as z.infer<typeof PackRequest> | undefined;
      const shoot = await getShoot(d, c.get("accountId"), id);
      if (!shoot) throw notFound(`shoot ${id}`);
      if (shoot.status !== "completed") throw conflict(`only a completed shoot can be packed; this one is ${shoot.status}`);
      const own = (shoot.params as ShootParams).channels ?? [];
      const channels = body?.channels ? resolveChannels(body.channels) : own.length ? own : [...DEFAULT_CHANNELS];
      try {
        await startPack(c.env, { shootId: shoot.id, accountId: shoot.accountId }, channels);
      } catch (err) {
        if (err instanceof PackConflict) throw conflict(err.message);
        throw new Problem(503, "Unavailable", "the pack could not be started; try again");
      }
      const pack = (await latestPack(d, shoot.id))!;
      return c.json(await packView(c.env, new URL(c.req.url).origin, shoot.id, pack, []), 202);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/pack",
      operationId: "getPack",
      summary: "The shoot's latest channel pack",
      tags,
      security: S.bearer,
      request: { params: S.ShootIdParam },
      responses: { 200: S.json(Pack, "The pack, each channel with its files once ready"), ...S.problems(401, 404) },
    }),
    async (c) => {
      const d = db(c.env.DB);
      const { id } = c.req.valid("param");
      const shoot = await getShoot(d, c.get("accountId"), id);
      if (!shoot) throw notFound(`shoot ${id}`);
      const pack = await latestPack(d, shoot.id);
      if (!pack) throw notFound(`a pack of shoot ${id}`);
      const files = pack.status === "ready" ? await packAssets(d, shoot.id, pack.version) : [];
      return c.json(await packView(c.env, new URL(c.req.url).origin, shoot.id, pack, files), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/pack/{channel}",
      operationId: "getPackChannel",
      summary: "One channel of the latest ready pack, as a zip",
      description: "The channel's files in a folder named after it (`reels/reel.mp4`, `shopify/frame-3.jpg`); stored, not compressed.",
      tags,
      security: S.bearer,
      request: { params: ChannelParams },
      responses: {
        200: { description: "The zip", content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } } },
        ...S.problems(401, 404, 409, 503),
      },
    }),
    async (c) => {
      const d = db(c.env.DB);
      const { id, channel } = c.req.valid("param");
      const shoot = await getShoot(d, c.get("accountId"), id);
      if (!shoot) throw notFound(`shoot ${id}`);
      const pack = await latestPack(d, shoot.id);
      if (!pack) throw notFound(`a pack of shoot ${id}`);
      if (pack.status !== "ready") throw conflict(`pack ${pack.version} is ${pack.status}`);
      const files = (await packAssets(d, shoot.id, pack.version)).filter((f) => f.channel === channel);
      if (!files.length) throw notFound(`channel ${channel} in pack ${pack.version}`);
      return zipResponse(
        c.env.BUCKET,
        files.map((f) => ({ name: `${channel}/${packFileName(f)}`, asset: f })),
        `${shoot.id}-${channel}.zip`,
        `pack ${pack.id}`,
      );
    },
  );
