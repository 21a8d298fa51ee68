/**
 * The simulated vision judge: answers a Messages API request whose tool is `submit_review` (the
 * product's quality judge) the way a vision model would, by looking at the images it was sent.
 *
 * It reads the request as a model would: each image block is labelled by the text block before it
 * (`Reference 2 (garment): …`, `Output "hero":`), the outputs to review and the rubric items are the
 * properties of the tool's input schema (`outputs.<name>.<item>`). It downloads every image (URL or
 * base64; a download or decode failure is the API's 400), and recognises an output that the
 * simulator drifted (sim/drift.ts: the same bytes, or the same picture scaled or re-encoded). Such an
 * output is flagged on the rubric item its drift spoils (a recoloured or swapped garment → `garment`,
 * an accessory left out → `accessories`, a face swapped → `identity`), with a box where the drift
 * was put; every other item, and every output it does not recognise, passes.
 */
import sharp from "sharp";
import type { SimContext } from "./context.ts";
import type { InjectedDrift } from "./drift.ts";
import { fetchBytes } from "./inputs.ts";

export const JUDGE_TOOL = "submit_review";

type Role = "garment" | "model" | "accessory";
type Region = { x: number; y: number; w: number; h: number };
interface ItemAnswer {
  verdict: "pass" | "flag";
  confidence: number;
  reason: string;
  region: Region | null;
}

interface Block {
  type?: string;
  text?: string;
  source?: { type?: string; url?: string; data?: string; media_type?: string };
}

/** Why the request cannot be answered: an API error the handler returns as is. */
export class JudgeRequestError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_ITEMS = ["garment", "accessories", "identity", "anatomy", "framing", "text"];

const record = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** The outputs and items the tool's schema asks for: `properties.outputs.properties.<name>.properties.<item>`. */
function asked(schema: unknown): { name: string; items: string[] }[] {
  const outputs = record(record(record(record(schema)?.properties)?.outputs)?.properties);
  if (!outputs) return [];
  return Object.entries(outputs).map(([name, s]) => {
    const items = Object.keys(record(record(s)?.properties) ?? {});
    return { name, items: items.length ? items : DEFAULT_ITEMS };
  });
}

/** Where each drift kind is put (sim/drift.ts and sim/synth.ts), as a box on the output. */
function driftRegion(d: InjectedDrift): Region {
  if (d.output?.picture === "contact-sheet") return { x: 0, y: 0, w: 1, h: 1 }; // every cell shows the altered hero
  const inserts = d.detail.includes("insert");
  switch (d.kind) {
    case "garment-recolour":
    case "garment-swap":
      return inserts ? { x: 0.03, y: 0.07, w: 0.24, h: 0.19 } : { x: 0.24, y: 0.38, w: 0.52, h: 0.44 };
    case "accessory-removed":
      return inserts ? { x: 0.03, y: 0.07, w: 0.94, h: 0.6 } : { x: 0.55, y: 0.55, w: 0.4, h: 0.35 };
    case "face-swap":
      return inserts ? { x: 0.36, y: 0.12, w: 0.28, h: 0.22 } : { x: 0.38, y: 0.08, w: 0.24, h: 0.26 };
    default:
      return { x: 0, y: 0, w: 1, h: 1 };
  }
}

const SPOILS: Partial<Record<InjectedDrift["kind"], { item: string; reason: string }>> = {
  "garment-recolour": { item: "garment", reason: "The garment's colour is not the garment reference's" },
  "garment-swap": { item: "garment", reason: "The garment is not the one in the garment reference: another jacket is in its place" },
  "accessory-removed": { item: "accessories", reason: "The accessory from the references is missing" },
  "face-swap": { item: "identity", reason: "The face is not the model's from the model reference" },
};

function passReason(item: string, roles: Set<Role>): string {
  switch (item) {
    case "garment":
      return roles.has("garment")
        ? "The garment matches the reference: same cut, colour and details."
        : "No garment reference was given; the outfit looks consistent.";
    case "accessories":
      return roles.has("accessory") ? "The accessory from the references is there and unchanged." : "No accessory reference was given, and none was added.";
    case "identity":
      return roles.has("model") ? "The face and hair match the model reference." : "No model reference was given.";
    case "anatomy":
      return "Hands, limbs and face look natural.";
    case "framing":
      return "The subject and the garment are in frame.";
    case "text":
      return "No stray text, watermark or logo.";
    default:
      return "Looks right.";
  }
}

