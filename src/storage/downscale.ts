/**
 * Reference photos for the Claude planner: Anthropic downscales any image whose long side passes
 * 1568 px (slower, no better), so larger references are scaled down here first, with the Images
 * binding, to a JPEG next to the shoot's objects. Smaller ones are sent as they are.
 */
export const PLANNER_MAX_SIDE = 1568;

export async function plannerReferences(env: Pick<Env, "BUCKET" | "IMAGES">, accountId: string, shootId: string, keys: string[]): Promise<string[]> {
  return Promise.all(
    keys.map(async (key, i) => {
      const head = await env.BUCKET.get(key);
      if (!head) throw new Error(`reference ${key} is missing from storage`);
      const info = await env.IMAGES.info(head.body);
      if (!("width" in info) || Math.max(info.width, info.height) <= PLANNER_MAX_SIDE) return key;
      const obj = (await env.BUCKET.get(key))!;
      const out = await env.IMAGES.input(obj.body)
        .transform({ width: PLANNER_MAX_SIDE, height: PLANNER_MAX_SIDE, fit: "scale-down" })
        .output({ format: "image/jpeg", quality: 85 });
      const bytes = await new Response(out.image()).arrayBuffer();
      // Deterministic key: a retried plan step rewrites the same object.
      const small = `accounts/${accountId}/shoots/${shootId}/planner/reference-${i + 1}.jpg`;
      await env.BUCKET.put(small, bytes, { httpMetadata: { contentType: "image/jpeg" } });
      return small;
    }),
  );
}
