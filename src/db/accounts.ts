/** Accounts and API keys. Keys are random, shown once, and stored only as a sha256 hash. */
import { and, eq, isNull } from "drizzle-orm";
import { newId, randomToken, sha256Hex } from "../lib/crypto.ts";
import type { Db } from "./client.ts";
import { accounts, apiKeys } from "./schema.ts";

export async function createAccountWithKey(d: Db, name: string): Promise<{ accountId: string; apiKey: string }> {
  const accountId = newId("acct");
  const apiKey = `atl_${randomToken(24)}`;
  await d.batch([
    d.insert(accounts).values({ id: accountId, name }),
    d.insert(apiKeys).values({
      id: newId("key"),
      accountId,
      name: "default",
      keyHash: await sha256Hex(apiKey),
      prefix: apiKey.slice(0, 8),
    }),
  ]);
  return { accountId, apiKey };
}

export async function accountForKey(d: Db, apiKey: string): Promise<{ accountId: string; keyId: string } | null> {
  const row = await d
    .select({ accountId: apiKeys.accountId, keyId: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, await sha256Hex(apiKey)), isNull(apiKeys.revokedAt)))
    .get();
  return row ?? null;
}