/** Downloads and decodes one image block's picture, or throws the API's 400 for it. */
async function picture(block: Block, index: number, signal: AbortSignal): Promise<Buffer> {
  const where = `messages.0.content.${index}.image.source`;
  let bytes: Buffer;
  if (block.source?.type === "url" && typeof block.source.url === "string") {
    try {
      bytes = await fetchBytes(block.source.url, where, signal);
    } catch {
      throw new JudgeRequestError(400, "invalid_request_error", `${where}.url: Unable to download the file. Please verify the URL and try again.`);
    }
  } else if (block.source?.type === "base64" && typeof block.source.data === "string") {
    bytes = Buffer.from(block.source.data, "base64");
  } else {
    throw new JudgeRequestError(400, "invalid_request_error", `${where}: expected a url or base64 source`);
  }
  try {
    await sharp(bytes, { failOn: "error" }).metadata();
  } catch {
    throw new JudgeRequestError(400, "invalid_request_error", `${where}: Could not process image`);
  }
  return bytes;
}

/** The review, as the tool's input: `{ outputs: { <name>: { <item>: ItemAnswer } } }`. */
export async function judgeReview(ctx: SimContext, content: unknown, schema: unknown): Promise<{ outputs: Record<string, Record<string, ItemAnswer>> }> {
  const blocks: Block[] = Array.isArray(content) ? (content as Block[]) : [];
  const roles = new Set<Role>();
  const outputs = new Map<string, number>();
  const images: { index: number; block: Block }[] = [];
  let label = "";
  blocks.forEach((b, index) => {
    if (b?.type === "text" && typeof b.text === "string") label = b.text;
    if (b?.type !== "image") return;
    images.push({ index, block: b });
    const out = /^\s*Output "([^"]+)"/.exec(label);
    if (out) outputs.set(out[1]!, index);
    const ref = /^\s*Reference \d+ \((garment|model|accessory)\b/.exec(label);
    if (ref) roles.add(ref[1] as Role);
    label = "";
  });
  // Every image is looked at (a real model downloads them all), the outputs matched against the drift record.
  const signal = ctx.signal();
  const bytes = new Map<number, Buffer>();
  for (const { index, block } of images) bytes.set(index, await picture(block, index, signal));

  const review: Record<string, Record<string, ItemAnswer>> = {};
  const wanted = asked(schema);
  const list = wanted.length ? wanted : [...outputs.keys()].map((name) => ({ name, items: DEFAULT_ITEMS }));
  for (const { name, items } of list) {
    const at = outputs.get(name);
    const drift = at === undefined ? undefined : await ctx.drift.findStill(bytes.get(at)!);
    const spoilt = drift ? SPOILS[drift.kind] : undefined;
    review[name] = {};
    for (const item of items) {
      review[name][item] =
        spoilt && spoilt.item === item
          ? { verdict: "flag", confidence: 0.9, reason: `${spoilt.reason} (${drift!.detail}).`, region: driftRegion(drift!) }
          : { verdict: "pass", confidence: 0.85, reason: at === undefined ? "No picture was labelled with this name." : passReason(item, roles), region: null };
    }
  }
  return { outputs: review };
}

/** A review that fails the schema: a flag without a place, a confidence in words, the last output left out. */
export function malformed(review: { outputs: Record<string, Record<string, ItemAnswer>> }): unknown {
  const names = Object.keys(review.outputs);
  const broken: Record<string, unknown> = {};
  names.forEach((n, i) => {
    if (i === names.length - 1 && names.length > 1) return;
    const items = { ...review.outputs[n] } as Record<string, unknown>;
    const first = Object.keys(items)[0];
    if (i === 0 && first) items[first] = { verdict: "flag", confidence: "high", reason: "", region: null };
    broken[n] = items;
  });
  return { outputs: broken };
}
