/**
 * One interface over the providers a shoot uses: submit a job (with its webhook or callback) and poll
 * it, returning a normalised result. Workflow code and webhook handlers call only this module.
 */
import type { JobResult } from "../db/jobs.ts";
import { purposeToken } from "../storage/signing.ts";
import { falOutputUrl, pollFal, submitFal } from "./fal.ts";
import { getKlingTask, submitKling, type KlingSubmit, type KlingTask } from "./kling.ts";

export type ProviderRequest =
  | { provider: "fal"; model: string; input: Record<string, unknown> }
  | ({ provider: "kling" } & Omit<KlingSubmit, "externalTaskId" | "callbackUrl">);

export async function klingCallbackUrl(env: Env, jobId: string): Promise<string> {
  const token = await purposeToken(env, "kling-callback", jobId);
  return `${env.PUBLIC_URL}/webhooks/kling/${encodeURIComponent(jobId)}?token=${token}`;
}

/** Submits the job; returns the provider's id for it. Safe to repeat for the same job id. */
export async function submitProviderJob(env: Env, jobId: string, req: ProviderRequest): Promise<string> {
  if (req.provider === "fal") {
    return submitFal(env, req.model, req.input, `${env.PUBLIC_URL}/webhooks/fal`);
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

export function klingResult(task: KlingTask): JobResult | null {
  if (task.task_status === "succeed") {
    const url = task.task_result?.videos?.[0]?.url;
    return url ? { status: "succeeded", outputUrl: url } : { status: "failed", error: "Kling reported success without a video" };
  }
  if (task.task_status === "failed") return { status: "failed", error: task.task_status_msg || "Kling task failed" };
  return null;
}

export function falResult(status: "OK" | "ERROR" | string, payload: unknown, error?: string): JobResult {
  if (status !== "OK") return { status: "failed", error: error || "FAL job failed" };
  const url = falOutputUrl(payload);
  return url ? { status: "succeeded", outputUrl: url, output: payload } : { status: "failed", error: "FAL output has no media URL" };
}

/** Asks the provider how the job is doing; null while it is still running. */
export async function pollProviderJob(env: Env, provider: string, model: string, externalId: string): Promise<JobResult | null> {
  if (provider === "fal") {
    const r = await pollFal(env, model, externalId);
    if (r.state === "pending") return null;
    return r.state === "done" ? falResult("OK", r.output) : { status: "failed", error: r.error };
  }
  return klingResult(await getKlingTask(env, externalId));
}
