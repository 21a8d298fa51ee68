/** Accounts and API keys. Keys are random, shown once, and stored only as a sha256 hash. */
import { and, eq, gt, isNull, lt, or } from "drizzle-orm";
import { mintKey } from "../lib/api-keys.ts";
import { newId, sha256Hex } from "../lib/crypto.ts";
import type { Db } from "./client.ts";
import { accounts, apiKeys } from "./schema.ts";

export async function createAccountWithKey(
  d: Db,
  name: string,
  opts: { expiresAt?: string | null } = {},
): Promise<{ accountId: string; apiKey: string; keyId: string }> {
  const accountId = newId("acct");
  const key = await mintKey();
  await d.batch([
    d.insert(accounts).values({ id: accountId, name }),
    d.insert(apiKeys).values({ id: key.id, accountId, name: "default", keyHash: key.keyHash, prefix: key.prefix, expiresAt: opts.expiresAt ?? null }),
  ]);
  return { accountId, apiKey: key.apiKey, keyId: key.id };
}

/** Revocation is a timestamp: the key stays listed, and the next request with it is refused. */
export async function revokeKey(d: Db, keyId: string, now = new Date()): Promise<boolean> {
  const res = await d
    .update(apiKeys)
    .set({ revokedAt: now.toISOString() })
    .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
    .run();
  return (res.meta?.changes ?? 0) > 0;
}

/** The key's account, unless the key is unknown, revoked or expired (checked on every request). */
export async function accountForKey(d: Db, apiKey: string, now = new Date()): Promise<{ accountId: string; keyId: string; lastUsedAt: string | null } | null> {
  const row = await d
    .select({ accountId: apiKeys.accountId, keyId: apiKeys.id, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(
      and(eq(apiKeys.keyHash, await sha256Hex(apiKey)), isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now.toISOString()))),
    )
    .get();
  return row ?? null;
}

/** Records use at most once a minute per key (the condition makes concurrent requests a no-op). */
export async function touchKey(d: Db, keyId: string, now = new Date()): Promise<void> {
  const staleBefore = new Date(now.getTime() - 60_000).toISOString();
  await d
    .update(apiKeys)
    .set({ lastUsedAt: now.toISOString() })
    .where(and(eq(apiKeys.id, keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, staleBefore))));
}
