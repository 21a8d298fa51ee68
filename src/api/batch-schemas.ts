/**
 * The batches and outbound-webhook parts of the API contract, as named OpenAPI components (the
 * same conventions as schemas.ts; kept in their own module so the two grow independently).
 */
import { z } from "@hono/zod-openapi";
import { CreateBatchSchema } from "../batches/spec.ts";
import { BATCH_STATUSES, DELIVERY_STATUSES, STAGES } from "../domain/contract.ts";
import { WEBHOOK_EVENTS } from "../notify/events.ts";
import { CreateShoot, Presets, Stage } from "./schemas.ts";

// --- batches ---

export const CreateBatch = CreateBatchSchema.extend({
  shoots: CreateBatchSchema.shape.shoots.openapi({
    type: "array",
    items: { $ref: "#/components/schemas/CreateShoot" },
    description: "1–500 shoot specs, each validated like POST /api/shoots; errors name `shoots[i].field`",
  }),
  review: z
    .array(Stage)
    .max(STAGES.length)
    .optional()
    .openapi({ description: 'The stages a human reviews in every shoot unless a row says otherwise: `[]` for none, `["reel"]` for the reel only' }),
  presets: Presets.optional().openapi({ description: "Presets for every row; a row's own presets override them" }),
  recipe: CreateBatchSchema.shape.recipe.openapi({
    description: "A recipe (`name` or `name@version`) for every row; a row's own recipe and fields override it",
  }),
  budgetUsd: CreateBatchSchema.shape.budgetUsd.openapi({
    description: "The batch budget (USD): no new shoot is placed once spent plus committed (each running shoot's quote) would pass it",
  }),
  dryRun: CreateBatchSchema.shape.dryRun.openapi({ description: "Answer the quote (`BatchQuote`) and create nothing" }),
}).openapi("CreateBatch");
// Referenced by CreateBatch.shoots (rows are validated one by one, so errors can name the row).
void CreateShoot;

