/**
 * The `check` media job (docs/contracts.md, issue 19): measures outputs against the references and
 * answers a list of findings (src/domain/findings.ts). It makes no files. Still checks: `stills.ts`;
 * clips: `clip.ts`; reels: `reel.ts`; every tuned number: `params.ts`.
 */
import type { CheckResult, Finding } from "../../src/domain/findings.ts";
import type { MediaJob } from "../../src/domain/media-jobs.ts";
import { checkClip } from "./clip.ts";
import { checkReel } from "./reel.ts";
import { analyseReference, checkContinuity, checkStill, loadStill, type GarmentReading, type Reference } from "./stills.ts";

export type CheckJob = Extract<MediaJob, { kind: "check" }>;
export type CheckParams = CheckJob["params"];

/** Runs every check the params ask for on the downloaded inputs (name → local file). */
export async function runChecks(params: CheckParams, files: Map<string, string>): Promise<CheckResult> {
  const file = (name: string) => {
    const f = files.get(name);
    if (!f) throw new Error(`input "${name}" was not downloaded`);
    return f;
  };
  const findings: Finding[] = [];
  const skipped: CheckResult["skipped"] = [];

  const stillNames = [...params.stills];
  if (params.hero && !stillNames.includes(params.hero)) stillNames.push(params.hero);
  if (stillNames.length) {
    const refs: Reference[] = [];
    for (const r of params.references) refs.push(await analyseReference(r.input, file(r.input), r.role, r.label ?? r.input, r.box));
    const readings: GarmentReading[] = [];
    for (const name of stillNames) {
      const still = await loadStill(name, file(name));
      // The hero named only as the continuity anchor is measured (its garment's colours, nothing
      // else) but not reported on.
      const reported = params.stills.includes(name);
      const own: Finding[] = [];
      const ownSkipped: CheckResult["skipped"] = [];
      readings.push(...(await checkStill(still, reported ? refs : refs.filter((r) => r.role === "garment"), own, ownSkipped)));
      if (reported) {
        findings.push(...own);
        skipped.push(...ownSkipped);
      }
    }
    checkContinuity(readings, refs, params.hero, findings);
  }
  for (const c of params.clips) {
    await checkClip(c.input, file(c.input), { start: { name: c.start, file: file(c.start) }, end: { name: c.end, file: file(c.end) } }, findings);
  }
  for (const r of params.reels) await checkReel(r, file(r.input), findings);
  return { findings, flagged: findings.filter((f) => f.verdict === "flag").length, skipped };
}

/** Every input name the params use, each with what it is used as (for the job's validation). */
export function namesUsed(params: CheckParams): string[] {
  return [
    ...params.references.map((r) => r.input),
    ...params.stills,
    ...(params.hero ? [params.hero] : []),
    ...params.clips.flatMap((c) => [c.input, c.start, c.end]),
    ...params.reels.map((r) => r.input),
  ];
}
