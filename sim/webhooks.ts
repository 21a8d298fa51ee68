/**
 * Outbound webhook/callback delivery. Retries on connection errors and non-2xx with backoff
 * (1 s doubling to 10 s) for a bounded window, because the receiver (wrangler dev) may be
 * restarting. Deliveries for one job go out in order, so "processing" never overtakes "succeed".
 * Fault injection (drop, duplicate, forge) is applied here, in one place, for every provider.
 */
import { redactUrl } from "./config.ts";
import type { FaultInjector, WebhookFate } from "./faults.ts";
import type { DeliveryKind, SimJob } from "./state.ts";

export type Logger = (message: string) => void;

export interface Forgery {
  kind: DeliveryKind;
  body: string;
  headers: Record<string, string>;
}

export interface WebhookDelivery {
  job: SimJob;
  url: string;
  body: string;
  /** Label for the log (Kling: the status this callback announces). */
  event?: string;
  /** Called per attempt: FAL re-signs every attempt with a fresh timestamp. */
  headers: () => Record<string, string>;
  /** Built only when forgeWebhooks is on. */
  forge?: () => Forgery[];
}

export interface WebhookSenderOptions {
  retrySeconds: number;
  backoffMs: number;
  maxBackoffMs: number;
  faults: FaultInjector;
  log: Logger;
  userAgent: string;
}

const ATTEMPT_TIMEOUT_MS = 15_000;
/** How long a reordered delivery is held back, so the next one for the same job overtakes it. */
const REORDER_HOLD_MS = 1500;

export class WebhookSender {
  private controller = new AbortController();
  private chains = new Map<string, Promise<void>>();
  private pending = new Set<Promise<void>>();

  constructor(private readonly opts: WebhookSenderOptions) {}

  /**
   * Queues a delivery behind earlier ones for the same job; resolves when it is settled. A delivery
   * the faults mark "reordered" leaves the queue and goes out a little later, so later ones overtake it.
   */
  dispatch(d: WebhookDelivery): Promise<void> {
    const fate = this.opts.faults.webhookFate();
    if (fate.reorder && !fate.drop) {
      const held = sleep(REORDER_HOLD_MS, this.controller.signal).then(() => this.run(d, fate));
      return this.track(held, d);
    }
    const key = `${d.job.provider}:${d.job.id}`;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = this.track(
      previous.then(() => this.run(d, fate)),
      d,
    );
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private track(p: Promise<void>, d: WebhookDelivery): Promise<void> {
    const next = p.catch((err) => {
      if (!this.controller.signal.aborted) this.opts.log(`webhook for ${d.job.id} crashed: ${String(err)}`);
    });
    this.pending.add(next);
    void next.finally(() => this.pending.delete(next));
    return next;
  }

  /** Resolves when nothing is being delivered (tests use it to wait for quiet). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops all retries (server shutdown, /__sim/reset). */
  cancelAll(): void {
    this.controller.abort();
    this.controller = new AbortController();
  }

  private async run(d: WebhookDelivery, fate: WebhookFate): Promise<void> {
    const faults = this.opts.faults.get();
    const event = d.event;
    if (fate.drop) {
      d.job.webhookLog.push({ kind: "dropped", event, attempt: 0, at: new Date().toISOString(), ok: false });
      this.opts.log(`dropped ${event ?? "webhook"} for ${d.job.id} (fault)`);
      return;
    }
    if (fate.delayMs > 0) {
      this.opts.log(`holding ${event ?? "webhook"} for ${d.job.id} back ${fate.delayMs} ms (fault)`);
      await sleep(fate.delayMs, this.controller.signal);
    }
    if (faults.forgeWebhooks && d.forge) {
      // One attempt each, no retry: a well-behaved receiver answers 4xx and we move on.
      for (const f of d.forge()) await this.attempt(d, f.kind, 1, f.body, f.headers);
    }
    const ok = await this.deliverWithRetry(d, "real");
    if (ok && fate.duplicate) await this.deliverWithRetry(d, "duplicate");
  }

  private async deliverWithRetry(d: WebhookDelivery, kind: DeliveryKind): Promise<boolean> {
    const signal = this.controller.signal;
    const deadline = Date.now() + this.opts.retrySeconds * 1000;
    let delay = this.opts.backoffMs;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return false;
      if (await this.attempt(d, kind, attempt, d.body, d.headers())) return true;
      if (Date.now() + delay > deadline) {
        this.opts.log(`gave up on ${d.event ?? "webhook"} for ${d.job.id} to ${redactUrl(d.url)} after ${attempt} attempts`);
        return false;
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, this.opts.maxBackoffMs);
    }
  }

  private async attempt(d: WebhookDelivery, kind: DeliveryKind, attempt: number, body: string, headers: Record<string, string>): Promise<boolean> {
    const at = new Date().toISOString();
    try {
      const res = await fetch(d.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": this.opts.userAgent, ...headers },
        body,
        redirect: "manual",
        signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      const ok = res.status >= 200 && res.status < 300;
      d.job.webhookLog.push({ kind, event: d.event, attempt, at, status: res.status, ok });
      if (ok && (kind === "real" || kind === "duplicate")) d.job.webhookDeliveries++;
      if (!ok && (kind === "real" || kind === "duplicate")) {
        this.opts.log(`${d.event ?? "webhook"} for ${d.job.id} → ${redactUrl(d.url)}: HTTP ${res.status} (attempt ${attempt})`);
      }
      return ok;
    } catch (err) {
      const error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      d.job.webhookLog.push({ kind, event: d.event, attempt, at, error, ok: false });
      if (!this.controller.signal.aborted) {
        this.opts.log(`${d.event ?? "webhook"} for ${d.job.id} → ${redactUrl(d.url)}: ${error} (attempt ${attempt})`);
      }
      return false;
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
