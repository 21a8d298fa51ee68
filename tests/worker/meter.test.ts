/** The bench:scale counters (src/meter.ts) count what the real bindings did, and nothing when off. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { db, schema } from "../../src/db/client.ts";
import { metered, meterSnapshot } from "../../src/meter.ts";
import { eq } from "drizzle-orm";
import { newAccount } from "./helpers.ts";

describe("resource meter", () => {
  it("counts D1 statements and rows, R2 operations by class, and Durable Object requests", async () => {
    const { accountId } = await newAccount();
    meterSnapshot(true);
    const m = metered({ ...env, METER: "true" });
    const d = db(m.DB);
    const id = `sh_meter_${crypto.randomUUID().slice(0, 8)}`;
    await d.insert(schema.shoots).values({ id, accountId, brief: "b", params: {}, status: "running", stage: "plan" });
    const rows = await d.select().from(schema.shoots).where(eq(schema.shoots.id, id)).all();
    expect(rows).toHaveLength(1);
    await m.DB.batch([m.DB.prepare("UPDATE shoots SET stage = 'hero' WHERE id = ?1").bind(id), m.DB.prepare("SELECT 1")]);
    await m.BUCKET.put(`meter/${id}`, "x");
    await m.BUCKET.head(`meter/${id}`);
    await (await m.BUCKET.get(`meter/${id}`))?.text();
    await m.BUCKET.delete(`meter/${id}`);
    const pool = m.PROVIDER_POOL.get(m.PROVIDER_POOL.idFromName(`meter-${id}`));
    await pool.snapshot();
    const c = meterSnapshot(true);
    expect(c.d1Statements).toBe(4);
    expect(c.d1RowsWritten).toBeGreaterThanOrEqual(2); // the insert and the update (indexes count too)
    expect(c.d1RowsRead).toBeGreaterThanOrEqual(1);
    expect({ a: c.r2ClassA, b: c.r2ClassB, del: c.r2Deletes }).toEqual({ a: 1, b: 2, del: 1 });
    expect(c.doRequests).toEqual({ PROVIDER_POOL: 1 });
  });

  it("is off unless METER is true", async () => {
    meterSnapshot(true);
    const m = metered(env);
    expect(m).toBe(env);
    await m.BUCKET.put("meter/off", "x");
    expect(meterSnapshot().r2ClassA).toBe(0);
  });
});
