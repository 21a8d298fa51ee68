/** What `GET /internal/meter` answers (src/meter.ts), read by bench:scale (scripts/bench/scale.ts). */
export interface MeterCounts {
  /** Distinct steps (do, waitForEvent, sleep) per instance: what Workflows bills as steps. */
  steps: number;
  /** step.do callbacks that ran (a retried step runs again; a replayed one does not). */
  stepRuns: number;
  d1Statements: number;
  /** From D1's own meta where the API returns it (run, all, batch); a `raw` read (drizzle's selects) counts the rows it returned. */
  d1RowsRead: number;
  d1RowsWritten: number;
  r2ClassA: number;
  r2ClassB: number;
  r2Deletes: number;
  queueSent: Record<string, number>;
  queueDelivered: Record<string, number>;
  doRequests: Record<string, number>;
  workflowCalls: Record<string, number>;
}

export interface MeterAnswer extends MeterCounts {
  /** With `?bytes=1`: the bytes of the shoots' D1 tables, per shoot, and ended shoots not yet compacted. */
  d1Bytes?: { total: number; shoots: number; perShoot: number; perShootByTable: Record<string, number>; uncompacted: number };
}
