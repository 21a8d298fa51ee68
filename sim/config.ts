/**
 * Simulator configuration, read once from the environment. Secrets (keys) live here only so
 * the auth checks can compare against them; they are never printed.
 */
import path from "node:path";
import { FaultsPatchSchema, type Faults } from "./faults.ts";

export interface SimConfig {
  host: string;
  port: number;
  /** Base URL the sim puts into status/response/file URLs; defaults to the listening address. */
  publicUrl?: string;
  /** Where the webhook signing key and generated files live. */
  stateDir: string;
  /** When set, FAL requests must carry exactly `Authorization: Key <falKey>`. */
  falKey?: string;
  /** The user id FAL puts in X-Fal-Webhook-User-Id. */
  falUserId: string;
  klingAccessKey: string;
  klingSecretKey: string;
  /** When set, Anthropic requests must carry exactly this x-api-key. */
  anthropicKey?: string;
  /** How long a webhook/callback keeps being retried while the receiver is down. */
  webhookRetrySeconds: number;
  /** First retry delay; doubles up to webhookMaxBackoffMs. */
  webhookBackoffMs: number;
  webhookMaxBackoffMs: number;
  /** Overrides the requested clip duration (tests use 1–2 s to stay fast). */
  clipSeconds?: number;
  clipDelayMs: number;
  /** SIM_CLIP_MIN_MS: a clip is held until this long after it started. */
  clipMinMs: number;
  imageDelayMs: number;
  quiet: boolean;
  /** Faults for the whole run (SIM_FAULTS, JSON in the shape of POST /__sim/faults). */
  faults?: Partial<Faults>;
}

function num(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}

function optional(value: string | undefined): string | undefined {
  return value && value.length > 0 ? value : undefined;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SimConfig {
  const clip = optional(env.SIM_CLIP_SECONDS);
  return {
    host: env.SIM_HOST ?? "127.0.0.1",
    port: num(env.SIM_PORT, 8790),
    publicUrl: optional(env.SIM_PUBLIC_URL),
    stateDir: path.resolve(env.SIM_STATE_DIR ?? ".atelier/sim"),
    falKey: optional(env.SIM_FAL_KEY),
    falUserId: env.SIM_FAL_USER_ID ?? "sim-user",
    klingAccessKey: env.SIM_KLING_ACCESS_KEY ?? "sim-access",
    klingSecretKey: env.SIM_KLING_SECRET_KEY ?? "sim-secret",
    anthropicKey: optional(env.SIM_ANTHROPIC_KEY),
    webhookRetrySeconds: num(env.SIM_WEBHOOK_RETRY_SECONDS, 300),
    webhookBackoffMs: num(env.SIM_WEBHOOK_BACKOFF_MS, 1000),
    webhookMaxBackoffMs: num(env.SIM_WEBHOOK_MAX_BACKOFF_MS, 10_000),
    clipSeconds: clip === undefined ? undefined : num(clip, 5),
    clipDelayMs: num(env.SIM_CLIP_DELAY_MS, 0),
    clipMinMs: num(env.SIM_CLIP_MIN_MS, 0),
    imageDelayMs: num(env.SIM_IMAGE_DELAY_MS, 300),
    quiet: env.SIM_QUIET === "1" || env.SIM_QUIET === "true",
    // A bad SIM_FAULTS stops the sim at start, naming the field, rather than running without faults.
    faults: env.SIM_FAULTS ? FaultsPatchSchema.parse(JSON.parse(env.SIM_FAULTS)) : undefined,
  };
}

/** Query parameters whose values are credentials (per-job callback tokens, signatures, keys). */
const SECRET_PARAM = /token|sig|secret|key|auth|pass/i;

/**
 * Hides the values of credential-like query parameters (per-job callback tokens) so URLs can be
 * logged or listed safely; other parameters (a job id a caller put there) stay readable.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const query = [...u.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${SECRET_PARAM.test(k) ? "…" : encodeURIComponent(v)}`).join("&");
    return `${u.origin}${u.pathname}${query ? `?${query}` : ""}`;
  } catch {
    return "<invalid url>";
  }
}
