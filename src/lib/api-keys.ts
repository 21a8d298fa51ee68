/** The API key format, one definition for the Worker and scripts/keys.ts: `atl_` + 32 random characters. */
import { newId, randomToken, sha256Hex } from "./crypto.ts";

/** A new key: the secret (shown once), its sha256 (stored) and a display prefix. */
export async function mintKey(): Promise<{ id: string; apiKey: string; keyHash: string; prefix: string }> {
  const apiKey = `atl_${randomToken(24)}`;
  return { id: newId("key"), apiKey, keyHash: await sha256Hex(apiKey), prefix: apiKey.slice(0, 12) };
}
