/**
 * Describes a media file: images through sharp (fast, and it is what crop/reframe will decode),
 * everything else through `ffprobe -print_format json`.
 */
import { open, stat } from "node:fs/promises";
import { openImage } from "./image-limits.ts";
import { InputError, errorMessage } from "./errors.ts";
import { runTool } from "../common/ffmpeg.ts";

export interface ProbeResult {
  mime: string;
  width: number;
  height: number;
  duration?: number;
  frames?: number;
  fps?: number;
}

export interface VideoInfo {
  mime: string;
  width: number;
  height: number;
  /** Seconds, from the container (informational only: frame picks use decoded frame counts). */
  duration?: number;
  /** Packets in the video stream (demuxed, not decoded), an estimate of the decodable frames. */
  packets?: number;
  fps: number;
  pixFmt?: string;
  codec?: string;
  colorSpace?: string;
  colorPrimaries?: string;
  colorTransfer?: string;
}

const IMAGE_MIME: Record<string, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  avif: "image/avif",
  heif: "image/heif",
  tiff: "image/tiff",
};

/** Sniffs the first bytes so a video never goes to sharp and an image never to ffprobe. */
async function sniff(file: string): Promise<"image" | "other"> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(16);
    const { bytesRead } = await fh.read(buf, 0, 16, 0);
    const b = buf.subarray(0, bytesRead);
    if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return "image"; // PNG
    if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image"; // JPEG
    if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") return "image";
    if (b.length >= 6 && b.toString("latin1", 0, 3) === "GIF") return "image";
    if (b.length >= 4 && (b.toString("latin1", 0, 4) === "II*\0" || b.toString("latin1", 0, 4) === "MM\0*")) return "image";
    if (b.length >= 12 && b.toString("latin1", 4, 8) === "ftyp" && /^(avif|avis|heic|heix|mif1|msf1)$/.test(b.toString("latin1", 8, 12))) {
      return "image";
    }
    return "other";
  } finally {
    await fh.close();
  }
}

async function assertNonEmpty(file: string, label: string): Promise<void> {
  const s = await stat(file);
  if (s.size === 0) throw new InputError(`${label} is empty (0 bytes); upload the file again`);
}

export async function probeImage(file: string, label = "image"): Promise<ProbeResult> {
  await assertNonEmpty(file, label);
  try {
    const meta = await openImage(file).metadata();
    if (!meta.width || !meta.height || !meta.format) throw new Error("no dimensions");
    // EXIF orientations 5-8 are rotated 90°, so the displayed image is height × width.
    const rotated = (meta.orientation ?? 1) >= 5;
    return {
      mime: IMAGE_MIME[meta.format] ?? `image/${meta.format}`,
      width: rotated ? meta.height : meta.width,
      height: rotated ? meta.width : meta.height,
    };
  } catch (err) {
    throw new InputError(`${label} is not a readable image (${errorMessage(err)}); upload a PNG, JPEG or WebP`);
  }
}

function parseRate(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [n, d] = rate.split("/").map(Number);
  const v = d ? n! / d : n!;
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

function containerMime(formatName: string, majorBrand?: string): string {
  if (/mp4|mov/.test(formatName)) return majorBrand?.trim() === "qt" ? "video/quicktime" : "video/mp4";
  if (/webm|matroska/.test(formatName)) return formatName.includes("webm") ? "video/webm" : "video/x-matroska";
  if (formatName.includes("gif")) return "image/gif";
  if (formatName.includes("avi")) return "video/x-msvideo";
  return "application/octet-stream";
}

interface FfprobeJson {
  streams?: Array<Record<string, unknown> & { codec_type?: string; side_data_list?: Array<Record<string, unknown>> }>;
  format?: { format_name?: string; duration?: string; tags?: Record<string, string> };
}

/** Video facts from one ffprobe run (demux only: `-count_packets` does not decode). */
export async function probeVideo(file: string, label = "video"): Promise<VideoInfo> {
  await assertNonEmpty(file, label);
  let json: FfprobeJson;
  try {
    const { stdout } = await runTool("ffprobe", ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-count_packets", file], {
      timeoutMs: 60_000,
    });
    json = JSON.parse(stdout.toString("utf8")) as FfprobeJson;
  } catch (err) {
    throw new InputError(`${label} is not a readable video (${errorMessage(err).replace(/^ffprobe exited with code \d+: /, "")}); regenerate or re-upload it`);
  }
  const v = json.streams?.find((s) => s.codec_type === "video");
  if (!v) throw new InputError(`${label} has no video stream; regenerate or re-upload it`);
  let width = Number(v.width);
  let height = Number(v.height);
  if (!(width > 0 && height > 0)) throw new InputError(`${label} has a video stream without dimensions; regenerate it`);
  // Phone footage carries a rotation; ffmpeg auto-rotates when decoding, so report displayed size.
  const rotation = Number(v.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? (v.tags as Record<string, string> | undefined)?.rotate ?? 0);
  if (Math.abs(rotation) % 180 === 90) [width, height] = [height, width];
  const fps = parseRate(v.avg_frame_rate as string) ?? parseRate(v.r_frame_rate as string) ?? 24;
  const duration = Number(v.duration ?? json.format?.duration);
  const packets = Number(v.nb_read_packets ?? v.nb_frames);
  const str = (x: unknown) => (typeof x === "string" && x !== "unknown" ? x : undefined);
  return {
    mime: containerMime(json.format?.format_name ?? "", json.format?.tags?.major_brand),
    width,
    height,
    duration: Number.isFinite(duration) && duration > 0 ? duration : undefined,
    packets: Number.isInteger(packets) && packets > 0 ? packets : undefined,
    fps,
    pixFmt: str(v.pix_fmt),
    codec: str(v.codec_name),
    colorSpace: str(v.color_space),
    colorPrimaries: str(v.color_primaries),
    colorTransfer: str(v.color_transfer),
  };
}

/** The `probe` job: one file, image or video. */
export async function probeFile(file: string, label = "file"): Promise<ProbeResult> {
  await assertNonEmpty(file, label);
  if ((await sniff(file)) === "image") return probeImage(file, label);
  const v = await probeVideo(file, label);
  // A still image in a container ffprobe knows (e.g. BMP) has one packet and no meaningful duration.
  return {
    mime: v.mime,
    width: v.width,
    height: v.height,
    ...(v.duration !== undefined ? { duration: round(v.duration, 3) } : {}),
    ...(v.packets !== undefined ? { frames: v.packets } : {}),
    fps: round(v.fps, 3),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
