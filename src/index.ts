/** Worker entry: the HTTP app, the queue consumers, the workflow and the media container. */
import { app } from "./app.ts";
import { handleMediaBatch } from "./media/dispatch.ts";
import type { MediaJobMessage } from "./media/protocol.ts";

export { ShootWorkflow } from "./workflow/shoot.ts";
export { MediaContainer } from "./media/container.ts";

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.startsWith("atelier-media-jobs")) return handleMediaBatch(batch as MessageBatch<MediaJobMessage>, env);
    console.warn(JSON.stringify({ msg: "no consumer for queue", queue: batch.queue }));
    batch.retryAll();
  },
} satisfies ExportedHandler<Env>;
