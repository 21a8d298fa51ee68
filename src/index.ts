/** Worker entry: the HTTP app, the queue consumers, the watchdog cron, the workflow and the media container. */
import { app } from "./app.ts";
import { metered, noteDelivered } from "./meter.ts";
import { handleDeadMediaJobs, handleMediaBatch } from "./media/dispatch.ts";
import type { MediaJobMessage } from "./domain/media-jobs.ts";
import { wakeStrandedShoots } from "./recovery.ts";
import { runRetention } from "./retention.ts";
import { compactHistory } from "./history.ts";
import { reconcileStalledJobs } from "./watchdog.ts";
import { handleDeadSubmissions, handleSubmissionBatch, resendStaleRows, type SubmissionMessage } from "./batches/submissions.ts";
import { handleDeliveryBatch, resendOverdueDeliveries } from "./notify/deliver.ts";
import type { DeliveryMessage } from "./notify/events.ts";

export { ShootWorkflow } from "./workflow/shoot.ts";
export { DeliverWorkflow } from "./workflow/deliver.ts";
export { MediaContainer } from "./media/container.ts";
export { ProviderPool } from "./limits/provider-pool.ts";
export { ShootFeed } from "./live/shoot-feed.ts";

/** Each queue's consumer, by the queue's exact name (wrangler.jsonc `queues.consumers`). */
const CONSUMERS: Record<string, (batch: MessageBatch<never>, env: Env) => Promise<void>> = {
  "atelier-media-jobs": (b: MessageBatch<MediaJobMessage>, env) => handleMediaBatch(b, env),
  "atelier-media-jobs-dlq": (b: MessageBatch<MediaJobMessage>, env) => handleDeadMediaJobs(b, env),
  "atelier-submissions": (b: MessageBatch<SubmissionMessage>, env) => handleSubmissionBatch(b, env),
  "atelier-submissions-dlq": (b: MessageBatch<SubmissionMessage>, env) => handleDeadSubmissions(b, env),
  "atelier-webhook-deliveries": (b: MessageBatch<DeliveryMessage>, env) => handleDeliveryBatch(b, env),
};

export default {
  fetch: (request, env, ctx) => app.fetch(request, metered(env), ctx),
  async queue(batch, rawEnv) {
    const env = metered(rawEnv);
    if (env.METER === "true") noteDelivered(batch.queue, batch.messages.length);
    const consumer = CONSUMERS[batch.queue];
    if (consumer) return consumer(batch as MessageBatch<never>, env);
    console.warn(JSON.stringify({ msg: "no consumer for queue", queue: batch.queue }));
    batch.retryAll();
  },
  async scheduled(_controller, rawEnv, ctx) {
    const env = metered(rawEnv);
    ctx.waitUntil(reconcileStalledJobs(env));
    ctx.waitUntil(wakeStrandedShoots(env));
    ctx.waitUntil(runRetention(env));
    ctx.waitUntil(compactHistory(env).catch((err) => console.warn(JSON.stringify({ msg: "compaction failed", error: String(err) }))));
    // Rows and deliveries whose queue message was lost (a restart, a failed send) are sent again.
    ctx.waitUntil(resendStaleRows(env).catch((err) => console.warn(JSON.stringify({ msg: "row resend failed", error: String(err) }))));
    ctx.waitUntil(resendOverdueDeliveries(env).catch((err) => console.warn(JSON.stringify({ msg: "delivery resend failed", error: String(err) }))));
  },
} satisfies ExportedHandler<Env>;
