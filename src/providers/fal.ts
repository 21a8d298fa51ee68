/**
 * FAL queue API through `@fal-ai/client`. In development FAL_QUEUE_URL points at the simulator and a
 * request middleware rewrites the client's fixed `https://queue.fal.run` base; nothing else differs.
 */
import { ApiError, createFalClient } from "@fal-ai/client";

const FAL_QUEUE = "https://queue.fal.run";

export function falClient(env: Pick<Env, "FAL_KEY" | "FAL_QUEUE_URL">) {
  if (!env.FAL_KEY) throw new Error("FAL_KEY is not configured");
  const base = (env.FAL_QUEUE_URL || FAL_QUEUE).replace(/\/$/, "");
  return createFalClient({
    credentials: env.FAL_KEY,
    suppressLocalCredentialsWarning: true,
    requestMiddleware: async (req) => (base === FAL_QUEUE ? req : { ...req, url: req.url.replace(FAL_QUEUE, base) }),
  });
}

export async function submitFal(
  env: Pick<Env, "FAL_KEY" | "FAL_QUEUE_URL">,
  model: string,
  input: Record<string, unknown>,
  webhookUrl: string,
): Promise<string> {
  const res = await falClient(env).queue.submit(model, { input, webhookUrl });
  return res.request_id;
}

export type FalPoll = { state: "pending" } | { state: "done"; output: unknown } | { state: "failed"; error: string };

export async function pollFal(env: Pick<Env, "FAL_KEY" | "FAL_QUEUE_URL">, model: string, requestId: string): Promise<FalPoll> {
  const fal = falClient(env);
  const status = await fal.queue.status(model, { requestId, logs: false });
  if (status.status !== "COMPLETED") return { state: "pending" };
  try {
    const result = await fal.queue.result(model, { requestId });
    return { state: "done", output: result.data };
  } catch (err) {
    if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
      return { state: "failed", error: `FAL ${err.status}: ${JSON.stringify(err.body).slice(0, 300)}` };
    }
    throw err;
  }
}

/** The media URL in a FAL model output: an image model's first image or a video model's video. */
export function falOutputUrl(output: unknown): string | null {
  const o = output as { images?: { url?: string }[]; video?: { url?: string } } | null;
  return o?.images?.[0]?.url ?? o?.video?.url ?? null;
}
