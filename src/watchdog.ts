/**
 * The watchdog (a cron trigger): finds jobs that have waited longer than their wait timeout and
 * moves them on from outside the workflow. A media job whose queue message was lost is dispatched
 * again (same id, so the media service never makes it twice); a provider job whose webhook was lost
 * is polled, and a finished one is reported to its workflow.
 *
 * In production the workflow's own timeouts do this too; the watchdog is belt and braces. Under
 * `wrangler dev` it is what recovers a restarted runtime: the local Workflows engine keeps its
 * timers in memory, so after a restart a waiting instance resumes only when an event reaches it.
 */
import { db } from "./db/client.ts";
import { countDispatch, stalledJobs } from "./db/jobs.ts";
import { pollAndComplete } from "./jobs/completion.ts";
import { durationMs } from "./lib/duration.ts";

export async function reconcileStalledJobs(env: Env, now = Date.now()): Promise<{ redispatched: number; polled: number; finished: number }> {
  const d = db(env.DB);
  const stats = { redispatched: 0, polled: 0, finished: 0 };
  const before = (timeout: string) => new Date(now - durationMs(timeout, 300_000));

  for (const job of await stalledJobs(d, "media", before(env.MEDIA_JOB_TIMEOUT))) {
    await env.MEDIA_JOBS.send({ jobId: job.id });
    await countDispatch(d, job.id, job.dispatches + 1);
    stats.redispatched++;
  }
  for (const job of await stalledJobs(d, "provider", before(env.PROVIDER_WAIT_TIMEOUT))) {
    if (!job.externalId || !job.model) continue;
    stats.polled++;
    try {
      if (await pollAndComplete(env, job, "watchdog")) stats.finished++;
    } catch (err) {
      console.warn(JSON.stringify({ msg: "watchdog poll failed", job: job.id, error: String(err) }));
    }
  }
  if (stats.redispatched || stats.finished) console.log(JSON.stringify({ msg: "watchdog", ...stats }));
  return stats;
}
