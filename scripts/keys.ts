/**
 * Accounts and API keys, without hand-written SQL:
 *
 *   npm run keys -- create --account NAME [--name LABEL] [--expires 90d|2027-06-30]   new key (and account)
 *   npm run keys -- list [--account NAME]                                              keys, never their secrets
 *   npm run keys -- revoke KEY_ID                                                      refused from the next request
 *
 * Local by default (the state `npm start` uses, or --persist-to DIR); --remote for the deployed D1.
 * A key is printed once and stored only as its sha256, with a display prefix, an optional expiry and
 * a last-used time the Worker keeps.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { mintKey } from "../src/lib/api-keys.ts";
import { newId } from "../src/lib/crypto.ts";
import { ROOT, runWrangler } from "./stack.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    account: { type: "string" },
    name: { type: "string" },
    expires: { type: "string" },
    remote: { type: "boolean", default: false },
    "persist-to": { type: "string" },
    json: { type: "boolean", default: false },
  },
});

const where = values.remote ? ["--remote"] : ["--local", "--persist-to", path.resolve(values["persist-to"] ?? path.join(ROOT, ".atelier/dev/wrangler"))];

/**
 * Runs `wrangler d1 …`. Locally the database is a SQLite file that a running `npm start` writes too,
 * so a statement can find it locked (SQLITE_BUSY, nothing done: each call is one transaction) and is
 * tried again after a pause, up to ten times over about ten seconds.
 */
function d1(args: string[]): string {
  for (let attempt = 1; ; attempt++) {
    const res = runWrangler(["d1", ...args]);
    if (res.status === 0) return res.stdout;
    const busy = /SQLITE_BUSY|database is locked/.test(`${res.stdout}${res.stderr}`);
    if (!busy || attempt >= 10) throw new Error(`wrangler d1 ${args[0]} failed:\n${res.stdout}\n${res.stderr}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200 * attempt);
  }
}

function sql(command: string): Record<string, unknown>[] {
  const out = JSON.parse(d1(["execute", "DB", ...where, "--json", "--command", command])) as { results: Record<string, unknown>[] }[];
  return out.flatMap((r) => r.results ?? []);
}

const q = (s: string | null | undefined) => (s == null ? "NULL" : `'${s.replace(/'/g, "''")}'`);

/** "90d", "12h", "30m" from now, or an ISO date/time. */
export function parseExpiry(s: string | undefined, now = Date.now()): string | null {
  if (!s) return null;
  const rel = /^(\d+)\s*([dhm])$/.exec(s.trim());
  if (rel) return new Date(now + Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as "d" | "h" | "m"]).toISOString();
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new Error(`--expires: "${s}" is neither a duration like 90d nor a date`);
  if (t <= now) throw new Error(`--expires: ${s} is in the past`);
  return new Date(t).toISOString();
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function main() {
  const [command, arg] = positionals;
  // Locally the schema may not exist yet (a fresh checkout): apply migrations first, as npm start does.
  if (!values.remote && ["create", "list", "revoke"].includes(command ?? "")) {
    d1(["migrations", "apply", "DB", ...where]);
  }
  if (command === "create") {
    if (!values.account) fail("create needs --account NAME");
    const expiresAt = parseExpiry(values.expires);
    const existing = sql(`SELECT id FROM accounts WHERE name = ${q(values.account)} ORDER BY created_at LIMIT 1`);
    const accountId = (existing[0]?.id as string | undefined) ?? newId("acct");
    const key = await mintKey();
    sql(
      (existing.length ? "" : `INSERT INTO accounts (id, name) VALUES (${q(accountId)}, ${q(values.account)}); `) +
        `INSERT INTO api_keys (id, account_id, name, key_hash, prefix, expires_at) VALUES (${q(key.id)}, ${q(accountId)}, ${q(values.name ?? "default")}, ${q(key.keyHash)}, ${q(key.prefix)}, ${q(expiresAt)});`,
    );
    const out = { keyId: key.id, accountId, account: values.account, created: existing.length === 0, prefix: key.prefix, expiresAt, apiKey: key.apiKey };
    if (values.json) console.log(JSON.stringify(out));
    else {
      console.log(
        `${existing.length ? "Account" : "New account"} ${values.account} (${accountId}); key ${key.id}${expiresAt ? `, expires ${expiresAt}` : ""}.`,
      );
      console.log("The key is shown only now; store it somewhere safe:");
      console.log(key.apiKey);
    }
    return;
  }
  if (command === "list") {
    const rows = sql(
      `SELECT k.id, a.name AS account, k.account_id, k.name, k.prefix, k.created_at, k.expires_at, k.last_used_at, k.revoked_at FROM api_keys k JOIN accounts a ON a.id = k.account_id` +
        (values.account ? ` WHERE a.name = ${q(values.account)}` : "") +
        " ORDER BY k.created_at",
    );
    if (values.json) return console.log(JSON.stringify(rows));
    const now = new Date().toISOString();
    for (const r of rows) {
      const state = r.revoked_at ? `revoked ${r.revoked_at}` : r.expires_at && String(r.expires_at) <= now ? `expired ${r.expires_at}` : "active";
      console.log(
        [
          r.id,
          r.account,
          `${r.prefix}…`,
          r.name,
          `created ${r.created_at}`,
          `expires ${r.expires_at ?? "never"}`,
          `last used ${r.last_used_at ?? "never"}`,
          state,
        ].join("  "),
      );
    }
    if (!rows.length) console.log("no keys");
    return;
  }
  if (command === "revoke") {
    if (!arg) fail("revoke needs a key id (see `npm run keys -- list`)");
    const rows = sql(`UPDATE api_keys SET revoked_at = ${q(new Date().toISOString())} WHERE id = ${q(arg)} AND revoked_at IS NULL RETURNING id`);
    if (!rows.length) fail(`no active key ${arg}`);
    console.log(`revoked ${arg}; requests with it are refused from now on`);
    return;
  }
  fail("usage: npm run keys -- create --account NAME [--name LABEL] [--expires 90d] | list [--account NAME] | revoke KEY_ID   [--remote | --persist-to DIR]");
}

await main();
