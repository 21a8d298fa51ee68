/**
 * The quality gate (issue 19): after a stage makes something, the media service's `check` job
 * measures it against the shoot's references (src/domain/findings.ts), and the findings go on the
 * stage's checkpoint, where the review policy `flagged` and `autoFix` read them.
 *
 * Job inputs are named for what they are (`ref-1`, `hero`, `frame-3`, `clip-2`, `reel`); the findings
 * come back naming those, and are turned into asset ids here, so everything past this module speaks
 * of assets.
 */
import { eq, sql } from "drizzle-orm";
import { db, schema } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import type { Stage } from "../domain/contract.ts";
import type { Finding, JudgeStatus, Mark, Quality, ReferenceRole } from "../domain/findings.ts";
import { judgeEnabled, judgeOutputs } from "../quality/judge.ts";
import { recordJudgeCall } from "../quality/judge-record.ts";
import { claudeKey } from "../storage/claude-keys.ts";
import { claudeCopy } from "../storage/downscale.ts";
import { blobUrl } from "../storage/urls.ts";
import { RENDER_DEFAULTS, type StitchSettings } from "../domain/stitch.ts";
import { fitsBudget } from "./budget.ts";
import { DB_STEP, type RunContext } from "./context.ts";
import { runMediaJob } from "./media-job.ts";
import type { StoredRef } from "./provider-job.ts";

export interface Named {
  /** The job input name: `hero`, `sheet`, `frame-3`, `clip-2`, `reel`. */
  name: string;
  ref: StoredRef;
}

export interface GateSpec {
  stage: Stage;
  /** Stills measured against the references: the hero, a full-body shot that shows every one of them. */
  stills?: Named[];
  /**
   * Stills only the vision judge looks at: the contact sheet and the frames are close-ups and crops
   * that may leave a reference out of the picture on purpose, which the measurements cannot tell
   * from one that was dropped (tests/node/container/check/sim-outputs.test.ts shows it).
   */
  judgeOnly?: Named[];
  /** Clips, each with the stills it should start and end on. */
  clips?: (Named & { start: Named; end: Named })[];
  reel?: { ref: StoredRef; stitch: StitchSettings; clips: number };
}

/**
 * Checks a stage's outputs: the media service measures them, the judge (when configured) looks at
 * the stills. Undefined when there is nothing to check (no reference has a role to hold the stills
 * to, and there are no clips or reel).
 */
export async function checkOutputs(ctx: RunContext, spec: GateSpec): Promise<Quality | undefined> {
  const roles = ctx.params.referenceRoles ?? [];
  const keys = ctx.referenceKeys ?? [];
  const references = keys.flatMap((key, i) => (roles[i] ? [{ input: `ref-${i + 1}`, role: roles[i]!, key }] : []));
  const stills = references.length ? (spec.stills ?? []) : [];
  const judged = references.length && judgeEnabled(ctx.env) ? [...stills, ...(spec.judgeOnly ?? [])] : [];
  const clips = spec.clips ?? [];
  const measuring = stills.length > 0 || clips.length > 0 || Boolean(spec.reel);
  if (!measuring && !judged.length) return undefined;

  const round = (ctx.checkRounds?.[spec.stage] ?? 0) + 1;
  ctx.checkRounds = { ...ctx.checkRounds, [spec.stage]: round };
  const inputs = new Map<string, StoredRef | string>();
  if (stills.length) for (const r of references) inputs.set(r.input, r.key);
  for (const s of stills) inputs.set(s.name, s.ref);
  for (const c of clips) for (const n of [c, c.start, c.end]) inputs.set(n.name, n.ref);
  if (spec.reel) inputs.set("reel", spec.reel.ref);
  const assetOf = new Map<string, string>();
  for (const [name, v] of inputs) if (typeof v !== "string") assetOf.set(name, v.assetId);
  for (const s of judged) assetOf.set(s.name, s.ref.assetId);

  let measured: Quality = { findings: [], flagged: 0, skipped: [] };
  if (measuring) {
    const out = await runMediaJob(ctx, {
      name: `check-${spec.stage}#${round}`,
      scope: spec.stage,
      stage: spec.stage,
      kind: "check",
      attempt: round,
      inputs: [...inputs].map(([name, v]) => ({ name, key: typeof v === "string" ? v : v.key })),
      outputs: [],
      params: {
        references: stills.length ? references.map((r) => ({ input: r.input, role: r.role, label: r.role })) : [],
        stills: stills.map((s) => s.name),
        clips: clips.map((c) => ({ input: c.name, start: c.start.name, end: c.end.name })),
        reels: spec.reel ? [{ input: "reel", expectedSeconds: reelSeconds(spec.reel.stitch, spec.reel.clips) }] : [],
      },
    });
    measured = out.ok
      ? {
          findings: (out.details.findings ?? []).map((f) => ({ ...f, asset: assetOf.get(f.asset) ?? f.asset })),
          flagged: out.details.flagged ?? 0,
          skipped: (out.details.skipped ?? []).map((s) => ({ ...s, asset: assetOf.get(s.asset) ?? s.asset })),
        }
      : { ...measured, error: `the quality checks could not run: ${out.error}` };
  }
  const quality = judged.length ? await judge(ctx, spec.stage, round, references, judged, measured, assetOf) : measured;

  await ctx.step.do(`checked ${spec.stage}#${round}`, DB_STEP, async () => {
    const d = db(ctx.env.DB);
    await d.update(schema.shoots).set({ flagged: quality.flagged }).where(eq(schema.shoots.id, ctx.shootId));
    await logEvent(d, {
      shootId: ctx.shootId,
      accountId: ctx.accountId,
      type: "check.completed",
      data: { stage: spec.stage, round, flagged: quality.flagged, findings: quality.findings.length, ...(quality.error ? { error: quality.error } : {}) },
    });
  });
  return quality;
}

