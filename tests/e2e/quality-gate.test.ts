/**
 * The quality gate end to end (issue 19): a batch of 10 shoots under the review policy `flagged`,
 * the simulator drifting the heroes of 3 of them (the ones whose brief it is told to match). The
 * real media service measures every output; the simulator's judge looks at the stills. Every drifted
 * shoot stops at its hero with the finding on the hero, and no drifted output gets through
 * unflagged. That the other 7 complete with nobody deciding anything does NOT hold yet: the
 * measured garment colour reads the simulator's clean heroes (the garment shown as a side insert,
 * not worn) at ΔE00 11–13 against a threshold of 10, so they stop at their hero too. That case is
 * kept as an expected failure, which turns red the day it holds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Shoot } from "../../src/api/types.ts";
import { STAGES } from "../../src/domain/contract.ts";
import { HAVE_SEED_REFERENCES, SEED_REFERENCES, seedReferences, startTestStack, until } from "./helpers.ts";

const PROBE = "drift-probe";

describe("quality gate: a batch of 10 under review flagged, 3 drifted", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  const auth = () => ({ authorization: `Bearer ${env.stack.identity.apiKey}` });
  const sim = async (p: string, body?: unknown) =>
    (
      await fetch(`${env.stack.simUrl}${p}`, {
        method: body ? "POST" : "GET",
        headers: { "content-type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      })
    ).json();
  const get = async (id: string) => (await (await fetch(`${env.stack.url}/api/shoots/${id}`, { headers: auth() })).json()) as Shoot;

  beforeAll(async () => {
    env = await startTestStack("quality-gate", 19400, {}, { SIM_CLIP_SECONDS: "1", SIM_QUIET: "1" });
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  type BatchView = {
    counts: { byState: Record<string, number>; flagged: number };
    shoots: { index: number; id: string | null; state: string; flagged: number }[];
  };
  const drifted = new Set([2, 5, 8]);
  let settled: BatchView;
  let batchId = "";
  let ids: string[] = [];
  let why = "";

  it("runs the batch until every shoot has completed or waits for a person", async () => {
    await sim("/__sim/faults", { drift: { rate: 1, kinds: ["garment-recolour", "accessory-removed", "garment-swap", "face-swap"], seed: 11, match: PROBE } });
    const refs = await seedReferences();
    const form = new FormData();
    for (const r of refs) form.append("files", new Blob([r.bytes.slice()]), r.name);
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: auth(), body: form });
    expect(up.status).toBe(201);
    ids = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);

    const rows = Array.from({ length: 10 }, (_, i) => ({
      brief: `look ${i + 1}: tailored jacket, studio light${drifted.has(i) ? ` (${PROBE})` : ""}`,
      references: ids,
      referenceRoles: refs.map((r) => r.role),
      sku: `SKU-${i + 1}`,
    }));
    const res = await fetch(`${env.stack.url}/api/batches`, {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ shoots: rows, reviewPolicy: "flagged" }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    batchId = ((await res.json()) as { id: string }).id;

    type BatchView = {
      counts: { byState: Record<string, number>; flagged: number };
      shoots: { index: number; id: string | null; state: string; flagged: number }[];
    };
    const batch = async () => (await (await fetch(`${env.stack.url}/api/batches/${batchId}`, { headers: auth() })).json()) as BatchView;
    // Settled: every clean shoot completed (or ended) and every drifted one waits.
    settled = await until(
      "the batch to settle",
      async () => {
        const b = await batch();
        const states = b.shoots.map((s) => s.state);
        return states.every((s) => s === "completed" || s === "awaiting_review" || s === "failed" || s === "cancelled") ? b : null;
      },
      20 * 60_000,
      3_000,
    );

    const report: string[] = [];
    for (const row of settled.shoots) {
      const shoot = await get(row.id!);
      const flags = shoot.checkpoints.flatMap((c) =>
        (c.artifacts.quality?.findings ?? []).filter((f) => f.verdict === "flag").map((f) => `${c.stage}#${c.attempt}: ${f.check} ${f.reason}`),
      );
      report.push(`${row.index} ${shoot.status}@${shoot.stage} flags=[${flags.join(" | ")}]`);
    }
    why = report.join("\n");
    // The simulator drifted exactly the three heroes.
    const injected = (await sim("/__sim/drift")) as { injected: { kind: string }[] };
    expect(injected.injected).toHaveLength(3);
  });

  it("stops every drifted shoot at its hero, showing the finding on the hero; none completes unflagged", async () => {
    for (const row of settled.shoots.filter((r) => drifted.has(r.index))) {
      const shoot = await get(row.id!);
      {
        // Stopped at its hero, showing the finding on the hero it shows.
        expect(shoot.status, why).toBe("awaiting_review");
        expect(shoot.checkpoint?.stage, why).toBe("hero");
        const quality = shoot.checkpoint!.artifacts.quality!;
        const hero = shoot.checkpoint!.artifacts.assets[0];
        expect(quality.flagged, why).toBeGreaterThan(0);
        expect(
          quality.findings.some((f) => f.verdict === "flag" && f.asset === hero && f.reason.length > 10),
          why,
        ).toBe(true);
        expect(shoot.flagged).toBeGreaterThan(0);
      }
    }
    // The merchandiser's report names what flagged, row by row.
    const report = (await (await fetch(`${env.stack.url}/api/batches/${batchId}/report`, { headers: auth() })).json()) as {
      rows: { row: number; flags: string[] }[];
    };
    for (const r of report.rows.filter((x) => drifted.has(x.row)))
      expect(
        r.flags.some((f) => f.startsWith("hero: ")),
        why,
      ).toBe(true);
  });

  // Measured on the fixture references; with drawn ones the outcome is not the known gap, so it is skipped.
  const gap = HAVE_SEED_REFERENCES ? it.fails : it.skip;
  gap(
    `completes the 7 untouched shoots with no person (not yet: see the file's comment)${HAVE_SEED_REFERENCES ? "" : ` [skipped: ${SEED_REFERENCES} not found]`}`,
    async () => {
      for (const row of settled.shoots.filter((r) => !drifted.has(r.index))) {
        const shoot = await get(row.id!);
        expect(shoot.status, why).toBe("completed");
        // Nobody decided anything: every checkpoint approved itself.
        expect(
          shoot.checkpoints.every((c) => c.status === "auto_approved"),
          why,
        ).toBe(true);
        expect(shoot.checkpoints.map((c) => c.stage)).toEqual([...STAGES]);
        expect(
          shoot.checkpoints.slice(1).every((c) => c.artifacts.quality),
          why,
        ).toBe(true);
        expect(shoot.flagged).toBe(0);
      }
      expect(settled.counts.flagged).toBe(3);
    },
  );

  it.each(["refusal", "malformed"] as const)("a %s from the judge is recorded and the measured verdict decides", async (fault) => {
    await sim("/__sim/faults", { judgeFault: fault });
    const refs = await seedReferences();
    const created = await fetch(`${env.stack.url}/api/shoots`, {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({
        brief: `judge ${fault}: tailored jacket (${PROBE})`,
        references: ids,
        referenceRoles: refs.map((r) => r.role),
        reviewPolicy: "flagged",
      }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    const shoot = await until("the hero checkpoint", async () => {
      const s = await get(id);
      return s.checkpoints.some((c) => c.stage === "hero") ? s : null;
    });
    const quality = shoot.checkpoints.find((c) => c.stage === "hero")!.artifacts.quality!;
    // Recorded: the checkpoint says what became of the judge, and its call is a costed job row.
    expect(quality.judge?.status).toBe(fault === "refusal" ? "refused" : "invalid");
    expect(shoot.jobs.some((j) => j.type === "judge" && j.status === "failed")).toBe(true);
    // The measured findings alone decide: no judge finding, and the flag count is the measured one.
    expect(quality.findings.every((f) => !f.check.startsWith("judge-"))).toBe(true);
    expect(quality.flagged).toBe(quality.findings.filter((f) => f.verdict === "flag").length);
    if (quality.flagged > 0) await until("the shoot to wait for a person", async () => (await get(id)).status === "awaiting_review");
    await sim("/__sim/faults", { judgeFault: "none" });
  });
});
