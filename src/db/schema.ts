/** D1 schema (drizzle). Every row that holds customer data carries its account id. */
import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import {
  ASSET_KINDS,
  BATCH_ROW_STATES,
  BATCH_STATUSES,
  CHECKPOINT_STATUSES,
  DELIVERY_STATUSES,
  FINAL_SHOOT_STATUSES,
  JOB_STATUSES,
  JOB_TYPES,
  PACK_STATUSES,
  SHOOT_STATUSES,
  STAGES,
  TIMEOUT_POLICIES,
} from "../domain/contract.ts";
import type { JobResult } from "../domain/jobs.ts";
import { sqlList } from "../lib/sql.ts";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

export const accounts = sqliteTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  webhookUrl: text("webhook_url"),
  createdAt: text("created_at").notNull().default(now),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name").notNull(),
    /** sha256 hex of the key; the key itself is shown once and never stored. */
    keyHash: text("key_hash").notNull(),
    /** The key's first characters, shown in listings so a person can tell keys apart. */
    prefix: text("prefix").notNull(),
    createdAt: text("created_at").notNull().default(now),
    /** After this instant the key is refused; null: no expiry. */
    expiresAt: text("expires_at"),
    /** Updated at most once a minute per key, so a busy key does not write on every request. */
    lastUsedAt: text("last_used_at"),
    revokedAt: text("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.keyHash)],
);

export const shoots = sqliteTable(
  "shoots",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    status: text("status", { enum: SHOOT_STATUSES }).notNull(),
    stage: text("stage", { enum: STAGES }).notNull(),
    brief: text("brief").notNull(),
    /** ShootParams: references, presets, aspect ratio, review policy, timeouts, stitch settings. */
    params: text("params", { mode: "json" }).notNull(),
    plan: text("plan", { mode: "json" }),
    idempotencyKey: text("idempotency_key"),
    batchId: text("batch_id"),
    error: text("error"),
    /** Flags the latest quality check found on the shoot's outputs (0 once a new attempt passes). */
    flagged: integer("flagged").notNull().default(0),
    /** Items regenerated automatically because a check flagged them (`autoFix`). */
    autoFixed: integer("auto_fixed").notNull().default(0),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    completedAt: text("completed_at"),
    /** When its events and job payloads moved to its history archive in R2 (src/history.ts). */
    compactedAt: text("compacted_at"),
  },
  (t) => [
    index("shoots_account_created").on(t.accountId, t.createdAt),
    uniqueIndex("shoots_idempotency").on(t.accountId, t.idempotencyKey),
    // The shoot list's "flagged" filter.
    index("shoots_account_flagged").on(t.accountId, t.flagged),
    // The shoot list's status filter, newest first.
    index("shoots_account_status_created").on(t.accountId, t.status, t.createdAt),
    // Recovery (src/recovery.ts): running shoots idle since before a time, oldest first.
    index("shoots_status_updated").on(t.status, t.updatedAt),
    // Retention (src/retention.ts): ended shoots by when they ended.
    index("shoots_status_ended").on(t.status, sql`coalesce(${t.completedAt}, ${t.updatedAt})`),
    // Compaction (src/history.ts): ended shoots not yet compacted, by when they ended. Partial, so
    // the shoots compacted long ago are never read again.
    index("shoots_compact_due")
      .on(sql`coalesce(${t.completedAt}, ${t.updatedAt})`)
      .where(sql`${t.compactedAt} IS NULL AND ${t.status} IN (${sql.raw(sqlList(FINAL_SHOOT_STATUSES))})`),
  ],
);

