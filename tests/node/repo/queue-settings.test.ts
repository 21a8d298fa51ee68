/**
 * The submission consumer's settings in wrangler.jsonc are derived from the Workflows creation limit
 * (src/batches/admission.ts): its pacing assumes max_concurrency consumers, and a delivery must fit
 * one createBatch call (at most 100 instances).
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonc } from "../../../common/jsonc.ts";
import { BATCH_CREATIONS_PER_SECOND, SUBMISSION_CONSUMERS, WORKFLOW_CREATIONS_PER_SECOND } from "../../../src/batches/admission.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");

describe("the submission queue's consumer settings", () => {
  it("run as many consumers as the pacing assumes, each delivery one createBatch, within the creation limit", () => {
    const config = readJsonc(path.join(ROOT, "wrangler.jsonc")) as {
      queues: { consumers: { queue: string; max_concurrency?: number; max_batch_size?: number }[] };
    };
    const consumer = config.queues.consumers.find((c) => c.queue === "atelier-submissions");
    expect(consumer?.max_concurrency).toBe(SUBMISSION_CONSUMERS);
    expect(consumer?.max_batch_size).toBeLessThanOrEqual(100);
    expect(BATCH_CREATIONS_PER_SECOND).toBeLessThanOrEqual(WORKFLOW_CREATIONS_PER_SECOND);
  });
});
