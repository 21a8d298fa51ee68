/**
 * Issue 21: the live stream's D1 reads per shoot do not grow with the number of open tabs. Five tabs
 * follow one shoot; each gets every event, in order, and ends with the final one, while the shoot's
 * feed object reads D1 about once a second for all of them.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { db, schema } from "../../src/db/client.ts";
import { logEvent } from "../../src/db/events.ts";
import { call, newAccount } from "./helpers.ts";

const TABS = 5;

async function readUntilEnd(res: Response): Promise<string[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  return [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
}

describe("live events", () => {
  it("serve every open tab of a shoot from one D1 read a second", async () => {
    const { accountId, apiKey } = await newAccount();
    const shootId = `sh_feed_${crypto.randomUUID().slice(0, 8)}`;
    const d = db(env.DB);
    await d.insert(schema.shoots).values({ id: shootId, accountId, brief: "linen suit, dusk", params: {}, status: "running", stage: "plan" });
    await logEvent(d, { shootId, accountId, type: "shoot.created", data: { brief: "linen suit, dusk" } });

    const started = Date.now();
    const tabs = await Promise.all(Array.from({ length: TABS }, () => call(`/api/shoots/${shootId}/events`, { key: apiKey })));
    for (const t of tabs) expect(t.headers.get("content-type")).toContain("text/event-stream");
    const seen = tabs.map(readUntilEnd);

    await new Promise((r) => setTimeout(r, 1500));
    await logEvent(d, { shootId, accountId, type: "stage.started", data: { stage: "hero" } });
    await new Promise((r) => setTimeout(r, 1500));
    await logEvent(d, { shootId, accountId, type: "shoot.completed", data: null });

    // Every tab got the same events, and its stream ended with the final one.
    for (const types of await Promise.all(seen)) expect(types).toEqual(["shoot.created", "stage.started", "shoot.completed"]);
    const seconds = (Date.now() - started) / 1000;
    const stats = await env.SHOOT_FEED.get(env.SHOOT_FEED.idFromName(shootId)).stats();
    expect(stats.listeners).toBe(0);
    // One read a second for all tabs (a loop per tab would have made TABS × as many).
    expect(stats.reads).toBeGreaterThanOrEqual(2);
    expect(stats.reads).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    console.log(JSON.stringify({ tabs: TABS, seconds, reads: stats.reads }));
  });

  it("is the account's own: another account's key gets 404 and opens no stream", async () => {
    const owner = await newAccount();
    const other = await newAccount("another studio");
    const shootId = `sh_feed_${crypto.randomUUID().slice(0, 8)}`;
    await db(env.DB).insert(schema.shoots).values({ id: shootId, accountId: owner.accountId, brief: "b", params: {}, status: "running", stage: "plan" });
    const res = await call(`/api/shoots/${shootId}/events`, { key: other.apiKey });
    expect(res.status).toBe(404);
    expect((await env.SHOOT_FEED.get(env.SHOOT_FEED.idFromName(shootId)).stats()).reads).toBe(0);
  });
});