export const checkpoints = sqliteTable(
  "checkpoints",
  {
    id: text("id").primaryKey(),
    shootId: text("shoot_id")
      .notNull()
      .references(() => shoots.id),
    stage: text("stage").notNull(),
    attempt: integer("attempt").notNull(),
    status: text("status", { enum: CHECKPOINT_STATUSES }).notNull(),
    /** The decision body as received (action, feedback, targets, settings). */
    decision: text("decision", { mode: "json" }),
    feedback: text("feedback"),
    decidedBy: text("decided_by"),
    decidedAt: text("decided_at"),
    /** Asset ids shown to the reviewer, plus stage details such as detected frame boxes. */
    artifacts: text("artifacts", { mode: "json" }).notNull(),
    timeoutPolicy: text("timeout_policy", { enum: TIMEOUT_POLICIES }).notNull(),
    expiresAt: text("expires_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("checkpoints_stage_attempt").on(t.shootId, t.stage, t.attempt)],
);

export const assets = sqliteTable(
  "assets",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    /** Null for uploaded references, which several shoots may use. */
    shootId: text("shoot_id"),
    kind: text("kind", { enum: ASSET_KINDS }).notNull(),
    stage: text("stage"),
    index: integer("index").notNull().default(0),
    version: integer("version").notNull().default(1),
    r2Key: text("r2_key").notNull(),
    bytes: integer("bytes").notNull(),
    mime: text("mime").notNull(),
    sha256: text("sha256").notNull(),
    width: integer("width"),
    height: integer("height"),
    duration: real("duration"),
    /** A pack file's channel (src/domain/channels.ts); null for every other kind. */
    channel: text("channel"),
    /** Model, prompt, seed, inputs, job id: how this asset was made. */
    provenance: text("provenance", { mode: "json" }),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("assets_r2_key").on(t.r2Key), index("assets_shoot").on(t.shootId, t.kind, t.index, t.version)],
);

/** Channel packs (issue 20): one row per pack of a shoot, numbered; its files are `pack` assets of that version. */
export const packs = sqliteTable(
  "packs",
  {
    /** Also the id of its DeliverWorkflow instance and of its media job. */
    id: text("id").primaryKey(),
    shootId: text("shoot_id")
      .notNull()
      .references(() => shoots.id),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    version: integer("version").notNull(),
    status: text("status", { enum: PACK_STATUSES }).notNull(),
    /** The channel specs the pack was asked for, resolved. */
    channels: text("channels", { mode: "json" }).notNull(),
    error: text("error"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("packs_shoot_version").on(t.shootId, t.version)],
);

export const jobs = sqliteTable(
  "jobs",
  {
    /** Deterministic: `<shootId>-<stage>-<index>-<attempt>`, so a retried step finds its job. */
    id: text("id").primaryKey(),
    shootId: text("shoot_id").notNull(),
    accountId: text("account_id").notNull(),
    type: text("type", { enum: JOB_TYPES }).notNull(),
    provider: text("provider").notNull(),
    model: text("model"),
    stage: text("stage").notNull(),
    attempt: integer("attempt").notNull().default(1),
    externalId: text("external_id"),
    status: text("status", { enum: JOB_STATUSES }).notNull(),
    /** Set on a row that records a duplicate provider request: its cost counts, its output never does. */
    duplicateOf: text("duplicate_of"),
    dispatches: integer("dispatches").notNull().default(0),
    costUsd: real("cost_usd"),
    request: text("request", { mode: "json" }),
    result: text("result", { mode: "json" }).$type<JobResult>(),
    error: text("error"),
    createdAt: text("created_at").notNull().default(now),
    submittedAt: text("submitted_at"),
    completedAt: text("completed_at"),
  },
  (t) => [
    index("jobs_external").on(t.provider, t.externalId),
    index("jobs_shoot").on(t.shootId),
    // The watchdog (src/watchdog.ts): jobs of a type still submitted since before a time.
    index("jobs_waiting").on(t.status, t.type, t.submittedAt),
  ],
);

/** Append-only log: the shoot timeline and the SSE stream read it. */
export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    shootId: text("shoot_id").notNull(),
    accountId: text("account_id").notNull(),
    type: text("type").notNull(),
    data: text("data", { mode: "json" }),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("events_shoot").on(t.shootId, t.id)],
);

/** What retention removed (src/retention.ts): one row per shoot or upload, kept after the data is gone. */
export const retentionLog = sqliteTable(
  "retention_log",
  {
    /** The shoot or upload id: a deletion interrupted by a crash is finished by the next run. */
    subject: text("subject").primaryKey(),
    accountId: text("account_id").notNull(),
    kind: text("kind", { enum: ["shoot", "upload"] }).notNull(),
    reason: text("reason").notNull(),
    objects: integer("objects").notNull().default(0),
    bytes: integer("bytes").notNull().default(0),
    rows: integer("rows").notNull().default(0),
    startedAt: text("started_at").notNull().default(now),
    finishedAt: text("finished_at"),
  },
  (t) => [index("retention_log_account").on(t.accountId, t.startedAt)],
);

