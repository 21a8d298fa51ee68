/**
 * Retention against real D1 and R2: ended shoots past their period lose objects and rows together,
 * recent and running ones are kept, unused old uploads go, and a deletion interrupted after the
 * objects went (a crash) is finished by the next run. Each deletion is in retention_log.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runRetention } from "../../src/retention.ts";
import { newAccount, uploadRefs } from "./helpers.ts";

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function shootWithAssets(accountId: string, id: string, status: string, endedDaysAgo: number | null, refs: string[]) {
  await env.DB.prepare(
    "insert into shoots (id, account_id, status, stage, brief, params, completed_at, updated_at) values (?1, ?2, ?3, 'reel', 'b', ?4, ?5, ?6)",
  )
    .bind(id, accountId, status, JSON.stringify({ references: refs }), endedDaysAgo === null ? null : ago(endedDaysAgo), ago(endedDaysAgo ?? 0))
    .run();
  for (const kind of ["hero", "reel"]) {
    const key = `accounts/${accountId}/shoots/${id}/${kind}/v1.png`;
    await env.BUCKET.put(key, new Uint8Array(100));
    await env.DB.prepare("insert into assets (id, account_id, shoot_id, kind, r2_key, bytes, mime, sha256) values (?1, ?2, ?3, ?4, ?5, 100, 'image/png', 'x')")
      .bind(`as_${id}_${kind}`, accountId, id, kind, key)
      .run();
  }
  await env.DB.prepare(
    "insert into checkpoints (id, shoot_id, stage, attempt, status, artifacts, timeout_policy) values (?1, ?2, 'hero', 1, 'approved', '{}', 'expire')",
  )
    .bind(`${id}-hero-1`, id)
    .run();
  await env.DB.prepare("insert into events (shoot_id, account_id, type) values (?1, ?2, 'shoot.created')").bind(id, accountId).run();
  // An object the media service wrote whose row was never recorded: under the shoot's prefix too.
  await env.BUCKET.put(`accounts/${accountId}/shoots/${id}/frame-1/v9.png`, new Uint8Array(7));
}

const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

describe("retention", () => {
  it("deletes ended shoots' objects and rows together, keeps the rest, and records it", async () => {
    const { apiKey, accountId } = await newAccount();
    const [usedRef, unusedRef] = await uploadRefs(apiKey, 2);
    await env.DB.prepare("update assets set created_at = ?1 where id in (?2, ?3)").bind(ago(30), usedRef, unusedRef).run();
    await shootWithAssets(accountId, "sh_old_cancelled", "cancelled", 8, [usedRef]);
    await shootWithAssets(accountId, "sh_new_expired", "expired", 1, []);
    await shootWithAssets(accountId, "sh_old_completed", "completed", 91, []);
    await shootWithAssets(accountId, "sh_mid_completed", "completed", 30, [usedRef]);
    await shootWithAssets(accountId, "sh_running", "running", null, []);

    const report = await runRetention(env as Env);
    expect(report.shoots.map((s) => s.id).sort()).toEqual(["sh_old_cancelled", "sh_old_completed"]);
    for (const id of ["sh_old_cancelled", "sh_old_completed"]) {
      expect((await env.BUCKET.list({ prefix: `accounts/${accountId}/shoots/${id}/` })).objects).toHaveLength(0);
      for (const t of ["assets", "checkpoints", "events"])
        expect(await count(`select count(*) as n from ${t} where shoot_id = ?1`, id), `${t} of ${id}`).toBe(0);
      expect(await count("select count(*) as n from shoots where id = ?1", id)).toBe(0);
      const log = await env.DB.prepare("select * from retention_log where subject = ?1")
        .bind(id)
        .first<{ objects: number; bytes: number; finished_at: string | null }>();
      expect(log).toMatchObject({ objects: 3, bytes: 207 });
      expect(log?.finished_at).toBeTruthy();
    }
    for (const id of ["sh_new_expired", "sh_mid_completed", "sh_running"]) {
      expect((await env.BUCKET.list({ prefix: `accounts/${accountId}/shoots/${id}/` })).objects).toHaveLength(3);
      expect(await count("select count(*) as n from assets where shoot_id = ?1", id)).toBe(2);
    }
    // The upload a kept shoot uses stays; the unused one goes, object and row.
    expect(report.uploads.map((u) => u.id)).toEqual([unusedRef]);
    expect(await count("select count(*) as n from assets where id = ?1", unusedRef)).toBe(0);
    expect(await count("select count(*) as n from assets where id = ?1", usedRef)).toBe(1);
    expect((await env.BUCKET.list({ prefix: `accounts/${accountId}/uploads/` })).objects).toHaveLength(1);
  });

  it("finishes a deletion a crash interrupted after the objects went", async () => {
    const { accountId } = await newAccount();
    await shootWithAssets(accountId, "sh_crashed", "failed", 10, []);
    // As if the last run died after deleting the objects: log row open, rows still there.
    await env.DB.prepare("insert into retention_log (subject, account_id, kind, reason) values ('sh_crashed', ?1, 'shoot', 'failed')").bind(accountId).run();
    const listed = await env.BUCKET.list({ prefix: `accounts/${accountId}/shoots/sh_crashed/` });
    await env.BUCKET.delete(listed.objects.map((o) => o.key));

    const report = await runRetention(env as Env);
    expect(report.shoots.map((s) => s.id)).toContain("sh_crashed");
    expect(await count("select count(*) as n from shoots where id = 'sh_crashed'")).toBe(0);
    expect(await count("select count(*) as n from assets where shoot_id = 'sh_crashed'")).toBe(0);
    expect(
      (await env.DB.prepare("select finished_at from retention_log where subject = 'sh_crashed'").first<{ finished_at: string | null }>())?.finished_at,
    ).toBeTruthy();
  });
});
