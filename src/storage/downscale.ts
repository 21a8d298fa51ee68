/**
 * Pictures for Claude (the planner and the vision judge): Anthropic downscales any image whose long
 * side passes 1568 px (slower, no better) and refuses one over 5 MB, so larger pictures are scaled
 * down here first, with the Images binding, to a JPEG next to the shoot's objects. Smaller ones are
 * sent as they are.
 */
import { claudeKey } from "./claude-keys.ts";

export const PLANNER_MAX_SIDE = 1568;

type ImagesEnv = Pick<Env, "BUCKET" | "IMAGES">;

/** The key to send for `key`: itself when small enough, else a scaled JPEG copy written to `dest`. */
export async function claudeCopy(env: ImagesEnv, key: string, dest: string): Promise<string> {
  const head = await env.BUCKET.get(key);
  if (!head) throw new Error(`${key} is missing from storage`);
  const info = await env.IMAGES.info(head.body);
  if (!("width" in info) || Math.max(info.width, info.height) <= PLANNER_MAX_SIDE) return key;
  const obj = (await env.BUCKET.get(key))!;
  const out = await env.IMAGES.input(obj.body)
    .transform({ width: PLANNER_MAX_SIDE, height: PLANNER_MAX_SIDE, fit: "scale-down" })
    .output({ format: "image/jpeg", quality: 85 });
  const bytes = await new Response(out.image()).arrayBuffer();
  // Deterministic key: a retried step rewrites the same object.
  await env.BUCKET.put(dest, bytes, { httpMetadata: { contentType: "image/jpeg" } });
  return dest;
}

export function plannerReferences(env: ImagesEnv, accountId: string, shootId: string, keys: string[]): Promise<string[]> {
  return Promise.all(keys.map((key, i) => claudeCopy(env, key, claudeKey(accountId, shootId, `reference-${i + 1}`))));
}