/** A submitted batch; its id is derived from the idempotency key (given, or from the rows). */
export const batches = sqliteTable(
  "batches",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    idempotencyKey: text("idempotency_key").notNull(),
    /** The batch-level review policy and presets the rows were built from (rows may override them). */
    review: text("review", { mode: "json" }),
    presets: text("presets", { mode: "json" }),
    total: integer("total").notNull(),
    /** The batch budget (USD): rows are placed while spent plus committed stays within it. Null: no cap. */
    budgetUsd: real("budget_usd"),
    /** The recipe named for the whole batch (`name@version`), if any. */
    recipe: text("recipe"),
    status: text("status", { enum: BATCH_STATUSES }).notNull().default("open"),
    createdAt: text("created_at").notNull().default(now),
    completedAt: text("completed_at"),
  },
  (t) => [index("batches_account_created").on(t.accountId, t.createdAt)],
);

/**
 * One row per submitted shoot spec, written before anything is queued: D1 is the record of every
 * row, the submission queue only carries `{ batchId, index }`, so a lost message loses nothing.
 */
export const batchRows = sqliteTable(
  "batch_rows",
  {
    batchId: text("batch_id").notNull(),
    index: integer("idx").notNull(),
    accountId: text("account_id").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    /** Derived from the key (and the retry attempt), so placing the row twice finds the same shoot. */
    shootId: text("shoot_id").notNull(),
    attempt: integer("attempt").notNull().default(1),
    brief: text("brief").notNull(),
    params: text("params", { mode: "json" }).notNull(),
    /** The row's SKU as the studio's sheet names it (reports are keyed by it). */
    sku: text("sku"),
    /** What the row is expected to cost (the quote); placing it commits this much of the batch budget. */
    quoteUsd: real("quote_usd").notNull().default(0),
    /** 1 once the batch budget let the row be placed (its quote counts as committed from then on). */
    admitted: integer("admitted").notNull().default(0),
    state: text("state", { enum: BATCH_ROW_STATES }).notNull().default("queued"),
    tries: integer("tries").notNull().default(0),
    error: text("error"),
    /**
     * The final status of the row's current shoot, written when it ends (src/lifecycle.ts): the
     * batch's state follows it even after retention has deleted the shoot's own row.
     */
    outcome: text("outcome", { enum: FINAL_SHOOT_STATUSES }),
    /** Earlier shoot ids of this row (a retried failed shoot gets a new one). */
    history: text("history", { mode: "json" }),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("batch_rows_pk").on(t.batchId, t.index),
    index("batch_rows_shoot").on(t.shootId),
    index("batch_rows_state").on(t.state, t.updatedAt),
    // The next queued rows of a batch, placed as its running shoots end (src/lifecycle.ts).
    index("batch_rows_batch_state").on(t.batchId, t.state, t.index),
    // An account's parked rows, sent by the sweep as far as it has room (src/batches/submissions.ts).
    index("batch_rows_account_state").on(t.accountId, t.state, t.updatedAt),
  ],
);

/**
 * Named, versioned settings of an account (presets, review, aspect, stitch, budget per shoot). A
 * change is a new version; shoots record the version they used in their params.
 */
export const recipes = sqliteTable(
  "recipes",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name").notNull(),
    version: integer("version").notNull(),
    settings: text("settings", { mode: "json" }).notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("recipes_pk").on(t.accountId, t.name, t.version)],
);

/** Outbound webhook endpoints of an account. Secrets are stored encrypted (AES-GCM under SIGNING_SECRET). */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    url: text("url").notNull(),
    description: text("description"),
    /** Event types it receives. */
    events: text("events", { mode: "json" }).notNull(),
    /** [{ id, enc, createdAt, expiresAt }]: the newest signs, older ones too until they expire (rotation). */
    secrets: text("secrets", { mode: "json" }).notNull(),
    disabledAt: text("disabled_at"),
    disabledReason: text("disabled_reason"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("webhook_endpoints_account").on(t.accountId)],
);

/** One message to one endpoint; its id is the `webhook-id` on every attempt. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id").notNull(),
    accountId: text("account_id").notNull(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    /** The exact JSON body sent (and signed) on every attempt. */
    payload: text("payload").notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    nextAttemptAt: text("next_attempt_at"),
    deliveredAt: text("delivered_at"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event").on(t.endpointId, t.eventId),
    index("webhook_deliveries_endpoint").on(t.endpointId, t.createdAt),
    index("webhook_deliveries_pending").on(t.status, t.nextAttemptAt),
  ],
);

/** Each HTTP attempt of a delivery: the delivery log an account reads. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: text("delivery_id").notNull(),
    attempt: integer("attempt").notNull(),
    /** HTTP status, or null when the endpoint did not answer. */
    status: integer("status"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("webhook_attempts_delivery").on(t.deliveryId, t.attempt)],
);
