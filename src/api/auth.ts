/** Bearer API keys: each request is bound to one account, and every query below filters by it. */
import { createMiddleware } from "hono/factory";
import { accountForKey, touchKey } from "../db/accounts.ts";
import { db } from "../db/client.ts";
import { enforceRateLimit } from "../security/rate-limit.ts";
import type { AppEnv } from "./app-env.ts";
import { Problem } from "./problem.ts";

// Its own module, so src/security can name it without importing this one (no cycle).
export type { AppEnv } from "./app-env.ts";

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new Problem(401, "Unauthorized", "send Authorization: Bearer <api key>");
  const d = db(c.env.DB);
  const found = await accountForKey(d, match[1]);
  if (!found) throw new Problem(401, "Unauthorized", "the API key is not valid, has been revoked or has expired");
  await enforceRateLimit(c, found.keyId);
  if (!found.lastUsedAt || Date.parse(found.lastUsedAt) < Date.now() - 60_000) {
    const touch = touchKey(d, found.keyId).catch(() => undefined);
    try {
      c.executionCtx.waitUntil(touch);
    } catch {
      await touch; // no execution context (a direct app.request in a script)
    }
  }
  c.set("accountId", found.accountId);
  c.set("actor", `key:${found.keyId}`);
  await next();
});
