/**
 * The API contract: every request and response shape as a zod schema, each named as an OpenAPI
 * component. Routes validate with these, handlers are type-checked against them, and
 * `/api/openapi.json` (and so `openapi.gen.ts`) is generated from them. A new route adds its shapes
 * here and declares itself with `createRoute` using `json`, `problems` and `bearer` below.
 */
import { z } from "@hono/zod-openapi";
import { PlanSchema } from "../domain/plan.ts";
import {
  ASSET_KINDS,
  CHECKPOINT_STAGES,
  CHECKPOINT_STATUSES,
  DECISION_ACTIONS,
  FINAL_SHOOT_STATUSES,
  JOB_STATUSES,
  JOB_TYPES,
  SHOOT_STATUSES,
  STAGES,
} from "../domain/contract.ts";
import { StageArtifacts } from "../domain/artifacts.ts";
import { FindingSchema, MarkSchema, QualitySchema } from "../domain/findings.ts";
import { EVENT_TYPES, EVENTS, type EventType } from "../domain/events.ts";
import { CreateShootFields, DecisionSchema, rolesIssue, rolesMatch, DurationSchema, PresetsSchema, ShootParamsSchema, StitchSchema } from "../domain/shoot.ts";
import { EASING_NAMES } from "../../common/easing.ts";

// --- helpers for route declarations ---

/** Operations that need `Authorization: Bearer <api key>`. */
export const bearer = [{ bearer: [] }];
/** Public operations: health, the document itself, provider callbacks (verified by other means). */
export const publicRoute: { [name: string]: string[] }[] = [];

export const json = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

// --- errors ---

export const FieldError = z
  .object({
    field: z.string().openapi({ description: "The offending field: `brief`, `references[1]`, `stitch.fps`, `limit`, `files[0]`", example: "references[0]" }),
    message: z.string(),
  })
  .openapi("FieldError");

export const Problem = z
  .object({
    type: z.string().openapi({ example: "about:blank" }),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    errors: z.array(FieldError).optional().openapi({ description: "Present on validation problems: one entry per offending field" }),
    rows: z
      .array(z.object({ index: z.int(), sku: z.string().nullable(), brief: z.string(), references: z.array(z.string()) }))
      .optional()
      .openapi({ description: "A refused batch: its rows as the service read them (references as written), so each error can be shown beside its row" }),
  })
  .openapi("Problem", { description: "RFC 9457 problem details" });

const PROBLEM_TEXT = {
  400: "Invalid request: `errors` names each offending field",
  401: "Missing or invalid credentials",
  403: "Not allowed",
  404: "Not found (another account's resources are indistinguishable from missing ones)",
  409: "Conflicts with the resource's current state; nothing changed",
  410: "Gone: the review link expired or its checkpoint was already decided; nothing changed",
  413: "Too large: the body, or a file in it, passes a size limit; nothing was created",
  415: "Unsupported media type",
  416: "Range not satisfiable",
  500: "Something went wrong on our side; nothing was changed",
  503: "Temporarily unavailable; nothing changed, try again",
} as const;
type ProblemStatus = keyof typeof PROBLEM_TEXT;
type ProblemResponse = { description: string; content: { "application/problem+json": { schema: typeof Problem } } };

/** The problem+json responses an operation can give, by status; any operation can also fail with a 500. */
export function problems<const C extends readonly Exclude<ProblemStatus, 500>[]>(...codes: C): { [K in C[number] | 500]: ProblemResponse } {
  const all: ProblemStatus[] = [...codes, 500];
  return Object.fromEntries(
    all.map((c): [ProblemStatus, ProblemResponse] => [c, { description: PROBLEM_TEXT[c], content: { "application/problem+json": { schema: Problem } } }]),
  ) as { [K in C[number] | 500]: ProblemResponse };
}

// --- shared enums and settings ---

