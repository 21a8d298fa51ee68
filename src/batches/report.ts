/**
 * The merchandiser's report of a batch: per SKU the shoot, its state and stage, its cost, any flags,
 * and signed, expiring URLs of the approved hero, frames and reel. As JSON, or as CSV streamed a
 * page of rows at a time (cells that a spreadsheet would run as a formula are escaped).
 */
import type { z } from "@hono/zod-openapi";
import Papa from "papaparse";
import type { BatchReport } from "../api/batch-schemas.ts";
import { and, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { assets, checkpoints, jobs } from "../db/schema.ts";
import type { Quality } from "../domain/findings.ts";
import { rowState, rowsWithShoots } from "../db/batches.ts";
import { FRAME_COUNT, STAGES } from "../domain/contract.ts";
import { roundUsd } from "../lib/prices.ts";
import { assetUrl } from "../storage/urls.ts";
import { readHistory, restoreCheckpoints } from "../history.ts";

/** A week: long enough to hand the sheet on, short enough that a leaked one stops working. */
export const REPORT_URL_TTL_SECONDS = 7 * 24 * 3600;
const PAGE = 50;

/** One SKU's row: the API's `BatchReport` row, defined once in its schema. */
export type ReportRow = z.infer<typeof BatchReport>["rows"][number];

const KIND_STAGE = { hero: "hero", frame: "frames", reel: "reel" } as const;

/** The report's rows, a page at a time (URLs are signed per row, so a big batch is not signed at once). */
export async function* reportRows(env: Env, d: Db, batchId: string, origin: string): AsyncGenerator<ReportRow[]> {
  const rows = await rowsWithShoots(d, batchId);
  for (let i = 0; i < rows.length; i += PAGE) {
    const page = rows.slice(i, i + PAGE);
    const ids = page.map((r) => r.shootId);
    const [costs, media, checked] = await Promise.all([
      d
        .select({ shootId: jobs.shootId, usd: sql<number>`coalesce(sum(${jobs.costUsd}), 0)` })
        .from(jobs)
        .where(inArray(jobs.shootId, ids))
        .groupBy(jobs.shootId)
        .all(),
      d
        .select({ id: assets.id, shootId: assets.shootId, kind: assets.kind, index: assets.index, version: assets.version })
        .from(assets)
        .where(and(inArray(assets.shootId, ids), inArray(assets.kind, Object.keys(KIND_STAGE) as (keyof typeof KIND_STAGE)[])))
        .all(),
      d
        .select({
          id: checkpoints.id,
          shootId: checkpoints.shootId,
          stage: checkpoints.stage,
          artifacts: checkpoints.artifacts,
          createdAt: checkpoints.createdAt,
        })
        .from(checkpoints)
        .where(inArray(checkpoints.shootId, ids))
        .all()
        .then(async (rows) => {
          // A compacted shoot's findings are in its archive: read those of flagged shoots only.
          const archived = page.filter((r) => r.compactedAt && (r.flagged ?? 0) > 0);
          const histories = await Promise.all(archived.map((r) => readHistory(env, { id: r.shootId!, accountId: r.accountId!, compactedAt: r.compactedAt })));
          return histories.reduce((all, h) => restoreCheckpoints(all, h), rows);
        }),
    ]);
    // A flagged shoot's flags: the reasons its latest checked checkpoint shows.
    const qualityOf = (c: { artifacts: unknown }) => (c.artifacts as { quality?: Quality }).quality;
    const flagsOf = (shootId: string) => {
      const latest = checked.filter((c) => c.shootId === shootId && qualityOf(c)).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      const findings = latest ? (qualityOf(latest)?.findings ?? []) : [];
      return findings.filter((f) => f.verdict === "flag").map((f) => `${latest!.stage}: ${f.reason}`);
    };
    const out: ReportRow[] = [];
    for (const r of page) {
      const state = rowState(r);
      const current = state === "completed" ? STAGES.length : STAGES.indexOf((r.stage ?? "plan") as (typeof STAGES)[number]);
      // Approved: the last version of each output of a stage the shoot has moved past.
      const latest = new Map<string, { id: string; version: number }>();
      for (const a of media.filter((m) => m.shootId === r.shootId)) {
        if (STAGES.indexOf(KIND_STAGE[a.kind as keyof typeof KIND_STAGE]) >= current) continue;
        const key = `${a.kind}:${a.index}`;
        if ((latest.get(key)?.version ?? 0) < a.version) latest.set(key, a);
      }
      const url = async (key: string) => (latest.has(key) ? await assetUrl(env, origin, latest.get(key)!.id, REPORT_URL_TTL_SECONDS) : null);
      out.push({
        sku: r.sku,
        row: r.index,
        shootId: r.shootId,
        state,
        stage: r.state === "created" ? (r.stage ?? null) : null,
        costUsd: roundUsd(costs.find((c) => c.shootId === r.shootId)?.usd ?? 0),
        quoteUsd: r.quoteUsd,
        flags: (r.flagged ?? 0) > 0 ? flagsOf(r.shootId) : [],
        error: r.state === "created" ? (r.shootError ?? null) : r.rowError,
        hero: await url("hero:0"),
        frames: await Promise.all(Array.from({ length: FRAME_COUNT }, (_, k) => url(`frame:${k + 1}`))),
        reel: await url("reel:0"),
      });
    }
    yield out;
  }
}

const CSV_HEADER = [
  "sku",
  "row",
  "shoot_id",
  "state",
  "stage",
  "cost_usd",
  "quote_usd",
  "flags",
  "error",
  "hero_url",
  ...Array.from({ length: FRAME_COUNT }, (_, k) => `frame_${k + 1}_url`),
  "reel_url",
];

const csvLine = (r: ReportRow) => [
  r.sku ?? "",
  r.row,
  r.shootId,
  r.state,
  r.stage ?? "",
  r.costUsd,
  r.quoteUsd,
  r.flags.join("; "),
  r.error ?? "",
  r.hero ?? "",
  ...r.frames.map((f) => f ?? ""),
  r.reel ?? "",
];

/** The report as a CSV stream (UTF-8 with a byte-order mark, so spreadsheets read accents right; CRLF line ends). */
export function reportCsv(env: Env, d: Db, batchId: string, origin: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const pages = reportRows(env, d, batchId, origin);
  const unparse = (data: unknown[][]) => `${Papa.unparse(data, { newline: "\r\n", escapeFormulae: true })}\r\n`;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(`\uFEFF${unparse([CSV_HEADER])}`));
    },
    async pull(controller) {
      const next = await pages.next();
      if (next.done) controller.close();
      else if (next.value.length) controller.enqueue(encoder.encode(unparse(next.value.map(csvLine))));
    },
  });
}

export async function reportJson(env: Env, d: Db, batchId: string, origin: string): Promise<ReportRow[]> {
  const out: ReportRow[] = [];
  for await (const page of reportRows(env, d, batchId, origin)) out.push(...page);
  return out;
}
