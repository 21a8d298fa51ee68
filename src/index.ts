/** Worker entry: the HTTP app, the queue consumers, the watchdog cron, the workflow and the media container. */
import { app } from "./app.ts";
import { handleMediaBatch } from "./media/dispatch.ts";
import type { MediaJobMessage } from "./domain/media-jobs.ts";
import { wakeStrandedShoots } from "./recovery.ts";
import { runRetention } from "./retention.ts";
import { reconcileStalledJobs } from "./watchdog.ts";

export { ShootWorkflow } from "./workflow/shoot.ts";
export { MediaContainer } from "./media/container.ts";

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.startsWith("atelier-media-jobs")) return handleMediaBatch(batch as MessageBatch<MediaJobMessage>, env);
    console.warn(JSON.stringify({ msg: "no consumer for queue", queue: batch.queue }));
    batch.retryAll();
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(reconcileStalledJobs(env));
    ctx.waitUntil(wakeStrandedShoots(env));
    ctx.waitUntil(runRetention(env));
  },
} satisfies ExportedHandler<Env>;
