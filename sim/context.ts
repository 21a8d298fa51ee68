/** What every provider module shares: config, the job store, faults, files, webhooks, keys. */
import type { SimConfig } from "./config.ts";
import type { DriftLog } from "./drift.ts";
import type { FaultInjector } from "./faults.ts";
import type { FileStore } from "./files.ts";
import type { SigningKey } from "./keys.ts";
import type { RequestLog } from "./requests.ts";
import type { JobStore } from "./state.ts";
import type { Logger, WebhookSender } from "./webhooks.ts";

export interface SimContext {
  config: SimConfig;
  jobs: JobStore;
  faults: FaultInjector;
  /** What drift was injected into which job (GET /__sim/drift). */
  drift: DriftLog;
  /** The last Messages API requests (GET /__sim/anthropic/requests). */
  anthropicRequests: RequestLog;
  files: FileStore;
  webhooks: WebhookSender;
  signingKey: SigningKey;
  /** Public base URL (no trailing slash) for status/response/file URLs. */
  baseUrl(): string;
  log: Logger;
  /** Bumped on reset/close so running jobs stop touching state. */
  generation(): number;
  /** Aborted on reset/close: kills running FFmpeg encodes and input downloads. */
  signal(): AbortSignal;
  /** Registers a running job so close() can wait for it to clean up. */
  track(job: Promise<unknown>): void;
}

export function fileUrl(ctx: SimContext, name: string): string {
  return `${ctx.baseUrl()}/files/${encodeURIComponent(name)}`;
}
