/**
 * Shoots: create (starts a ShootWorkflow instance), list, get (stages, checkpoints, every asset
 * version, costs, timeline), live events (SSE), checkpoint decisions and cancel.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { assetsByIds, assetsForShoot, type AssetRow } from "../db/assets.ts";
import { checkpointsForShoot, pendingCheckpoint, reopenCheckpoint, resolveCheckpoint, type CheckpointRow } from "../db/checkpoints.ts";
import { db, schema, type Db } from "../db/client.ts";
import { eventsSince, logEvent } from "../db/events.ts";
import { finishShoot, getShoot, idempotentShootId, insertShoot, listShoots, shootByIdempotencyKey, type ShootRow } from "../db/shoots.ts";
import {
  CreateShootSchema,
  DecisionSchema,
  DEFAULT_REVIEW,
  DEFAULT_STITCH,
  SHOOT_STATUSES,
  STAGES,
  type Decision,
  type ShootParams,
  type Stage,
} from "../domain/shoot.ts";
import { newId } from "../lib/crypto.ts";
import { assetUrl } from "../storage/urls.ts";
import { decisionEventType } from "../workflow/checkpoint.ts";
import { requireApiKey, type AppEnv } from "./auth.ts";
import { badRequest, conflict, fieldErrors, jsonBody, notFound, Problem } from "./problem.ts";
import { eq } from "drizzle-orm";

const FINAL = new Set(["completed", "failed", "cancelled", "expired"]);

export const ListQuerySchema = z.object({
  status: z.enum(SHOOT_STATUSES).optional(),
  stage: z.enum(STAGES).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const shootsApi = new Hono<AppEnv>()
  .use(requireApiKey)

  .post("/", async (c) => {
    const body = await jsonBody(c, CreateShootSchema);
    const accountId = c.get("accountId");
    const d = db(c.env.DB);
    if (body.idempotencyKey) {
      const existing = await shootByIdempotencyKey(d, accountId, body.idempotencyKey);
      if (existing) return c.json({ id: existing.id, status: existing.status, stage: existing.stage }, 200);
    }
    const refs = await assetsByIds(d, accountId, body.references);
    const missing = body.references
      .map((id, i) => ({ id, i }))
      .filter(({ id }) => !refs.some((r) => r.id === id && r.kind === "reference"));
    if (missing.length) throw badRequest(missing.map(({ i }) => ({ field: `references[${i}]`, message: "is not an upload of this account" })));

    const params: ShootParams = {
      references: body.references,
      presets: body.presets ?? {},
      aspectRatio: body.aspectRatio ?? null,
      review: body.review ?? DEFAULT_REVIEW,
      checkpointTimeout: body.checkpointTimeout ?? c.env.CHECKPOINT_TIMEOUT,
      timeoutPolicy: body.timeoutPolicy ?? "expire",
      stitch: { ...DEFAULT_STITCH, ...body.stitch },
    };
    const id = body.idempotencyKey ? await idempotentShootId(accountId, body.idempotencyKey) : newId("sh");
    try {
      await insertShoot(d, { id, accountId, brief: body.brief, params, idempotencyKey: body.idempotencyKey });
    } catch (err) {
      // A concurrent request with the same key got there first.
      const existing = body.idempotencyKey ? await shootByIdempotencyKey(d, accountId, body.idempotencyKey) : null;
      if (existing) return c.json({ id: existing.id, status: existing.status, stage: existing.stage }, 200);
      throw err;
    }
    try {
      await c.env.SHOOT.create({ id, params: { shootId: id, accountId } });
    } catch (err) {
      // Nothing half-created: without its workflow the shoot row must not exist either.
      await d.delete(schema.shoots).where(eq(schema.shoots.id, id));
      console.error(JSON.stringify({ msg: "workflow create failed", shoot: id, error: String(err) }));
      throw new Problem(503, "Unavailable", "the shoot could not be started; try again");
    }
    await logEvent(d, { shootId: id, accountId, type: "shoot.created", data: { brief: body.brief } });
    return c.json({ id, status: "running", stage: "plan" }, 201);
  })

  .get("/", async (c) => {
    const q = ListQuerySchema.safeParse(c.req.query());
    if (!q.success) throw badRequest(fieldErrors(q.error));
    const cursor = q.data.cursor ? decodeCursor(q.data.cursor) : undefined;
    const rows = await listShoots(db(c.env.DB), c.get("accountId"), { ...q.data, cursor });
    const page = rows.slice(0, q.data.limit);
    const last = page[page.length - 1];
    return c.json({
      shoots: page.map(summary),
      nextCursor: rows.length > q.data.limit && last ? encodeCursor(last) : null,
    });
  })

  .get("/:id", async (c) => {
    const d = db(c.env.DB);
    const shoot = await getShoot(d, c.get("accountId"), c.req.param("id"));
    if (!shoot) throw notFound(`shoot ${c.req.param("id")}`);
    return c.json(await detail(c.env, d, shoot, new URL(c.req.url).origin));
  })

  .get("/:id/events", async (c) => {
    const d = db(c.env.DB);
    const shoot = await getShoot(d, c.get("accountId"), c.req.param("id"));
    if (!shoot) throw notFound(`shoot ${c.req.param("id")}`);
    let after = Number(c.req.header("last-event-id") ?? c.req.query("after") ?? 0) || 0;
    return streamSSE(c, async (stream) => {
      const deadline = Date.now() + 10 * 60_000; // clients reconnect with Last-Event-ID
      let idle = 0;
      while (!stream.aborted && Date.now() < deadline) {
        const batch = await eventsSince(d, shoot.id, after);
        for (const e of batch) {
          await stream.writeSSE({ id: String(e.id), event: e.type, data: JSON.stringify({ type: e.type, data: e.data, at: e.createdAt }) });
          after = e.id;
          if (/^shoot\.(completed|failed|cancelled|expired)$/.test(e.type)) return;
        }
        if (batch.length === 0 && ++idle % 15 === 0) await stream.write(": keep-alive\n\n");
        await stream.sleep(1000);
      }
    });
  })

  .post("/:id/checkpoints/:stage/decision", async (c) => {
    const decision = await jsonBody(c, DecisionSchema);
    const d = db(c.env.DB);
    const shoot = await getShoot(d, c.get("accountId"), c.req.param("id"));
    if (!shoot) throw notFound(`shoot ${c.req.param("id")}`);
    const stage = c.req.param("stage");
    if (!(STAGES as readonly string[]).includes(stage)) throw notFound(`checkpoint stage "${stage}"`);
    if (FINAL.has(shoot.status)) throw conflict(`the shoot is ${shoot.status}; it takes no more decisions`);
    const pending = await pendingCheckpoint(d, shoot.id);
    if (!pending) throw conflict(`no checkpoint is pending (the shoot is at ${shoot.stage}, ${shoot.status})`);
    if (pending.stage !== stage) throw conflict(`the pending checkpoint is ${pending.stage}, not ${stage}`);
    checkTargets(stage as Stage, decision, pending);

    const status = ({ approve: "approved", revise: "revised", cancel: "cancelled" } as const)[decision.action];
    if (!(await resolveCheckpoint(d, pending.id, status, decision, c.get("actor")))) {
      throw conflict(`the ${stage} checkpoint was already decided`);
    }
    try {
      const instance = await c.env.SHOOT.get(shoot.id);
      await instance.sendEvent({ type: decisionEventType(stage, pending.attempt), payload: decision });
    } catch (err) {
      await reopenCheckpoint(d, pending.id);
      console.error(JSON.stringify({ msg: "decision not delivered", shoot: shoot.id, error: String(err) }));
      throw new Problem(503, "Unavailable", "the decision could not be delivered to the shoot; nothing changed, try again");
    }
    await logEvent(d, {
      shootId: shoot.id,
      accountId: shoot.accountId,
      type: "checkpoint.resolved",
      data: { stage, attempt: pending.attempt, action: decision.action, by: c.get("actor") },
    });
    return c.json({ id: shoot.id, stage, attempt: pending.attempt, action: decision.action }, 202);
  })

  .post("/:id/cancel", async (c) => {
    const d = db(c.env.DB);
    const shoot = await getShoot(d, c.get("accountId"), c.req.param("id"));
    if (!shoot) throw notFound(`shoot ${c.req.param("id")}`);
    if (FINAL.has(shoot.status)) throw conflict(`the shoot is already ${shoot.status}`);
    const pending = await pendingCheckpoint(d, shoot.id);
    const instance = await c.env.SHOOT.get(shoot.id);
    if (pending && (await resolveCheckpoint(d, pending.id, "cancelled", { action: "cancel" }, c.get("actor")))) {
      // At a checkpoint the workflow ends itself as cancelled, keeping what it made.
      await instance.sendEvent({ type: decisionEventType(pending.stage, pending.attempt), payload: { action: "cancel" } });
    } else {
      await instance.terminate().catch(() => undefined);
      if (await finishShoot(d, shoot.id, "cancelled")) {
        await logEvent(d, { shootId: shoot.id, accountId: shoot.accountId, type: "shoot.cancelled", data: { stage: shoot.stage, by: c.get("actor") } });
      }
    }
    return c.json({ id: shoot.id, status: "cancelled" }, 202);
  });

/** Targets must make sense for the checkpoint they are sent to; nothing is silently ignored. */
export function checkTargets(stage: Stage, d: Decision, pending: CheckpointRow) {
  const allowed: Record<string, Stage[]> = {
    frames: ["frames"],
    split: ["frames"],
    clips: ["clips", "reel"],
    presets: ["plan", "hero"],
    aspectRatio: ["hero", "frames"],
    stitch: ["clips", "reel"],
  };
  const errors = Object.entries(allowed)
    .filter(([field, stages]) => d[field as keyof Decision] !== undefined && !stages.includes(stage))
    .map(([field, stages]) => ({ field, message: `is accepted only at the ${stages.join(" or ")} checkpoint` }));
  if (d.action === "revise" && !d.feedback && !Object.keys(allowed).some((f) => d[f as keyof Decision] !== undefined)) {
    errors.push({ field: "feedback", message: "a revision needs feedback or a target (frames, clips, presets, aspectRatio, stitch, split)" });
  }
  if (d.action !== "revise" && d.action !== "approve" && Object.keys(allowed).some((f) => d[f as keyof Decision] !== undefined)) {
    errors.push({ field: "action", message: "targets go with revise (or stitch settings with approve)" });
  }
  if (d.action === "approve" && Object.keys(allowed).some((f) => f !== "stitch" && d[f as keyof Decision] !== undefined)) {
    errors.push({ field: "action", message: "approve takes no targets other than stitch settings; use revise" });
  }
  if (errors.length) throw badRequest(errors);
  const error = (pending.artifacts as { error?: string } | null)?.error;
  if (d.action === "approve" && error) throw conflict(`the ${stage} stage has no result to approve (${error}); revise or cancel`);
}

