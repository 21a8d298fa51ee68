/** Worker entry: the HTTP app, the queue consumers, the watchdog cron, the workflow and the media container. */
import { app } from "./app.ts";
import { handleMediaBatch } from "./media/dispatch.ts";
import type { MediaJobMessage } from "./domain/media-jobs.ts";
import { wakeStrandedShoots } from "./recovery.ts";
import { runRetention } from "./retention.ts";
import { reconcileStalledJobs } from "./watchdog.ts";
import { handleDeadSubmissions, handleSubmissionBatch, resendStaleRows, type SubmissionMessage } from "./batches/submissions.ts";
import { handleDeliveryBatch, resendOverdueDeliveries } from "./notify/deliver.ts";
import type { DeliveryMessage } from "./notify/events.ts";

export { ShootWorkflow } from "./workflow/shoot.ts";
export { MediaContainer } from "./media/container.ts";
export { ProviderPool } from "./limits/provider-pool.ts";

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.startsWith("atelier-media-jobs")) return handleMediaBatch(batch as MessageBatch<MediaJobMessage>, env);
    if (batch.queue.startsWith("atelier-submissions-dlq")) return handleDeadSubmissions(batch as MessageBatch<SubmissionMessage>, env);
    if (batch.queue.startsWith("atelier-submissions")) return handleSubmissionBatch(batch as MessageBatch<SubmissionMessage>, env);
    if (batch.queue.startsWith("atelier-webhook-deliveries")) return handleDeliveryBatch(batch as MessageBatch<DeliveryMessage>, env);
    console.warn(JSON.stringify({ msg: "no consumer for queue", queue: batch.queue }));
    batch.retryAll();
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(reconcileStalledJobs(env));
    ctx.waitUntil(wakeStrandedShoots(env));
    ctx.waitUntil(runRetention(env));
    // Rows and deliveries whose queue message was lost (a restart, a failed send) are sent again.
    ctx.waitUntil(resendStaleRows(env).catch((err) => console.warn(JSON.stringify({ msg: "row resend failed", error: String(err) }))));
    ctx.waitUntil(resendOverdueDeliveries(env).catch((err) => console.warn(JSON.stringify({ msg: "delivery resend failed", error: String(err) }))));
  },
} satisfies ExportedHandler<Env>;