export const Stage = z.enum(STAGES).openapi("Stage");
/** A checkpoint is at one of the stages, or at `budget`, where a shoot about to pass its cost cap waits. */
export const CheckpointStage = z.enum(CHECKPOINT_STAGES).openapi("CheckpointStage");
export const ShootStatus = z.enum(SHOOT_STATUSES).openapi("ShootStatus");
/** The statuses a shoot ends in (the UI stops its live stream on them). */
export const FinalShootStatus = z.enum(FINAL_SHOOT_STATUSES).openapi("FinalShootStatus");
export const CheckpointStatus = z.enum(CHECKPOINT_STATUSES).openapi("CheckpointStatus");
export const DecisionAction = z.enum(DECISION_ACTIONS).openapi("DecisionAction");
export const AssetKind = z.enum(ASSET_KINDS).openapi("AssetKind");
export const EasingName = z.enum(EASING_NAMES as [string, ...string[]]).openapi("EasingName");
export const Presets = PresetsSchema.openapi("Presets");
export const StitchSettings = StitchSchema.openapi("StitchSettings", {
  description: "Reel settings; omitted fields keep their current value (defaults: dramaticSwoop, 1.5 s, 60 fps, no loop, cut)",
});
/** The settings a shoot runs with: every field present. */
export const ResolvedStitchSettings = StitchSchema.required().openapi("ResolvedStitchSettings");

// --- requests ---

// The domain schemas, with their nested shapes swapped for the named components (same rules).
export const CreateShoot = CreateShootFields.extend({
  presets: Presets.optional(),
  stitch: StitchSettings.optional(),
  review: z.array(Stage).max(STAGES.length).optional().openapi({ description: "Stages a human reviews; the others approve themselves" }),
})
  .refine(rolesMatch, rolesIssue)
  .openapi("CreateShoot");
export const Mark = MarkSchema.openapi("Mark", {
  description: "A place on an output (a box on a still, in fractions of its size, or a moment of a clip or reel, in seconds) and what is wrong or to do there",
});
export const Finding = FindingSchema.openapi("Finding", {
  description: "A quality check's measurement of one output: a mark with the check, pass or flag, the score and the threshold it was held to",
});
export const Quality = QualitySchema.extend({ findings: z.array(Finding) }).openapi("Quality", {
  description: "The quality gate's findings on a checkpoint's outputs (`asset` is the asset id)",
});
export const Decision = DecisionSchema.extend({
  presets: Presets.optional(),
  stitch: StitchSettings.optional(),
  marks: z.array(Mark).min(1).max(20).optional(),
}).openapi("Decision");