function summary(s: ShootRow) {
  return { id: s.id, status: s.status, stage: s.stage, brief: s.brief, createdAt: s.createdAt, updatedAt: s.updatedAt, completedAt: s.completedAt };
}

async function detail(env: Env, d: Db, shoot: ShootRow, origin: string) {
  const params = shoot.params as ShootParams;
  const [own, refs, cps, jobRows, events] = await Promise.all([
    assetsForShoot(d, shoot.id),
    assetsByIds(d, shoot.accountId, params.references),
    checkpointsForShoot(d, shoot.id),
    d.select().from(schema.jobs).where(eq(schema.jobs.shootId, shoot.id)).all(),
    eventsSince(d, shoot.id, 0, 1000),
  ]);
  const asset = async (a: AssetRow) => ({
    id: a.id,
    kind: a.kind,
    stage: a.stage,
    index: a.index,
    version: a.version,
    url: await assetUrl(env, origin, a.id),
    mime: a.mime,
    bytes: a.bytes,
    width: a.width,
    height: a.height,
    duration: a.duration,
    sha256: a.sha256,
    provenance: a.provenance,
    createdAt: a.createdAt,
  });
  const checkpoint = (cp: CheckpointRow) => ({
    stage: cp.stage,
    attempt: cp.attempt,
    status: cp.status,
    decision: (cp.decision as Decision | null)?.action ?? null,
    feedback: cp.feedback,
    decidedBy: cp.decidedBy,
    decidedAt: cp.decidedAt,
    artifacts: cp.artifacts,
    expiresAt: cp.expiresAt,
    createdAt: cp.createdAt,
  });
  const byStage = new Map<string, { stage: string; attempt: number; usd: number; jobs: number }>();
  for (const j of jobRows) {
    const k = `${j.stage}#${j.attempt}`;
    const row = byStage.get(k) ?? { stage: j.stage, attempt: j.attempt, usd: 0, jobs: 0 };
    row.usd += j.costUsd ?? 0;
    row.jobs += 1;
    byStage.set(k, row);
  }
  const lines = [...byStage.values()].map((r) => ({ ...r, usd: Math.round(r.usd * 10000) / 10000 }));
  const pending = cps.find((cp) => cp.status === "pending");
  return {
    ...summary(shoot),
    plan: shoot.plan,
    params,
    error: shoot.error,
    checkpoint: pending ? checkpoint(pending) : null,
    checkpoints: cps.map(checkpoint),
    assets: await Promise.all([...refs, ...own].map(asset)),
    jobs: jobRows.map((j) => ({
      id: j.id,
      type: j.type,
      provider: j.provider,
      model: j.model,
      stage: j.stage,
      attempt: j.attempt,
      status: j.status,
      dispatches: j.dispatches,
      costUsd: j.costUsd,
      error: j.error,
      createdAt: j.createdAt,
      submittedAt: j.submittedAt,
      completedAt: j.completedAt,
    })),
    costs: { totalUsd: Math.round(lines.reduce((s, r) => s + r.usd, 0) * 10000) / 10000, byStage: lines },
    timeline: events.map((e) => ({ id: e.id, type: e.type, data: e.data, at: e.createdAt })),
  };
}

function encodeCursor(s: ShootRow): string {
  return btoa(`${s.createdAt}|${s.id}`).replace(/=+$/, "");
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = atob(cursor).split("|");
    if (createdAt && id) return { createdAt, id };
  } catch {
    /* fall through */
  }
  throw badRequest([{ field: "cursor", message: "is not a cursor this API returned" }]);
}
