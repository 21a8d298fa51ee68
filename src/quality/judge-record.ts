/**
 * A judge call on the shoot's record: one `judge` job row (provider anthropic, costed, so the ledger
 * and the budget count it) and one `check.judged` timeline event, both written once per stage and
 * attempt: a replayed step finds the row and writes nothing (no second charge, no second event).
 */
import { getTableName } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { eventRow } from "../db/events.ts";
import { getJob, type JobRow } from "../db/jobs.ts";
import { events, jobs } from "../db/schema.ts";
import type { JobResult } from "../domain/jobs.ts";
import { jobId } from "../workflow/context.ts";
import type { JudgeOutcome } from "./judge.ts";

/** The judge job of a stage's attempt: `<shootId>-judge-<stage>-<attempt>`. */
export const judgeJobId = (shootId: string, stage: string, attempt: number) => jobId(shootId, `judge-${stage}`, attempt);

export interface JudgeCall {
  shootId: string;
  accountId: string;
  stage: string;
  attempt: number;
  outcome: JudgeOutcome;
}

/**
 * Writes the judge job row and its event (in one D1 batch; the event only when this call wrote the
 * row). Returns the row as stored and whether this call wrote it.
 */
export async function recordJudgeCall(d: Db, call: JudgeCall): Promise<{ job: JobRow; recorded: boolean }> {
  const { shootId, accountId, stage, attempt, outcome } = call;
  const id = judgeJobId(shootId, stage, attempt);
  const now = new Date().toISOString();
  const flagged = outcome.status === "answered" ? outcome.findings.filter((f) => f.verdict === "flag").length : 0;
  const result: JobResult =
    outcome.status === "answered"
      ? {
          status: "succeeded",
          output: { judge: "answered", flagged, usage: outcome.usage, findings: outcome.findings },
          costUsd: outcome.costUsd,
        }
      : { status: "failed", error: `${outcome.status}: ${outcome.reason}`, retryable: false, costUsd: outcome.costUsd };
  const insert = d
    .insert(jobs)
    .values({
      id,
      shootId,
      accountId,
      type: "judge",
      provider: "anthropic",
      model: outcome.model,
      stage,
      attempt,
      status: result.status,
      costUsd: outcome.costUsd,
      result,
      error: outcome.status === "answered" ? null : outcome.reason,
      submittedAt: now,
      completedAt: now,
    })
    .onConflictDoNothing({ target: jobs.id })
    .toSQL();
  const event = eventRow({
    shootId,
    accountId,
    type: "check.judged",
    data: {
      stage,
      attempt,
      job: id,
      status: outcome.status,
      ...(outcome.status === "answered" ? {} : { reason: outcome.reason }),
      flagged,
      costUsd: outcome.costUsd,
    },
  });
  // One D1 batch (a transaction); changes() is the row count of its previous statement, the insert.
  const d1 = d.$client;
  const [res] = await d1.batch([
    d1.prepare(insert.sql).bind(...insert.params),
    d1
      .prepare(`insert into ${getTableName(events)} (shoot_id, account_id, type, data) select ?, ?, ?, ? where changes() > 0`)
      .bind(event.shootId, event.accountId, event.type, JSON.stringify(event.data)),
  ]);
  return { job: (await getJob(d, id))!, recorded: (res.meta?.changes ?? 0) > 0 };
}
