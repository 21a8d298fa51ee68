/**
 * Every event written to a shoot's timeline is checked against its schema (src/domain/events.ts)
 * before it is stored: a writer that drops or mistypes a field fails loudly, and nothing is written.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { db, schema } from "../../src/db/client.ts";
import { logEvent } from "../../src/db/events.ts";
import type { EventData } from "../../src/domain/events.ts";
import { eq } from "drizzle-orm";

const rowsOf = (shootId: string) => db(env.DB).select().from(schema.events).where(eq(schema.events.shootId, shootId)).all();

describe("the event log", () => {
  it("stores an event whose payload fits its schema", async () => {
    const shootId = `sh_${crypto.randomUUID()}`;
    await logEvent(db(env.DB), { shootId, accountId: "ac_test", type: "asset.stored", data: { asset: "as_1", kind: "hero", index: 0, version: 2 } });
    expect((await rowsOf(shootId)).map((r) => [r.type, r.data])).toEqual([["asset.stored", { asset: "as_1", kind: "hero", index: 0, version: 2 }]]);
  });

  it("refuses an event whose payload fails its schema, naming the field, and writes nothing", async () => {
    const shootId = `sh_${crypto.randomUUID()}`;
    const d = db(env.DB);
    // A kind no asset has, and a checkpoint event without its attempt: both bugs in the writer.
    const badKind = { asset: "as_1", kind: "sketch", version: 1 } as unknown as EventData<"asset.stored">;
    await expect(logEvent(d, { shootId, accountId: "ac_test", type: "asset.stored", data: badKind })).rejects.toThrow(
      /asset\.stored has an invalid payload \(kind: /,
    );
    const noAttempt = { stage: "hero", expiresAt: new Date().toISOString() } as unknown as EventData<"checkpoint.pending">;
    await expect(logEvent(d, { shootId, accountId: "ac_test", type: "checkpoint.pending", data: noAttempt })).rejects.toThrow(
      /checkpoint\.pending has an invalid payload \(attempt: /,
    );
    expect(await rowsOf(shootId)).toEqual([]);
  });
});
