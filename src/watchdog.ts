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
import { and, eq, lt } from "drizzle-orm";
import { db, schema } from "./db/client.ts";
import { countDispatch, finishJob, getJob, toSignal, type JobResult } from "./db/jobs.ts";
import { durationMs } from "./lib/duration.ts";
import { priceOf } from "./lib/prices.ts";
import { pollProviderJob } from "./providers/jobs.ts";
import { notifyWorkflow } from "./media/dispatch.ts";

export async function reconcileStalledJobs(env: Env, now = Date.now()): Promise<{ redispatched: number; polled: number; finished: number }> {
  const d = db(env.DB);
  const stats = { redispatched: 0, polled: 0, finished: 0 };
  const stalled = (timeout: string, type: "media" | "provider") =>
    d
      .select()
      .from(schema.jobs)
      .where(and(eq(schema.jobs.type, type), eq(schema.jobs.status, "submitted"), lt(schema.jobs.submittedAt, new Date(now - durationMs(timeout, 300_000)).toISOString())))
      .limit(100)
      .all();

  for (const job of await stalled(env.MEDIA_JOB_TIMEOUT, "media")) {
    await env.MEDIA_JOBS.send({ jobId: job.id });
    await countDispatch(d, job.id, job.dispatches + 1);
    stats.redispatched++;
  }
  for (const job of await stalled(env.PROVIDER_WAIT_TIMEOUT, "provider")) {
    if (!job.externalId || !job.model) continue;
    stats.polled++;
    try {
      const result = await pollProviderJob(env, job.provider, job.model, job.externalId);
      if (result && (await finishJob(d, job.id, result, priceOf(env, job.model)))) {
        const row = (await getJob(d, job.id))!;
        await notifyWorkflow(env, job.shootId, job.id, toSignal(row.result as JobResult));
        stats.finished++;
      }
    } catch (err) {
      console.warn(JSON.stringify({ msg: "watchdog poll failed", job: job.id, error: String(err) }));
    }
  }
  if (stats.redispatched || stats.finished) console.log(JSON.stringify({ msg: "watchdog", ...stats }));
  return stats;
}
