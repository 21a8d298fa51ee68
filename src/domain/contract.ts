/**
 * The contract: every list of stages, statuses and kinds that the database, the API, the workflow,
 * the UI (through the OpenAPI document), the scripts and the tests share. Nothing else spells one
 * out; `tests/node/repo/contract-lists.test.ts` fails when a literal copy appears elsewhere.
 */

/** The pipeline's stages, in order. */
export const STAGES = ["plan", "hero", "contact-sheet", "frames", "clips", "reel"] as const;
export type Stage = (typeof STAGES)[number];

/** Checkpoints are the stages plus `budget`, where a shoot about to pass its cost cap waits. */
export const CHECKPOINT_STAGES = [...STAGES, "budget"] as const;
export type CheckpointStage = (typeof CHECKPOINT_STAGES)[number];

/** The stages that make an output a quality check measures (all but the plan). */
export const MAKING_STAGES = STAGES.filter((s): s is Exclude<Stage, "plan"> => s !== "plan");

/** Checkpoints a human reviews unless the shoot's review policy says otherwise. */
export const DEFAULT_REVIEW: Stage[] = [...MAKING_STAGES];

/**
 * How a reviewed checkpoint waits: `always` (every stage in `review` waits for a person) or `flagged`
 * (a stage in `review` waits only when a quality check flagged something, or could not run).
 */
export const REVIEW_POLICIES = ["always", "flagged"] as const;
export type ReviewPolicy = (typeof REVIEW_POLICIES)[number];

/** A shoot that has ended takes no more decisions and runs nothing. */
export const FINAL_SHOOT_STATUSES = ["completed", "failed", "cancelled", "expired"] as const;
export type FinalShootStatus = (typeof FINAL_SHOOT_STATUSES)[number];
/** A live shoot is working (`running`) or waiting at a checkpoint (`awaiting_review`). */
export const LIVE_SHOOT_STATUSES = ["running", "awaiting_review"] as const;
export const SHOOT_STATUSES = [...LIVE_SHOOT_STATUSES, ...FINAL_SHOOT_STATUSES] as const;
export type ShootStatus = (typeof SHOOT_STATUSES)[number];
export const isFinalStatus = (s: string): s is FinalShootStatus => (FINAL_SHOOT_STATUSES as readonly string[]).includes(s);

export const DECISION_ACTIONS = ["approve", "revise", "cancel"] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];
/** What ended a checkpoint: a decision, or its timeout under the expire policy. */
export const RESOLUTIONS = [...DECISION_ACTIONS, "expire"] as const;
export const TIMEOUT_POLICIES = ["expire", "approve"] as const;
export type TimeoutPolicy = (typeof TIMEOUT_POLICIES)[number];

/** A checkpoint row's state: waiting, one per decision action, timed out, or approved by the review policy. */
export const CHECKPOINT_STATUSES = ["pending", "approved", "revised", "cancelled", "expired", "auto_approved"] as const;
export type CheckpointStatus = (typeof CHECKPOINT_STATUSES)[number];
/** The checkpoint status each decision action leaves. */
export const DECIDED_STATUS = { approve: "approved", revise: "revised", cancel: "cancelled" } as const satisfies Record<DecisionAction, CheckpointStatus>;

/** One checkpoint per stage and attempt: its row id. */
export const checkpointId = (shootId: string, stage: CheckpointStage, attempt: number) => `${shootId}-${stage}-${attempt}`;

/** `pack`: a file of a channel pack (its channel on the row; index 0 the reel or hero, n frame n). */
export const ASSET_KINDS = ["reference", "plan", "hero", "contact-sheet", "frame", "clip", "reel", "poster", "pack"] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

/** A provider generation, a media-service job, or a vision-judge call (costed, never awaited). */
export const JOB_TYPES = ["provider", "media", "judge"] as const;
export type JobType = (typeof JOB_TYPES)[number];
/** pending → submitting (intent recorded, provider being called) → submitted → succeeded | failed. */
export const JOB_STATUSES = ["pending", "submitting", "submitted", "succeeded", "failed"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A batch row: not placed yet, its workflow instance exists, or the queue gave up on it. */
/** A row is queued, placed (`created`: its shoot exists), given up by the queue (`dead`), or held back by the batch budget (`held`). */
export const BATCH_ROW_STATES = ["queued", "created", "dead", "held"] as const;
export type BatchRowState = (typeof BATCH_ROW_STATES)[number];
export const BATCH_STATUSES = ["open", "completed"] as const;
/** An outbound webhook delivery: still being tried, delivered, or given up. */
export const DELIVERY_STATUSES = ["pending", "succeeded", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Six frames from the contact sheet's 2 × 3 grid; five clips between them, a sixth closes the loop. */
export const FRAME_COUNT = 6;
export const CLIP_COUNT = FRAME_COUNT - 1;
export const LOOP_CLIP = FRAME_COUNT;
export const SHEET_GRID = { rows: 2, cols: 3 } as const;

/** A channel pack (issue 20): being made, every file stored, or failed (the error says why). */
export const PACK_STATUSES = ["running", "ready", "failed"] as const;
export type PackStatus = (typeof PACK_STATUSES)[number];