/**
 * The vision judge on a stage's stills, when a key is configured: its findings join the measured
 * ones. A refusal, a timeout or an invalid answer is recorded (job row, event, cost) and the
 * measured verdict stands.
 */
async function judge(
  ctx: RunContext,
  stage: Stage,
  round: number,
  references: { input: string; role: ReferenceRole; key: string }[],
  stills: Named[],
  measured: Quality,
  assetOf: Map<string, string>,
): Promise<Quality> {
  const { env, shootId, accountId } = ctx;
  const verdict = await ctx.step.do(`judge ${stage}#${round}`, JUDGE_STEP, async (): Promise<{ status: JudgeStatus; reason?: string; findings: Finding[] }> => {
    try {
      return await ask();
    } catch (err) {
      // Storage failed under the call: nothing was asked of Claude, and the measured verdict stands.
      return { status: "error", reason: `the judge could not be asked: ${err instanceof Error ? err.message : String(err)}`, findings: [] };
    }
  });
  async function ask() {
    const url = async (key: string, name: string) => blobUrl(env, "GET", await claudeCopy(env, key, claudeKey(accountId, shootId, name)), 3600);
    const outcome = await judgeOutputs(env, {
      stage,
      references: await Promise.all(references.map(async (r) => ({ url: await url(r.key, r.input), role: r.role, label: r.role }))),
      outputs: await Promise.all(stills.map(async (s) => ({ name: s.name, url: await url(s.ref.key, `${stage}-${s.name}`) }))),
    });
    await recordJudgeCall(db(env.DB), { shootId, accountId, stage, attempt: round, outcome });
    return outcome.status === "answered"
      ? { status: outcome.status, findings: outcome.findings.map((f) => ({ ...f, asset: assetOf.get(f.asset) ?? f.asset })) }
      : { status: outcome.status, reason: outcome.reason, findings: [] };
  }
  const flags = verdict.findings.filter((f) => f.verdict === "flag").length;
  return {
    ...measured,
    findings: [...measured.findings, ...verdict.findings],
    flagged: measured.flagged + flags,
    judge: { status: verdict.status, ...(verdict.reason ? { reason: verdict.reason } : {}) },
  };
}

/** One try: a retry would ask (and pay) Claude again, and the measured verdict stands without it. */
const JUDGE_STEP = { retries: { limit: 0, delay: "1 second" }, timeout: "5 minutes" } as const;

/** The flagged findings on one asset, as marks for its next attempt's prompt. */
function flagsOn(quality: Quality | undefined, assetId: string): Mark[] {
  return (quality?.findings ?? []).filter((f: Finding) => f.verdict === "flag" && f.asset === assetId);
}

/** An item a stage made, by its name in reasons (`hero`, `frame-3`) and its current asset, if any. */
export interface GateItem {
  name: string;
  assetId: () => string | undefined;
}

/**
 * One round of a stage's gate: check; under `autoFix`, redo the flagged items once with their
 * findings as marks (only when that fits the budget without asking anyone), count them on the shoot,
 * and check again. `redo` replaces the items it could remake (a failed remake keeps the old one).
 */
export async function gate(
  ctx: RunContext,
  stage: Stage,
  items: GateItem[],
  model: string,
  check: () => Promise<Quality | undefined>,
  redo: (flagged: { name: string; marks: Mark[] }[]) => Promise<void>,
): Promise<Quality | undefined> {
  const quality = await check();
  const flagged = items.flatMap((item) => {
    const id = item.assetId();
    const marks = id ? flagsOn(quality, id) : [];
    return marks.length ? [{ name: item.name, marks }] : [];
  });
  if (!ctx.params.autoFix || !flagged.length) return quality;
  const round = ctx.checkRounds?.[stage] ?? 0;
  if (
    !(await fitsBudget(
      ctx,
      `${stage} auto-fix#${round}`,
      flagged.map(() => model),
    ))
  )
    return quality;
  await redo(flagged);
  await ctx.step.do(`auto-fixed ${stage}#${round}`, DB_STEP, async () => {
    await db(ctx.env.DB)
      .update(schema.shoots)
      .set({ autoFixed: sql`${schema.shoots.autoFixed} + ${flagged.length}` })
      .where(eq(schema.shoots.id, ctx.shootId));
  });
  const again = await check();
  return again && { ...again, autoFixed: flagged.map((f) => f.name) };
}

/** How long the reel should run: each clip's seconds, less the overlaps of a blending transition. */
function reelSeconds(stitch: StitchSettings, clips: number): number | undefined {
  if (!stitch.clipSeconds) return undefined;
  const overlap = stitch.transition && stitch.transition !== "cut" ? RENDER_DEFAULTS.transitionSeconds : 0;
  return clips * stitch.clipSeconds - (clips - 1) * overlap;
}
