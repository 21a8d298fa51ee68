/** The doctor against real D1 and R2: a clean state has no problems; each kind of damage is found, and --repair fixes what it can. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runDoctor } from "../../src/doctor.ts";
import { newAccount, uploadRefs } from "./helpers.ts";

describe("doctor", () => {
  it("finds missing, changed and orphan objects and stuck jobs; repair fixes the fixable", async () => {
    const { apiKey, accountId } = await newAccount();
    const refs = await uploadRefs(apiKey, 3);
    const clean = await runDoctor(env.DB, env.BUCKET, { orphanGraceMs: 0 });
    expect(clean.problems).toEqual([]);
    expect(clean.assets).toBeGreaterThanOrEqual(3);

    const key = async (id: string) => (await env.DB.prepare("select r2_key from assets where id = ?").bind(id).first<{ r2_key: string }>())!.r2_key;
    await env.BUCKET.delete(await key(refs[0]));
    await env.BUCKET.put(await key(refs[1]), new Uint8Array([1, 2, 3]));
    await env.BUCKET.put(`accounts/${accountId}/uploads/orphan.png`, new Uint8Array([9]));
    // A media job's answer has no asset row by design: not an orphan, never repaired away.
    const answer = `accounts/${accountId}/shoots/sh_doc/jobs/sh_doc-crop-1/answer.json`;
    await env.BUCKET.put(answer, JSON.stringify({ id: "sh_doc-crop-1", status: "done", result: {} }));
    await env.DB.batch([
      env.DB.prepare("insert into shoots (id, account_id, status, stage, brief, params) values ('sh_doc', ?, 'completed', 'reel', 'b', '{}')").bind(accountId),
      env.DB.prepare(
        "insert into jobs (id, shoot_id, account_id, type, provider, stage, status) values ('sh_doc-stitch-1', 'sh_doc', ?, 'media', 'media', 'reel', 'submitted')",
      ).bind(accountId),
    ]);

    const found = await runDoctor(env.DB, env.BUCKET, { orphanGraceMs: 0 });
    expect(found.problems.map((p) => p.kind).sort()).toEqual(["missing-object", "orphan-object", "sha256-mismatch", "size-mismatch", "stuck-job"]);
    // A fresh object without a row may be a media output about to be recorded: not an orphan yet.
    expect((await runDoctor(env.DB, env.BUCKET)).problems.map((p) => p.kind)).not.toContain("orphan-object");

    const repaired = await runDoctor(env.DB, env.BUCKET, { orphanGraceMs: 0, repair: true });
    expect(repaired.repaired).toBe(2);
    expect(await env.BUCKET.head(`accounts/${accountId}/uploads/orphan.png`)).toBeNull();
    expect(await env.BUCKET.head(answer)).not.toBeNull();
    expect((await env.DB.prepare("select status from jobs where id = 'sh_doc-stitch-1'").first<{ status: string }>())?.status).toBe("failed");
    const after = await runDoctor(env.DB, env.BUCKET, { orphanGraceMs: 0 });
    expect(after.problems.map((p) => p.kind).sort()).toEqual(["missing-object", "sha256-mismatch", "size-mismatch"]);
  });
});
