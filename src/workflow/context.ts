/** What every stage helper needs: the bindings, the step API, and which shoot this run is for. */
import type { WorkflowStep, WorkflowStepConfig } from "cloudflare:workers";
import type { ShootParams } from "../domain/shoot.ts";

export interface RunContext {
  env: Env;
  step: WorkflowStep;
  shootId: string;
  accountId: string;
  params: ShootParams;
  /** How many budget checkpoints this run has opened (they are numbered in order). */
  budgetCheckpoints?: number;
  /** The references' R2 keys, in the order of `params.references` (the quality checks read them). */
  referenceKeys?: string[];
  /** How many times each stage's outputs have been checked (check jobs are numbered per stage). */
  checkRounds?: Partial<Record<string, number>>;
}

/** Steps that call a provider or write storage: retried a few times, then the shoot fails. */
export const IO_STEP: WorkflowStepConfig = {
  retries: { limit: 4, delay: "3 seconds", backoff: "exponential" },
  timeout: "5 minutes",
};

/** Steps that only touch D1. */
export const DB_STEP: WorkflowStepConfig = {
  retries: { limit: 5, delay: "1 second", backoff: "exponential" },
  timeout: "1 minute",
};

/** A waitForEvent that ran out of time (the error's class does not survive RPC, so match loosely). */
export function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | null;
  return e?.name === "WorkflowTimeoutError" || /timed? ?out/i.test(e?.message ?? "");
}

/** Job ids are derived from the shoot and the attempt, so a retried step finds the same job. */
export function jobId(shootId: string, ...parts: (string | number)[]): string {
  return [shootId, ...parts].join("-");
}

export type Duration = `${number} ${"second" | "seconds" | "minute" | "minutes" | "hour" | "hours" | "day" | "days"}`;
