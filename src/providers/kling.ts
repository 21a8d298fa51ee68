/**
 * Kling's image-to-video API, called directly: a fresh HS256 JWT per request, a callback URL carrying
 * a per-job token, and `external_task_id` = our job id so a retried submit finds the first task.
 */
import { base64url, hmacSha256 } from "../lib/crypto.ts";
import { isTransientStatus, parseRetryAfter, ProviderRefusal } from "./errors.ts";

type KlingEnv = Pick<Env, "KLING_BASE_URL" | "KLING_ACCESS_KEY" | "KLING_SECRET_KEY">;

async function jwt(env: KlingEnv): Promise<string> {
  if (!env.KLING_ACCESS_KEY || !env.KLING_SECRET_KEY) throw new Error("KLING_ACCESS_KEY / KLING_SECRET_KEY are not configured");
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: unknown) => base64url(new TextEncoder().encode(JSON.stringify(o)));
  const head = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ iss: env.KLING_ACCESS_KEY, exp: now + 1800, nbf: now - 5 })}`;
  return `${head}.${base64url(await hmacSha256(env.KLING_SECRET_KEY, head))}`;
}

async function call(env: KlingEnv, method: string, path: string, body?: unknown) {
  const res = await fetch(`${env.KLING_BASE_URL.replace(/\/$/, "")}${path}`, {
    method,
    headers: { authorization: `Bearer ${await jwt(env)}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => null)) as { code?: number; message?: string; data?: KlingTask } | null;
  if (isTransientStatus(res.status) || !json) {
    const message = `Kling ${method} ${path.split("/").slice(0, 4).join("/")}: HTTP ${res.status}${json?.message ? `: ${json.message}` : ""}`;
    throw new ProviderRefusal("kling", res.status, message, parseRetryAfter(res.headers.get("retry-after")));
  }
  return { status: res.status, json };
}

export interface KlingTask {
  task_id: string;
  task_status: "submitted" | "processing" | "succeed" | "failed";
  task_status_msg?: string;
  task_result?: { videos?: { id: string; url: string; duration: string | number }[] };
  final_unit_deduction?: string | number;
}

export interface KlingSubmit {
  externalTaskId: string;
  model: string;
  image: string;
  imageTail: string;
  prompt: string;
  negativePrompt: string;
  duration: "5" | "10";
  callbackUrl: string;
}

export async function submitKling(env: KlingEnv, s: KlingSubmit): Promise<string> {
  const { status, json } = await call(env, "POST", "/v1/videos/image2video", {
    model_name: s.model,
    mode: "pro",
    duration: s.duration,
    image: s.image,
    image_tail: s.imageTail,
    prompt: s.prompt,
    negative_prompt: s.negativePrompt,
    callback_url: s.callbackUrl,
    external_task_id: s.externalTaskId,
  });
  if (json.code === 0 && json.data?.task_id) return json.data.task_id;
  // A retried submit: the task exists already under our external id.
  if (/external_task_id/i.test(json.message ?? "")) return (await getKlingTask(env, s.externalTaskId)).task_id;
  throw new ProviderRefusal("kling", status, `Kling rejected the clip (HTTP ${status}, code ${json.code}): ${json.message ?? "no message"}`, null);
}

export async function getKlingTask(env: KlingEnv, taskId: string): Promise<KlingTask> {
  const { status, json } = await call(env, "GET", `/v1/videos/image2video/${encodeURIComponent(taskId)}`);
  if (json.code !== 0 || !json.data) throw new Error(`Kling task ${taskId}: HTTP ${status}, code ${json.code}: ${json.message}`);
  return json.data;
}
