/**
 * Review links: a keyed user creates a signed link for one checkpoint attempt; whoever holds it can see
 * that checkpoint's artifacts and approve or revise it once, under their own name, with no API key.
 */
import { $, createRoute } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { assetsForShoot, type AssetRow } from "../db/assets.ts";
import { pendingCheckpoint } from "../db/checkpoints.ts";
import { db, schema } from "../db/client.ts";
import { getShoot, getShootById } from "../db/shoots.ts";
import type { Stage } from "../domain/contract.ts";
import { durationMs } from "../lib/duration.ts";
import { DEFAULT_LINK_TTL, signReviewLink, verifyReviewLink, type ReviewClaim } from "../review/links.ts";
import { assetUrl } from "../storage/urls.ts";
import { requireApiKey } from "./auth.ts";
import { applyDecision, checkDecision } from "../review/decisions.ts";
import { router } from "./openapi.ts";
import { badRequest, conflict, notFound, Problem } from "./problem.ts";
import * as S from "./schemas.ts";

const MAX_LINK_TTL_MS = 30 * 86_400_000;
const tags = ["review links"];

/** `POST /api/shoots/:id/checkpoints/:stage/links`, mounted beside the shoots router. */
export const reviewLinks = $(router().use(requireApiKey)).openapi(
  createRoute({
    method: "post",
    path: "/{id}/checkpoints/{stage}/links",
    operationId: "createReviewLink",
    summary: "A signed review link for the pending checkpoint: one decision, expiring",
    tags,
    security: S.bearer,
    request: { params: S.DecisionParams, body: { required: false, content: { "application/json": { schema: S.CreateReviewLink } } } },
    responses: { 201: S.json(S.ReviewLink, "The link"), ...S.problems(400, 401, 404, 409) },
  }),
  async (c) => {
    const { id, stage } = c.req.valid("param");
    const body = c.req.valid("json") ?? {};
    const ttl = durationMs(body.expiresIn ?? DEFAULT_LINK_TTL);
    if (ttl > MAX_LINK_TTL_MS) throw badRequest([{ field: "expiresIn", message: "must be at most 30 days" }]);
    const d = db(c.env.DB);
    const shoot = await getShoot(d, c.get("accountId"), id);
    if (!shoot) throw notFound(`shoot ${id}`);
    const pending = await pendingCheckpoint(d, shoot.id);
    if (!pending || pending.stage !== stage) throw conflict(`the ${stage} checkpoint is not waiting for review`);
    const exp = Math.floor((Date.now() + ttl) / 1000);
    const token = await signReviewLink(c.env, { sh: shoot.id, ac: shoot.accountId, st: stage, at: pending.attempt, exp });
    const origin = new URL(c.req.url).origin;
    return c.json({ url: `${origin}/review/${token}`, expiresAt: new Date(exp * 1000).toISOString(), stage, attempt: pending.attempt }, 201);
  },
);

/** `GET`/`POST /api/review/:token`: public, the token is the credential. */
export const review = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/{token}",
      operationId: "getReview",
      summary: "A review link's checkpoint and its artifacts (no key: the token is the credential)",
      tags,
      security: S.publicRoute,
      request: { params: S.ReviewTokenParam },
      responses: { 200: S.json(S.ReviewPage, "What the reviewer decides on"), ...S.problems(403, 410) },
    }),
    async (c) => {
      const { claim, shoot, checkpoint } = await openLink(c.env, c.req.valid("param").token);
      const d = db(c.env.DB);
      const origin = new URL(c.req.url).origin;
      const shown = relevantAssets(claim.st as Stage, await assetsForShoot(d, shoot.id));
      return c.json(
        {
          shoot: { id: shoot.id, brief: shoot.brief, status: shoot.status, stage: shoot.stage },
          checkpoint: {
            stage: checkpoint.stage as Stage,
            attempt: checkpoint.attempt,
            status: checkpoint.status,
            artifacts: checkpoint.artifacts as { assets: string[] },
            expiresAt: checkpoint.expiresAt,
            createdAt: checkpoint.createdAt,
          },
          assets: await Promise.all(
            shown.map(async (a) => ({
              id: a.id,
              kind: a.kind,
              stage: a.stage,
              index: a.index,
              version: a.version,
              url: await assetUrl(c.env, origin, a.id, 3600),
              mime: a.mime,
              bytes: a.bytes,
              width: a.width,
              height: a.height,
              duration: a.duration,
              channel: a.channel,
              createdAt: a.createdAt,
            })),
          ),
          linkExpiresAt: new Date(claim.exp * 1000).toISOString(),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{token}",
      operationId: "decideReview",
      summary: "Approve or revise the link's checkpoint, under the reviewer's name (once)",
      tags,
      security: S.publicRoute,
      request: { params: S.ReviewTokenParam, body: { required: true, content: { "application/json": { schema: S.ReviewDecision } } } },
      responses: { 202: S.json(S.ReviewDecisionAccepted, "Delivered to the shoot"), ...S.problems(400, 403, 409, 410, 415, 503) },
    }),
    async (c) => {
      const { reviewer, ...decision } = c.req.valid("json");
      const { shoot, checkpoint } = await openLink(c.env, c.req.valid("param").token);
      checkDecision(checkpoint, decision);
      const by = `review:${reviewer}`;
      await applyDecision(c.env, db(c.env.DB), shoot, checkpoint, decision, by, { reviewer, via: "review-link" });
      return c.json({ id: shoot.id, stage: checkpoint.stage as Stage, attempt: checkpoint.attempt, action: decision.action, reviewer }, 202);
    },
  );

/** A link is usable only while its exact checkpoint attempt is pending; otherwise a clear 4xx. */
async function openLink(env: Env, token: string) {
  const check = await verifyReviewLink(env, token);
  if (!check.ok && check.reason === "invalid")
    throw new Problem(403, "Invalid review link", "this review link is not valid (it may have been altered); ask for a new one");
  if (!check.ok)
    throw new Problem(410, "Review link expired", `this review link expired at ${new Date(check.claim!.exp * 1000).toISOString()}; ask for a new one`);
  const claim: ReviewClaim = check.claim;
  const d = db(env.DB);
  const shoot = await getShootById(d, claim.sh);
  if (!shoot || shoot.accountId !== claim.ac) throw new Problem(403, "Invalid review link", "this review link is not valid; ask for a new one");
  const cp = await d
    .select()
    .from(schema.checkpoints)
    .where(and(eq(schema.checkpoints.shootId, shoot.id), eq(schema.checkpoints.stage, claim.st), eq(schema.checkpoints.attempt, claim.at)))
    .get();
  if (!cp) throw new Problem(403, "Invalid review link", "this review link is not valid; ask for a new one");
  if (cp.status !== "pending") {
    const who = cp.decidedBy?.replace(/^review:/, "") ?? "someone";
    throw new Problem(
      410,
      "Review link used",
      `this checkpoint was already decided (${cp.status} by ${who} at ${cp.decidedAt ?? "an earlier time"}); the link takes no more decisions`,
    );
  }
  return { claim, shoot, checkpoint: cp };
}

/** The assets a reviewer of this stage needs: its outputs (every version) and what they are judged against. */
function relevantAssets(stage: Stage, all: AssetRow[]): AssetRow[] {
  const kinds: Record<Stage, string[]> = {
    plan: ["plan"],
    hero: ["hero"],
    "contact-sheet": ["contact-sheet", "hero"],
    frames: ["frame", "contact-sheet"],
    clips: ["clip", "frame"],
    reel: ["reel", "poster"],
  };
  return all.filter((a) => kinds[stage].includes(a.kind));
}
