/**
 * Every event a shoot's timeline holds, with the schema of its payload. `logEvent` validates what it
 * writes against these (a payload that fails is a bug, refused before it is stored), and the API's
 * `ShootEvent` component is built from them. Payloads are loose objects: a writer may add detail
 * (the timeline shows it), but never drop or mistype a field listed here.
 */
import { z } from "zod";
import { ASSET_KINDS, CHECKPOINT_STAGES, isFinalStatus, RESOLUTIONS, STAGES } from "./contract.ts";

const job = z.string();

export const EVENTS = {
  "shoot.created": { payload: z.looseObject({ brief: z.string() }), description: "The shoot was accepted" },
  "stage.started": { payload: z.looseObject({ stage: z.enum(STAGES) }), description: "A stage began work" },
  "job.submitted": {
    payload: z.looseObject({ job, provider: z.string(), stage: z.string() }),
    description: "A provider or media job was submitted",
  },
  "job.queued": {
    payload: z.looseObject({ job, pool: z.string(), ahead: z.number().int(), waiting: z.string() }),
    description: 'A provider job waits for a slot in its provider\'s pool (`waiting`: "queued at Kling, 12 ahead")',
  },
  "job.resumed": {
    payload: z.looseObject({ job, startedAt: z.string().optional() }),
    description: "The workflow took up a provider job's outcome and released its slot",
  },
  "job.completed": { payload: z.looseObject({ job, provider: z.string() }), description: "A job finished with a result" },
  "job.failed": { payload: z.looseObject({ job, provider: z.string(), error: z.string() }), description: "A job failed" },
  "job.recovered": {
    payload: z.looseObject({ job, provider: z.string() }),
    description: "A submitted request whose answer was lost was recovered from the provider's webhook",
  },
  "job.duplicate": {
    payload: z.looseObject({ job, duplicate: z.string() }),
    description: "A second provider request for one job was recorded: its cost counts, its output is discarded",
  },
  "asset.stored": {
    payload: z.looseObject({ asset: z.string(), kind: z.enum(ASSET_KINDS), index: z.number().int().optional(), version: z.number().int() }),
    description: "A new asset version was stored",
  },
  "check.judged": {
    payload: z.looseObject({
      stage: z.string(),
      attempt: z.number().int(),
      job,
      status: z.enum(["answered", "refused", "invalid", "timeout", "error"]),
      reason: z.string().optional(),
      flagged: z.number().int().min(0),
      costUsd: z.number(),
    }),
    description:
      "The vision judge reviewed a stage's outputs (`answered`, with `flagged` findings) or gave no usable review (`refused`, `invalid`, `timeout`, `error`, with its `reason`; the measured verdict stands)",
  },
  "checkpoint.pending": {
    payload: z.looseObject({ stage: z.enum(CHECKPOINT_STAGES), attempt: z.number().int(), expiresAt: z.string() }),
    description: "A checkpoint waits for a decision",
  },
  "checkpoint.resolved": {
    payload: z.looseObject({ stage: z.enum(CHECKPOINT_STAGES), attempt: z.number().int(), action: z.enum(RESOLUTIONS), by: z.string() }),
    description: "A checkpoint was decided, by a key, the review policy or its timeout",
  },
  "check.completed": {
    payload: z.looseObject({ stage: z.enum(STAGES), round: z.number().int(), flagged: z.number().int(), findings: z.number().int() }),
    description: "The quality checks measured a stage's outputs: how many findings, how many flag (`error` when they could not run)",
  },
  "pack.started": {
    payload: z.looseObject({ pack: z.string(), version: z.number().int(), channels: z.array(z.string()) }),
    description: "A channel pack is being made (the deliver stage after the reel's approval, or a request for a completed shoot)",
  },
  "pack.ready": {
    payload: z.looseObject({ pack: z.string(), version: z.number().int(), files: z.number().int() }),
    description: "Every file of a channel pack is stored",
  },
  "pack.failed": {
    payload: z.looseObject({ pack: z.string(), version: z.number().int(), error: z.string() }),
    description: "A channel pack could not be made; the shoot's approved outputs are untouched",
  },
  "shoot.completed": {
    // Empty from the workflow; the watchdog says `by: "recovery"` when it finished a row whose instance had ended.
    payload: z.looseObject({ by: z.string().optional() }).nullable(),
    description: "The reel was approved; the shoot is done",
  },
  "shoot.failed": { payload: z.looseObject({ error: z.string().optional(), stage: z.string().optional() }), description: "The shoot failed" },
  "shoot.cancelled": { payload: z.looseObject({ stage: z.string(), by: z.string().optional() }), description: "The shoot was cancelled" },
  "shoot.expired": { payload: z.looseObject({ stage: z.string() }), description: "A checkpoint timed out under the expire policy" },
  "shoot.woken": {
    payload: z.looseObject({ stage: z.string(), idleSeconds: z.number().int(), instance: z.string() }),
    description: "The watchdog found the shoot stranded (running, nothing pending, idle past STRANDED_AFTER) and woke its workflow",
  },
} as const satisfies Record<string, { payload: z.ZodType; description: string }>;

export type EventType = keyof typeof EVENTS;
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];
/** The events that end a shoot's timeline: `shoot.<final status>`. */
export const isFinalEvent = (type: string) => type.startsWith("shoot.") && isFinalStatus(type.slice("shoot.".length));
export type EventData<T extends EventType> = z.input<(typeof EVENTS)[T]["payload"]>;

/** A timeline entry as a writer hands it over: the type decides the payload's shape. */
export interface ShootEventInput<T extends EventType = EventType> {
  shootId: string;
  accountId: string;
  type: T;
  data: EventData<T>;
}

/** The payload as stored, or an error naming the event and the offending fields. */
export function checkEventData(type: EventType, data: unknown): unknown {
  const parsed = EVENTS[type]?.payload.safeParse(data);
  if (!parsed) throw new Error(`unknown event type ${type}`);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".") || "data"}: ${i.message}`).join("; ");
    throw new Error(`event ${type} has an invalid payload (${fields})`);
  }
  return data;
}
