/** Bearer API keys: each request is bound to one account, and every query below filters by it. */
import { createMiddleware } from "hono/factory";
import { accountForKey } from "../db/accounts.ts";
import { db } from "../db/client.ts";
import { Problem } from "./problem.ts";

export type AppEnv = { Bindings: Env; Variables: { accountId: string; actor: string } };

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new Problem(401, "Unauthorized", "send Authorization: Bearer <api key>");
  const found = await accountForKey(db(c.env.DB), match[1]);
  if (!found) throw new Problem(401, "Unauthorized", "the API key is not valid");
  c.set("accountId", found.accountId);
  c.set("actor", `key:${found.keyId}`);
  await next();
});
