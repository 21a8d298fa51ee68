/**
 * FAL queue API through `@fal-ai/client`. In development FAL_QUEUE_URL points at the simulator and a
 * request middleware rewrites the client's fixed `https://queue.fal.run` base; nothing else differs.
 */
import { ApiError, createFalClient } from "@fal-ai/client";
import { inputUnreachable, parseRetryAfter, ProviderRefusal } from "./errors.ts";

const FAL_QUEUE = "https://queue.fal.run";

export function falClient(env: Pick<Env, "FAL_KEY" | "FAL_QUEUE_URL">) {
  if (!env.FAL_KEY) throw new Error("FAL_KEY is not configured");
  const base = (env.FAL_QUEUE_URL || FAL_QUEUE).replace(/\/$/, "");
  return createFalClient({
    credentials: env.FAL_KEY,
    suppressLocalCredentialsWarning: true,
    requestMiddleware: async (req) => (base === FAL_QUEUE ? req : { ...req, url: req.url.replace(FAL_QUEUE, base) }),
    responseHandler: handleResponse,
    // The client retries network errors too: after a submit that reached FAL that is a second paid
    // job. A lost answer surfaces as our own error instead, and the workflow recovers the request id.
    fetch: async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      try {
        return await fetch(input, init);
      } catch (err) {
        throw new FalConnectionError(err instanceof Error ? err.message : String(err));
      }
    },
  });
}

export class FalConnectionError extends Error {
  override name = "FalConnectionError";
  constructor(message: string) {
    super(`FAL connection failed: ${message}`);
  }
}

/**
 * The client retries 429 and 5xx itself with its own backoff, blind to Retry-After, and a retried
 * submit is a second paid job. Throwing our own error type stops that (the client retries only its
 * ApiError and network errors): the workflow decides, honouring Retry-After.
 */
async function handleResponse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 500);
    try {
      const body = JSON.parse(text) as { detail?: unknown; message?: string };
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body.message ?? body).slice(0, 500);
    } catch {
      /* not JSON: keep the text */
    }
    throw new ProviderRefusal("fal", res.status, `FAL ${res.status}: ${detail}`, parseRetryAfter(res.headers.get("retry-after")));
  }
  if ((res.headers.get("content-type") ?? "").includes("application/json")) return JSON.parse(text);
  return text;
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

export type FalPoll = { state: "pending" } | { state: "done"; output: unknown } | { state: "failed"; error: string; retryable: boolean };

export async function pollFal(env: Pick<Env, "FAL_KEY" | "FAL_QUEUE_URL">, model: string, requestId: string): Promise<FalPoll> {
  const fal = falClient(env);
  const status = await fal.queue.status(model, { requestId, logs: false });
  if (status.status !== "COMPLETED") return { state: "pending" };
  try {
    const result = await fal.queue.result(model, { requestId });
    return { state: "done", output: result.data };
  } catch (err) {
    if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
      const error = `FAL ${err.status}: ${JSON.stringify(err.body).slice(0, 300)}`;
      return { state: "failed", error, retryable: err.status === 408 || err.status === 429 || inputUnreachable(error) };
    }
    throw err;
  }
}

/** The media URL in a FAL model output: an image model's first image or a video model's video. */
export function falOutputUrl(output: unknown): string | null {
  const o = output as { images?: { url?: string }[]; video?: { url?: string } } | null;
  return o?.images?.[0]?.url ?? o?.video?.url ?? null;
}