export const ShootIdParam = z.object({
  id: z.string().min(1).max(64).openapi({ description: "Shoot id", example: "sh_3f9c2a" }),
});
export const DecisionParams = ShootIdParam.extend({
  stage: CheckpointStage.openapi({ description: "The checkpoint's stage; it must be the pending one" }),
});
export const ListQuery = z.object({
  status: ShootStatus.optional(),
  stage: Stage.optional(),
  flagged: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({ description: "`true`: only shoots whose latest quality check flagged something; `false`: only the others" }),
  cursor: z.string().max(200).optional().openapi({ description: "`nextCursor` of the previous page" }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export const EventsQuery = z.object({
  after: z.coerce.number().int().min(0).optional().openapi({ type: "integer", description: "Replay events after this id (as Last-Event-ID)" }),
});
export const EventsHeaders = z.object({
  "last-event-id": z.string().max(20).optional().openapi({ description: "Resume after this event id (sent by EventSource on reconnect)" }),
});

// --- responses ---

export const Health = z.object({ ok: z.boolean(), checks: z.object({ database: z.enum(["ok", "unavailable"]) }) }).openapi("Health");

export const Upload = z
  .object({
    id: z.string(),
    url: z.url().openapi({ description: "Signed, expiring URL of the bytes" }),
    mime: z.string(),
    bytes: z.number().int(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
  })
  .openapi("Upload");
export const UploadList = z.object({ uploads: z.array(Upload) }).openapi("UploadList");

export const Asset = z
  .object({
    id: z.string(),
    kind: AssetKind,
    stage: z.string().nullable(),
    index: z.number().int().min(0),
    version: z.number().int().min(1),
    url: z.url().openapi({ description: "Signed, expiring URL of the bytes" }),
    mime: z.string(),
    bytes: z.number().int().min(0),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    duration: z.number().nullable().openapi({ description: "Seconds, for clips and reels" }),
    channel: z.string().nullable().openapi({ description: "A pack file's channel (kind `pack`); null for every other kind" }),
    sha256: z.string(),
    provenance: z.unknown().openapi({ description: "How the asset was made: model, prompt, seed, inputs, job id, settings" }),
    createdAt: z.string(),
  })
  .openapi("Asset");

// Every stage's fields (src/domain/artifacts.ts), all optional but `assets`: a client reads the
// fields of the checkpoint's own stage.
const { frames, clips, reel, budget } = StageArtifacts;
export const CheckpointArtifacts = z
  .looseObject({ ...frames.shape, ...clips.shape, ...reel.shape, ...budget.shape })
  .partial()
  .required({ assets: true })
  .extend({
    failed: frames.shape.failed.openapi({ description: "Items whose latest try failed, with the reason; revise them to try again" }),
    clips: reel.shape.clips.openapi({ description: "Clips and reel checkpoints: each clip's asset, or the provider's error" }),
    budget: budget.shape.budget
      .optional()
      .openapi({ description: "Budget checkpoint: spend so far, the next step's cost, the cap, and the cap needed to go on" }),
    stitch: ResolvedStitchSettings.optional(),
    quality: Quality.optional(),
  })
  .openapi("CheckpointArtifacts", { description: "What the checkpoint shows its reviewer; which fields are present depends on its stage" });

export const Checkpoint = z
  .object({
    stage: CheckpointStage,
    attempt: z.number().int().min(1),
    status: CheckpointStatus,
    decision: DecisionAction.nullable(),
    feedback: z.string().nullable(),
    decidedBy: z.string().nullable(),
    decidedAt: z.string().nullable(),
    artifacts: CheckpointArtifacts,
    expiresAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("Checkpoint");

export const Job = z
  .object({
    id: z.string(),
    type: z.enum(JOB_TYPES),
    provider: z.string(),
    model: z.string().nullable(),
    stage: z.string(),
    attempt: z.number().int(),
    status: z.enum(JOB_STATUSES),
    duplicateOf: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: "Set on a second provider request for one job: its cost counts, its output is discarded" }),
    dispatches: z.number().int(),
    costUsd: z.number().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    submittedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
  })
  .openapi("Job");

export const CostLine = z.object({ stage: z.string(), attempt: z.number().int(), usd: z.number(), jobs: z.number().int() }).openapi("CostLine");
export const Costs = z
  .object({
    totalUsd: z.number(),
    byStage: z.array(CostLine),
    budgetUsd: z.number().nullable().openapi({ description: "The shoot's cost cap, or null" }),
    estimatedRemainingUsd: z.number().openapi({ description: "What the stages not yet run would cost at list prices" }),
  })
  .openapi("Costs");

// --- events: the SSE stream's payloads; the timeline is the same events with their ids ---

/** `shoot.created` → `ShootCreatedEvent`: each event's component name. */
const componentName = (type: string) => `${type.replace(/(^|[._-])(\w)/g, (_, __, c: string) => c.toUpperCase())}Event`;
const eventOf = <T extends EventType>(type: T) =>
  z.object({ type: z.literal(type), data: EVENTS[type].payload, at: z.string() }).openapi(componentName(type), { description: EVENTS[type].description });

// A plain union (each member's `type` is a literal, so exactly one matches): a `discriminator`
// would make openapi-typescript type TimelineEvent's `type` as "TimelineEvent".
export const ShootEvent = z.union(EVENT_TYPES.map(eventOf) as unknown as [ReturnType<typeof eventOf>, ...ReturnType<typeof eventOf>[]]).openapi("ShootEvent", {
  description: "One Server-Sent Event's `data` (JSON); the SSE `event` field is its `type` and `id` its timeline id",
});

export const TimelineEvent = z.intersection(z.object({ id: z.number().int() }), ShootEvent).openapi("TimelineEvent");

// --- shoots ---

export const ShootSummary = z
  .object({
    id: z.string(),
    status: ShootStatus,
    stage: Stage,
    brief: z.string(),
    flagged: z.number().int().openapi({ description: "Flags the latest quality check found (0: it passed, or nothing was checked yet)" }),
    autoFixed: z.number().int().openapi({ description: "Items regenerated automatically because a check flagged them" }),
    createdAt: z.string(),
    updatedAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi("ShootSummary");
export const ShootList = z.object({ shoots: z.array(ShootSummary), nextCursor: z.string().nullable() }).openapi("ShootList");

export const ShootParams = ShootParamsSchema.extend({
  presets: Presets,
  review: z.array(Stage),
  stitch: ResolvedStitchSettings,
  budgetUsd: z.number().nullable().optional().openapi({ description: "The shoot's cost cap in USD, or null for none" }),
}).openapi("ShootParams");

export const Plan = PlanSchema.openapi("Plan");

// `X.nullable()` of a named schema would make the component itself nullable; a union keeps it a $ref.
const orNull = <S extends z.ZodType>(schema: S) => z.union([schema, z.null()]);

export const Shoot = ShootSummary.extend({
  plan: orNull(Plan).openapi({ description: "Null until the plan stage has run" }),
  params: ShootParams,
  error: z.string().nullable(),
  checkpoint: orNull(Checkpoint).openapi({ description: "The pending checkpoint, if any" }),
  checkpoints: z.array(Checkpoint),
  assets: z.array(Asset).openapi({ description: "References, then every version of every asset the shoot made" }),
  jobs: z.array(Job),
  costs: Costs,
  timeline: z.array(TimelineEvent),
}).openapi("Shoot");

export const ShootCreated = z.object({ id: z.string(), status: ShootStatus, stage: Stage }).openapi("ShootCreated");
export const DecisionAccepted = z
  .object({ id: z.string(), stage: CheckpointStage, attempt: z.number().int(), action: DecisionAction })
  .openapi("DecisionAccepted");
export const CancelAccepted = z.object({ id: z.string(), status: z.literal("cancelled") }).openapi("CancelAccepted");

// --- provider callbacks ---

export const WebhookAck = z
  .object({
    ok: z.literal(true),
    applied: z.boolean().optional(),
    notified: z.boolean().optional(),
    ignored: z.string().optional(),
    duplicate: z.boolean().optional(),
  })
  .openapi("WebhookAck", {
    description:
      "Received; `applied` says whether it finished the job (a duplicate does not); `notified` that an unsigned callback woke the workflow, which reads the outcome from the provider; `duplicate` that a second provider request for one job was recorded",
  });

// --- review links, archive, presets ---

export const CreateReviewLink = z
  .object({
    expiresIn: DurationSchema.optional().openapi({
      description: 'How long the link works, e.g. "72 hours" (the default), at most 30 days',
      example: "72 hours",
    }),
  })
  .strict()
  .openapi("CreateReviewLink");
export const ReviewLink = z
  .object({
    url: z.url().openapi({ description: "The review page; the token in it is the only credential" }),
    expiresAt: z.string(),
    stage: CheckpointStage,
    attempt: z.number().int().min(1),
  })
  .openapi("ReviewLink", { description: "A signed link for one checkpoint attempt, good for one decision" });
export const ReviewTokenParam = z.object({ token: z.string().min(1).max(2000).openapi({ description: "The token from a review link's URL" }) });
export const ReviewAsset = Asset.omit({ sha256: true, provenance: true }).openapi("ReviewAsset");
export const ReviewPage = z
  .object({
    shoot: z.object({ id: z.string(), brief: z.string(), status: ShootStatus, stage: Stage }),
    checkpoint: Checkpoint.pick({ stage: true, attempt: true, status: true, artifacts: true, expiresAt: true, createdAt: true }),
    assets: z.array(ReviewAsset).openapi({ description: "The checkpoint's outputs (every version) and what they are judged against" }),
    linkExpiresAt: z.string(),
  })
  .openapi("ReviewPage");
export const ReviewDecision = DecisionSchema.pick({ feedback: true, frames: true, clips: true, marks: true })
  .extend({
    action: z.enum(["approve", "revise"]),
    stitch: StitchSettings.optional(),
    reviewer: z.string().trim().min(1, "give your name; it is recorded with the decision").max(100).openapi({ description: "Recorded as the decider" }),
  })
  .strict()
  .openapi("ReviewDecision");
export const ReviewDecisionAccepted = DecisionAccepted.extend({ reviewer: z.string() }).openapi("ReviewDecisionAccepted");

const PresetOption = z.object({ id: z.string(), description: z.string() }).openapi("PresetOption");
export const PresetOptions = z
  .object({
    poses: z.array(PresetOption),
    backgrounds: z.array(PresetOption),
    styles: z.array(PresetOption),
    defaults: z.object({ pose: z.string(), background: z.string(), style: z.string() }),
    aspectRatios: z.array(z.string()),
    stages: z.array(Stage),
    defaultReview: z.array(Stage),
    finalStatuses: z.array(FinalShootStatus).openapi({ description: "The statuses a shoot ends in (a live view stops following it there)" }),
    easings: z.array(z.string()),
    bezierPresets: z.record(z.string(), z.tuple([z.number(), z.number(), z.number(), z.number()])),
    defaultStitch: ResolvedStitchSettings,
  })
  .openapi("PresetOptions", { description: "What a client offers in its pickers" });
