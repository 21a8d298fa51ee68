/**
 * Shoots: create (starts a ShootWorkflow instance), list, get (stages, checkpoints, every asset
 * version, costs, timeline), live events (SSE), checkpoint decisions and cancel.
 */
import { $, createRoute, type z } from "@hono/zod-openapi";
import { assetsByIds, assetsForShoot, type AssetRow } from "../db/assets.ts";
import { checkpointsForShoot, pendingCheckpoint, type CheckpointRow } from "../db/checkpoints.ts";
import { db, type Db } from "../db/client.ts";
import { logEvent } from "../db/events.ts";
import { readHistory, restoreAssets, restoreCheckpoints, shootTimeline } from "../history.ts";
import { sseEvent } from "../live/shoot-feed.ts";
import { jobsForShoot } from "../db/jobs.ts";
import { deleteShoot, getShoot, idempotentShootId, insertShoot, listShoots, shootByIdempotencyKey, type ShootRow } from "../db/shoots.ts";
import type { Plan } from "../domain/plan.ts";
import type { CheckpointArtifacts } from "../domain/artifacts.ts";
import { isFinalStatus, type CheckpointStage } from "../domain/contract.ts";
import { ownSettings, gateProblem, resolveParams, type Decision, type ShootParams } from "../domain/shoot.ts";
import { findRecipe } from "../db/recipes.ts";
import { newId } from "../lib/crypto.ts";
import { estimateRemainingUsd } from "../lib/prices.ts";
import { assetUrl } from "../storage/urls.ts";
import { requireApiKey } from "./auth.ts";
import { applyDecision, cancelShoot, checkDecision } from "../review/decisions.ts";
import { router } from "./openapi.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { badRequest, conflict, notFound, Problem } from "./problem.ts";
import * as S from "./schemas.ts";

const tags = ["shoots"];

export const shootsApi = $(router().use(requireApiKey))

  .openapi(
    createRoute({
      method: "post",
      path: "/",
      operationId: "createShoot",
      summary: "Create a shoot",
      description: "Starts the pipeline. With `idempotencyKey`, a repeated request returns the first shoot (200) instead of starting another.",
      tags,
      security: S.bearer,
      request: { body: { required: true, content: { "application/json": { schema: S.CreateShoot } } } },
      responses: {
        201: S.json(S.ShootCreated, "Started"),
        200: S.json(S.ShootCreated, "Replay of an idempotent create: the shoot the key started"),
        ...S.problems(400, 401, 415, 503),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const accountId = c.get("accountId");
      const d = db(c.env.DB);
      if (body.idempotencyKey) {
        const existing = await shootByIdempotencyKey(d, accountId, body.idempotencyKey);
        if (existing) return c.json({ id: existing.id, status: existing.status, stage: existing.stage }, 200);
      }
      const refs = await assetsByIds(d, accountId, body.references);
      const missing = body.references.map((id, i) => ({ id, i })).filter(({ id }) => !refs.some((r) => r.id === id && r.kind === "reference"));
      if (missing.length) throw badRequest(missing.map(({ i }) => ({ field: `references[${i}]`, message: "is not an upload of this account" })));

      const recipe = body.recipe ? await findRecipe(d, accountId, body.recipe) : null;
      if (body.recipe && !recipe) throw badRequest([{ field: "recipe", message: `no recipe "${body.recipe}" in this account` }]);
      const params = resolveParams(
        body,
        [recipe?.settings, ownSettings(body)],
        { checkpointTimeout: c.env.CHECKPOINT_TIMEOUT },
        recipe && { name: recipe.name, version: recipe.version },
      );
      const gate = gateProblem(params);
      if (gate) throw badRequest([{ field: "referenceRoles", message: gate }]);
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
        await deleteShoot(d, id);
        console.error(JSON.stringify({ msg: "workflow create failed", shoot: id, error: String(err) }));
        throw new Problem(503, "Unavailable", "the shoot could not be started; try again");
      }
      await logEvent(d, { shootId: id, accountId, type: "shoot.created", data: { brief: body.brief } });
      return c.json({ id, status: "running" as const, stage: "plan" as const }, 201);
    },
  )

  .openapi(
    createRoute({
      method: "get",
      path: "/",
      operationId: "listShoots",
      summary: "List shoots, newest first",
      tags,
      security: S.bearer,
      request: { query: S.ListQuery },
      responses: { 200: S.json(S.ShootList, "One page of shoots"), ...S.problems(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
      const rows = await listShoots(db(c.env.DB), c.get("accountId"), { ...q, cursor });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return c.json({ shoots: page.map(summary), nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null }, 200);
    },
  )

  .openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      operationId: "getShoot",
      summary: "Get a shoot with stages, checkpoints, assets, costs and timeline",
      tags,
      security: S.bearer,
      request: { params: S.ShootIdParam },
      responses: { 200: S.json(S.Shoot, "The shoot"), ...S.problems(401, 404) },
    }),
    async (c) => {
      const d = db(c.env.DB);
      const { id } = c.req.valid("param");
      const shoot = await getShoot(d, c.get("accountId"), id);
      if (!shoot) throw notFound(`shoot ${id}`);
      return c.json(await detail(c.env, d, shoot, new URL(c.req.url).origin), 200);
    },
  )

  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/events",
      operationId: "streamShootEvents",
      summary: "Live events (Server-Sent Events)",
      description:
        "Each event's `event` is its type, `id` its timeline id and `data` a JSON `ShootEvent`. Resume with Last-Event-ID (or `after`); the stream ends after a final shoot event and after 10 minutes.",
      tags,
      security: S.bearer,
      request: { params: S.ShootIdParam, query: S.EventsQuery, headers: S.EventsHeaders },
      responses: {
        200: { description: "An event stream", content: { "text/event-stream": { schema: S.ShootEvent } } },
        ...S.problems(400, 401, 404),
      },
    }),
    async (c) => {
      const d = db(c.env.DB);
      const { id } = c.req.valid("param");
      const shoot = await getShoot(d, c.get("accountId"), id);
      if (!shoot) throw notFound(`shoot ${id}`);
      const after = Number(c.req.valid("header")["last-event-id"] ?? c.req.valid("query").after ?? 0) || 0;
      if (shoot.compactedAt) {
        // Ended long ago: its timeline is in its archive, sent at once, and the stream ends.
        const text = (await shootTimeline(d, shoot.id, await readHistory(c.env, shoot), after)).map(sseEvent).join("");
        return c.body(text, 200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      }
      // One feed object per shoot serves every tab (src/live/shoot-feed.ts).
      const feed = c.env.SHOOT_FEED.get(c.env.SHOOT_FEED.idFromName(shoot.id));
      const query = new URLSearchParams({ shoot: shoot.id, after: String(after) });
      return feed.fetch(new Request(`http://feed/?${query}`, { signal: c.req.raw.signal })) as unknown as Response;
    },
  )

  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/checkpoints/{stage}/decision",
      operationId: "decideCheckpoint",
      summary: "Approve, revise or cancel the pending checkpoint",
      description: "A duplicate, late or wrong-stage decision is a 409 and changes nothing.",
      tags,
      security: S.bearer,
      request: { params: S.DecisionParams, body: { required: true, content: { "application/json": { schema: S.Decision } } } },
      responses: { 202: S.json(S.DecisionAccepted, "Delivered to the shoot"), ...S.problems(400, 401, 404, 409, 415, 503) },
    }),
    async (c) => {
      const decision = c.req.valid("json");
      const { id, stage } = c.req.valid("param");
      const d = db(c.env.DB);
      const shoot = await getShoot(d, c.get("accountId"), id);
      if (!shoot) throw notFound(`shoot ${id}`);
      if (isFinalStatus(shoot.status)) throw conflict(`the shoot is ${shoot.status}; it takes no more decisions`);
      const pending = await pendingCheckpoint(d, shoot.id);
      if (!pending) throw conflict(`no checkpoint is pending (the shoot is at ${shoot.stage}, ${shoot.status})`);
      if (pending.stage !== stage) throw conflict(`the pending checkpoint is ${pending.stage}, not ${stage}`);
      checkDecision(pending, decision);

      await applyDecision(c.env, d, shoot, pending, decision, c.get("actor"));
      return c.json({ id: shoot.id, stage, attempt: pending.attempt, action: decision.action }, 202);
    },
  )

  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/cancel",
      operationId: "cancelShoot",
      summary: "Cancel a shoot, keeping what it made",
      tags,
      security: S.bearer,
      request: { params: S.ShootIdParam },
      responses: { 202: S.json(S.CancelAccepted, "Cancelled"), ...S.problems(401, 404, 409, 503) },
    }),
    async (c) => {
      const d = db(c.env.DB);
      const { id } = c.req.valid("param");
      const shoot = await getShoot(d, c.get("accountId"), id);
      if (!shoot) throw notFound(`shoot ${id}`);
      if (isFinalStatus(shoot.status)) throw conflict(`the shoot is already ${shoot.status}`);
      await cancelShoot(c.env, d, shoot, c.get("actor"));
      return c.json({ id: shoot.id, status: "cancelled" as const }, 202);
    },
  );

