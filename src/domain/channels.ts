/**
 * Channel packs (issue 20): the formats one approved shoot is delivered in. A channel spec is
 * configuration: the default set below covers the common social formats and marketplaces; a recipe or
 * a shoot chooses channels by name or brings its own spec. The Worker (which validates and plans the
 * pack) and the media service (which makes it) both read these schemas.
 */
import { z } from "zod";

export const CHANNEL_MEDIA = ["video", "still"] as const;
export type ChannelMedia = (typeof CHANNEL_MEDIA)[number];

/**
 * When no crop of the channel's aspect can hold the subject with its margin, the frame is filled, never
 * cut: `blur` (the frame itself, scaled to cover and blurred, behind it) or `extend` (the edges' colour
 * continued outward: a studio backdrop goes on seamlessly).
 */
export const FILL_MODES = ["blur", "extend"] as const;
export type FillMode = (typeof FILL_MODES)[number];

export const VIDEO_FORMATS = ["mp4"] as const;
export const STILL_FORMATS = ["jpeg", "png", "webp"] as const;
export const CHANNEL_FORMATS = [...VIDEO_FORMATS, ...STILL_FORMATS] as const;
export type ChannelFormat = (typeof CHANNEL_FORMATS)[number];

export const CHANNEL_MIME: Record<ChannelFormat, string> = { mp4: "video/mp4", jpeg: "image/jpeg", png: "image/png", webp: "image/webp" };

/** A channel's name is its folder in the archive and its path segment in the API. */
export const ChannelNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be a short lowercase name such as reels or shopify (letters, digits, -)");

export const ChannelSpecSchema = z
  .object({
    name: ChannelNameSchema,
    label: z.string().min(1).max(80),
    media: z.enum(CHANNEL_MEDIA),
    /** The exact pixel size of every file of the channel. */
    width: z.int().min(64).max(4096),
    height: z.int().min(64).max(4096),
    /** Clear space kept around the subject's box inside the output, as a fraction of the output's shorter side. */
    margin: z.number().min(0).max(0.25).default(0.04),
    format: z.enum(CHANNEL_FORMATS),
    /** Video only: the codec (H.264 in MP4 plays everywhere the channels above publish). */
    codec: z.enum(["h264"]).optional(),
    fill: z.enum(FILL_MODES).default("blur"),
  })
  .refine((c) => (c.media === "video") === (VIDEO_FORMATS as readonly string[]).includes(c.format), {
    message: "format must be mp4 for a video channel and jpeg, png or webp for a still channel",
    path: ["format"],
  });
export type ChannelSpec = z.output<typeof ChannelSpecSchema>;

const video = (name: string, label: string, width: number, height: number): ChannelSpec => ({
  name,
  label,
  media: "video",
  width,
  height,
  margin: 0.04,
  format: "mp4",
  codec: "h264",
  fill: "blur",
});
const still = (name: string, label: string, width: number, height: number): ChannelSpec => ({
  name,
  label,
  media: "still",
  width,
  height,
  margin: 0.04,
  format: "jpeg",
  fill: "extend",
});

/** The default set: the reel in four social aspects, the stills at three marketplaces' sizes. */
export const DEFAULT_CHANNELS: readonly ChannelSpec[] = [
  video("reels", "Reels, TikTok and Shorts (9:16)", 1080, 1920),
  video("feed", "Instagram feed (4:5)", 1080, 1350),
  video("square", "Product page (1:1)", 1080, 1080),
  video("banner", "YouTube and site banner (16:9)", 1920, 1080),
  still("shopify", "Shopify (2048 × 2048)", 2048, 2048),
  still("amazon", "Amazon (2000 px long side)", 1600, 2000),
  still("zalando", "Zalando (1500 × 2000)", 1500, 2000),
];
export const DEFAULT_CHANNEL_NAMES = DEFAULT_CHANNELS.map((c) => c.name);

/** What a shoot or recipe asks for: a default channel by name, or a spec of its own. */
export const ChannelChoiceSchema = z.union([ChannelNameSchema, ChannelSpecSchema]);
export type ChannelChoice = z.input<typeof ChannelChoiceSchema>;

/** The specs a list of choices means; undefined for a name that is not a default channel. */
export function resolveChannel(choice: ChannelChoice): ChannelSpec | undefined {
  return typeof choice === "string" ? DEFAULT_CHANNELS.find((c) => c.name === choice) : ChannelSpecSchema.parse(choice);
}

/** An output upscaled beyond this is flagged to the producer ("shoot in 9:16 for full quality"). */
export const UPSCALE_WARNING = 1.5;
