/**
 * One interface over the providers a shoot uses: submit a job (with its webhook or callback) and poll
 * it, returning a normalised result. Workflow code and webhook handlers call only this module.
 */
import type { JobResult } from "../db/jobs.ts";
import { purposeToken } from "../storage/signing.ts";
import { inputUnreachable, looksLikeRefusal } from "./errors.ts";
import { falOutputUrl, pollFal, submitFal } from "./fal.ts";
import { getKlingTask, submitKling, type KlingSubmit, type KlingTask } from "./kling.ts";

export type ProviderRequest =
  | { provider: "fal"; model: string; input: Record<string, unknown> }
  | ({ provider: "kling" } & Omit<KlingSubmit, "externalTaskId" | "callbackUrl">);

export async function klingCallbackUrl(env: Env, jobId: string): Promise<string> {
  const token = await purposeToken(env, "kling-callback", jobId);
  return `${env.PUBLIC_URL}/webhooks/kling/${encodeURIComponent(jobId)}?token=${token}`;
}

/**
 * FAL's webhook URL names our job (with a token, as the signature covers only the body), so a
 * request whose submit answer was lost is still matched to its job when it finishes.
 */
export async function falWebhookUrl(env: Env, jobId: string): Promise<string> {
  const token = await purposeToken(env, "fal-webhook", jobId);
  return `${env.PUBLIC_URL}/webhooks/fal?job=${encodeURIComponent(jobId)}&token=${token}`;
}

/** Submits the job; returns the provider's id for it. Safe to repeat for the same job id. */
export async function submitProviderJob(env: Env, jobId: string, req: ProviderRequest): Promise<string> {
  if (req.provider === "fal") {
    return submitFal(env, req.model, req.input, await falWebhookUrl(env, jobId));
  }
  return submitKling(env, {
    externalTaskId: jobId,
    model: req.model,
    image: req.image,
    imageTail: req.imageTail,
    prompt: req.prompt,
    negativePrompt: req.negativePrompt,
    duration: req.duration,
    callbackUrl: await klingCallbackUrl(env, jobId),
  });
}

/** Kling reports the units a task used; with KLING_UNIT_USD configured that is its cost. */
function klingCost(env: Pick<Env, "KLING_UNIT_USD">, task: KlingTask): { costUsd?: number } {
  const units = Number(task.final_unit_deduction);
  const unitUsd = Number(env.KLING_UNIT_USD);
  return task.final_unit_deduction !== undefined && Number.isFinite(units) && unitUsd > 0 ? { costUsd: Math.round(units * unitUsd * 10000) / 10000 } : {};
}

export function klingResult(task: KlingTask, env: Pick<Env, "KLING_UNIT_USD"> = { KLING_UNIT_USD: "" }): JobResult | null {
  if (task.task_status === "succeed") {
    const url = task.task_result?.videos?.[0]?.url;
    return url
      ? { status: "succeeded", outputUrl: url, ...klingCost(env, task) }
      : { status: "failed", error: "Kling reported success without a video", retryable: true };
  }
  if (task.task_status === "failed") {
    const error = task.task_status_msg || "Kling task failed";
    return { status: "failed", error, retryable: !looksLikeRefusal(error), ...klingCost(env, task) };
  }
  return null;
}

/** The provider's message for a failed FAL job: the error line plus the model's `detail`. */
function falError(error: string | undefined, payload: unknown): string {
  const detail = (payload as { detail?: unknown } | null)?.detail;
  const text =
    typeof detail === "string"
      ? detail
      : Array.isArray(detail)
        ? detail
            .map((d) => (d as { msg?: string }).msg ?? "")
            .filter(Boolean)
            .join("; ")
        : "";
  return [error || "FAL job failed", text].filter(Boolean).join(": ").slice(0, 1000);
}

export function falResult(status: "OK" | "ERROR" | string, payload: unknown, error?: string): JobResult {
  if (status !== "OK") {
    const message = falError(error, payload);
    // FAL answers a validation or content-policy refusal with a 4xx code; a retry would repeat it.
    const code = Number(/Invalid status code: (\d+)/.exec(error ?? "")?.[1] ?? 0);
    const refused =
      looksLikeRefusal(message) ||
      (code >= 400 && code < 500 && code !== 408 && code !== 429 && !inputUnreachable((payload as { detail?: unknown } | null)?.detail));
    return { status: "failed", error: message, retryable: !refused };
  }
  const url = falOutputUrl(payload);
  return url ? { status: "succeeded", outputUrl: url, output: payload } : { status: "failed", error: "FAL output has no media URL" };
}

/** Asks the provider how the job is doing; null while it is still running. */
export async function pollProviderJob(env: Env, provider: string, model: string, externalId: string): Promise<JobResult | null> {
  if (provider === "fal") {
    const r = await pollFal(env, model, externalId);
    if (r.state === "pending") return null;
    return r.state === "done" ? falResult("OK", r.output) : { status: "failed", error: r.error, retryable: r.retryable && !looksLikeRefusal(r.error) };
  }
  return klingResult(await getKlingTask(env, externalId), env);
}