function summary(s: ShootRow): z.infer<typeof S.ShootSummary> {
  const { id, status, stage, brief, flagged, autoFixed, createdAt, updatedAt, completedAt } = s;
  return { id, status, stage, brief, flagged, autoFixed, createdAt, updatedAt, completedAt };
}

/** The shoot as the `Shoot` schema describes it; the rows' JSON columns are typed by what wrote them. */
async function detail(env: Env, d: Db, shoot: ShootRow, origin: string): Promise<z.infer<typeof S.Shoot>> {
  const params = shoot.params as ShootParams;
  const history = await readHistory(env, shoot);
  const [own, refs, cps, jobRows, events] = await Promise.all([
    assetsForShoot(d, shoot.id).then((rows) => restoreAssets(rows, history)),
    assetsByIds(d, shoot.accountId, params.references),
    checkpointsForShoot(d, shoot.id).then((rows) => restoreCheckpoints(rows, history)),
    jobsForShoot(d, shoot.id),
    shootTimeline(d, shoot.id, history),
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
    channel: a.channel,
    sha256: a.sha256,
    provenance: a.provenance,
    createdAt: a.createdAt,
  });
  const checkpoint = (cp: CheckpointRow) => ({
    stage: cp.stage as CheckpointStage,
    attempt: cp.attempt,
    status: cp.status,
    decision: (cp.decision as Decision | null)?.action ?? null,
    feedback: cp.feedback,
    decidedBy: cp.decidedBy,
    decidedAt: cp.decidedAt,
    artifacts: cp.artifacts as CheckpointArtifacts,
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
    plan: (shoot.plan ?? history?.plan ?? null) as Plan | null,
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
    costs: {
      totalUsd: Math.round(lines.reduce((s, r) => s + r.usd, 0) * 10000) / 10000,
      byStage: lines,
      budgetUsd: params.budgetUsd ?? null,
      // What the stages not yet run would cost at list prices, before they run.
      estimatedRemainingUsd: estimateRemainingUsd(env, shoot, jobRows),
    },
    // The event log holds what `logEvent` wrote; the e2e client checks it against the schema.
    timeline: events.map((e) => ({ id: e.id, type: e.type, data: e.data, at: e.createdAt }) as z.infer<typeof S.TimelineEvent>),
  };
}