export const BatchIdParam = z.object({ id: z.string().min(1).max(64).openapi({ description: "Batch id", example: "ba_4e1f0c" }) });
export const BatchListQuery = z.object({
  cursor: z.string().max(200).optional().openapi({ description: "`nextCursor` of the previous page" }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export const BatchRetry = z
  .object({
    shoots: z
      .array(z.string().min(1).max(64))
      .min(1)
      .max(500)
      .optional()
      .openapi({ description: "Only these shoot ids (default: every dead or held row and failed shoot)" }),
    budgetUsd: z
      .number()
      .positive()
      .max(1_000_000)
      .optional()
      .openapi({ description: "A new batch budget, set before held rows are queued again (they are placed while they fit)" }),
  })
  .strict()
  .openapi("BatchRetry");

export const BatchAccepted = z
  .object({
    id: z.string(),
    status: z.literal("open"),
    total: z.number().int(),
    quoteUsd: z.number().openapi({ description: "What the batch is expected to cost (the dry run's `totalUsd`)" }),
    shoots: z.array(z.object({ index: z.number().int(), sku: z.string().nullable(), id: z.string(), idempotencyKey: z.string() })),
  })
  .openapi("BatchAccepted");

export const ResolvedReference = z
  .object({
    ref: z.string().openapi({ description: "As the row wrote it: a photo's file name, a URL or an upload id" }),
    source: z.enum(["file", "zip", "url", "upload"]),
    assetId: z.string().openapi({ description: "The reference asset it is (the same photo is always the same asset)" }),
    sha256: z.string().nullable().openapi({ description: "Of the photo as received" }),
  })
  .openapi("ResolvedReference");

export const BatchQuote = z
  .object({
    dryRun: z.literal(true),
    total: z.number().int(),
    totalUsd: z
      .number()
      .openapi({ description: "Expected cost of every row, at list price, with person-reviewed stages counted 1 + QUOTE_REVISION_RATE times" }),
    budgetUsd: z.number().nullable(),
    withinBudget: z.boolean(),
    placeable: z.number().int().openapi({ description: "How many rows, in order, fit within the batch budget" }),
    recipe: z.string().nullable().openapi({ description: "The batch's recipe as `name@version`" }),
    photos: z.object({ used: z.number().int(), unused: z.array(z.string()).openapi({ description: "Photos sent that no row names" }) }),
    rows: z.array(
      z.object({
        index: z.number().int(),
        sku: z.string().nullable(),
        brief: z.string(),
        recipe: z.string().nullable(),
        review: z.array(z.string()),
        costUsd: z.number(),
        references: z.array(ResolvedReference),
      }),
    ),
  })
  .openapi("BatchQuote");

const RowState = z.string().openapi({
  description: "`queued` (not placed yet), `dead` (the queue gave up), `held` (the batch budget would be passed), or the shoot's status once placed",
});
export const BatchStatus = z
  .object({
    id: z.string(),
    status: z.enum(BATCH_STATUSES),
    total: z.number().int(),
    review: z.array(z.string()).nullable(),
    presets: z.record(z.string(), z.unknown()).nullable(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
    counts: z.object({
      byState: z.record(z.string(), z.number().int()),
      byStage: z.record(z.string(), z.record(z.string(), z.number().int())).openapi({ description: "Placed shoots per stage, by state" }),
      flagged: z.number().int().openapi({ description: "Shoots whose latest quality check flagged something" }),
      autoFixed: z.number().int().openapi({ description: "Items regenerated automatically because a check flagged them, over every shoot" }),
    }),
    costUsd: z.number(),
    recipe: z.string().nullable(),
    budget: z
      .object({
        capUsd: z.number(),
        spentUsd: z.number(),
        committedUsd: z.number().openapi({ description: "Spent, plus the rest of each running shoot's quote" }),
        held: z.number().int().openapi({ description: "Rows not placed because they would pass the cap" }),
        stopped: z.boolean(),
      })
      .nullable()
      .openapi({ description: "The batch budget, when one was set" }),
    shoots: z.array(
      z.object({
        index: z.number().int(),
        sku: z.string().nullable(),
        quoteUsd: z.number(),
        id: z.string(),
        idempotencyKey: z.string(),
        state: RowState,
        stage: z.string().nullable(),
        attempt: z.number().int(),
        error: z.string().nullable(),
        waiting: z.string().nullable().openapi({
          description:
            'What a shoot waits for: a provider slot ("queued at Kling, 12 ahead"), or, for a queued row, capacity to create its instance ("waiting for creation capacity (...)")',
        }),
        flagged: z.number().int().openapi({ description: "Flags the shoot's latest quality check found" }),
        autoFixed: z.number().int().openapi({ description: "Items of the shoot regenerated because a check flagged them" }),
        previousShootIds: z.array(z.string()),
      }),
    ),
    failures: z.array(z.object({ index: z.number().int(), shootId: z.string(), state: z.string(), reason: z.string().nullable(), retry: z.string() })),
  })
  .openapi("BatchStatus");

export const BatchList = z
  .object({
    batches: z.array(
      z.object({
        id: z.string(),
        status: z.enum(BATCH_STATUSES),
        total: z.number().int(),
        createdAt: z.string(),
        completedAt: z.string().nullable(),
        counts: z.record(z.string(), z.number().int()),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .openapi("BatchList");

export const BatchReportQuery = z.object({
  format: z.enum(["csv", "json"]).default("json").openapi({ description: "`csv` streams a spreadsheet (UTF-8 with BOM); `json` answers `BatchReport`" }),
});
export const BatchReport = z
  .object({
    id: z.string(),
    urlsExpireAt: z.string().openapi({ description: "When the signed URLs in this report stop working" }),
    rows: z.array(
      z.object({
        sku: z.string().nullable(),
        row: z.number().int(),
        shootId: z.string(),
        state: RowState,
        stage: z.string().nullable(),
        costUsd: z.number(),
        quoteUsd: z.number(),
        flags: z.array(z.string()).openapi({ description: "What the shoot's latest quality check flagged, as `stage: reason`" }),
        error: z.string().nullable(),
        hero: z.string().nullable().openapi({ description: "Signed URL of the approved hero" }),
        frames: z.array(z.string().nullable()).openapi({ description: "Signed URLs of the six approved frames" }),
        reel: z.string().nullable().openapi({ description: "Signed URL of the approved reel" }),
      }),
    ),
  })
  .openapi("BatchReport");

export const BatchRetried = z.object({ retried: z.array(z.object({ index: z.number().int(), shootId: z.string() })) }).openapi("BatchRetried");

// --- outbound webhook endpoints ---

export const WebhookEventType = z.enum(WEBHOOK_EVENTS).openapi("WebhookEventType");

export const CreateWebhookEndpoint = z
  .object({
    url: z.string().url().max(2000).openapi({ description: "https URL that receives POSTs signed in the Standard Webhooks format" }),
    events: z.array(WebhookEventType).min(1).max(WEBHOOK_EVENTS.length).optional().openapi({ description: "Default: every event" }),
    description: z.string().max(200).optional(),
  })
  .strict()
  .openapi("CreateWebhookEndpoint");

export const RotateWebhookSecret = z
  .object({
    overlap: z
      .string()
      .regex(/^\d+ (second|minute|hour|day)s?$/, 'must look like "30 minutes" or "1 day"')
      .optional()
      .openapi({ description: 'How long the current secret keeps signing next to the new one (default "24 hours"; "0 seconds" ends it now)' }),
  })
  .strict()
  .openapi("RotateWebhookSecret");

export const WebhookEndpointIdParam = z.object({ id: z.string().min(1).max(64).openapi({ description: "Webhook endpoint id", example: "we_91ab" }) });
export const DeliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export const WebhookEndpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    status: z.enum(["active", "disabled"]),
    disabledReason: z.string().nullable(),
    signingSecrets: z
      .array(z.object({ id: z.string(), createdAt: z.string(), expiresAt: z.string().nullable() }))
      .openapi({ description: "The secrets signing now (never their values)" }),
    createdAt: z.string(),
  })
  .openapi("WebhookEndpoint");

export const WebhookEndpointCreated = WebhookEndpoint.extend({
  secret: z.string().openapi({ description: "`whsec_…`: shown once, verify deliveries with it (e.g. the `standardwebhooks` package)" }),
}).openapi("WebhookEndpointCreated");

export const WebhookEndpointList = z.object({ endpoints: z.array(WebhookEndpoint) }).openapi("WebhookEndpointList");
export const WebhookSecretRotated = z.object({ id: z.string(), secret: z.string(), previousExpiresAt: z.string() }).openapi("WebhookSecretRotated");

export const WebhookDelivery = z
  .object({
    id: z.string(),
    eventId: z.string().openapi({ description: "The `webhook-id` header, the same on every attempt" }),
    type: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    payload: z.unknown(),
    attemptLog: z.array(
      z.object({ attempt: z.number().int(), status: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number().int(), at: z.string() }),
    ),
  })
  .openapi("WebhookDelivery");

export const WebhookDeliveryList = z.object({ deliveries: z.array(WebhookDelivery) }).openapi("WebhookDeliveryList");
