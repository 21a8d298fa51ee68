/**
 * The vision judge (src/quality/judge.ts, judge-record.ts) from inside the Worker, against the
 * simulator the worker project's global setup runs: the request is a Messages API call with an
 * image block for every reference and output, the rubric and the strict review tool; an answered
 * review becomes findings; a refused, a malformed and a late answer are each an outcome with its
 * reason; every call is a costed `judge` job row with one `check.judged` event, counted in the
 * shoot's ledger.
 *
 * The sim is shared with the other worker test files, so this file only sets the judge fault (no
 * one else calls the judge) and never resets the sim.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { db } from "../../src/db/client.ts";
import { FindingSchema, JUDGE_CHECKS } from "../../src/domain/findings.ts";
import { judgeJobId, recordJudgeCall } from "../../src/quality/judge-record.ts";
import { JUDGE_TOOL, RUBRIC, RUBRIC_ITEMS, judgeEnabled, judgeOutputs, type JudgeEnv, type JudgeInput } from "../../src/quality/judge.ts";
import { call, newAccount, parkedWorkflows, uploadRefs } from "./helpers.ts";

const SIM = env.FAL_QUEUE_URL.replace(/\/fal$/, "");
const judgeEnv = (over: Partial<JudgeEnv> = {}): JudgeEnv => ({
  ANTHROPIC_API_KEY: "sk-ant-test",
  ANTHROPIC_BASE_URL: `${SIM}/anthropic`,
  ANTHROPIC_MODEL: env.ANTHROPIC_MODEL,
  JUDGE_MODEL: env.JUDGE_MODEL,
  JUDGE_TIMEOUT_MS: "20000",
  JUDGE_INPUT_USD_PER_MTOK: env.JUDGE_INPUT_USD_PER_MTOK,
  JUDGE_OUTPUT_USD_PER_MTOK: env.JUDGE_OUTPUT_USD_PER_MTOK,
  ...over,
});
const faults = (patch: unknown) => fetch(`${SIM}/__sim/faults`, { method: "POST", body: JSON.stringify(patch) });

/** References and outputs the sim serves itself (it cannot reach the in-process Worker's signed URLs). */
function input(tag: string): JudgeInput {
  return {
    stage: "frames",
    references: [
      { url: `${SIM}/photos/${tag}-garment.png`, role: "garment", label: "navy wool coat" },
      { url: `${SIM}/photos/${tag}-model.png`, role: "model" },
      { url: `${SIM}/photos/${tag}-bag.png`, role: "accessory", label: "tan bag" },
    ],
    outputs: [
      { name: "frame-1", url: `${SIM}/photos/${tag}-frame-1.png` },
      { name: "frame-2", url: `${SIM}/photos/${tag}-frame-2.png` },
    ],
  };
}

afterEach(async () => {
  vi.restoreAllMocks();
  await faults({ judgeFault: "none", slowMs: 30_000 });
});

describe("vision judge", () => {
  it("runs only with an Anthropic key", () => {
    expect(judgeEnabled({ ANTHROPIC_API_KEY: undefined })).toBe(false);
    expect(judgeEnabled({ ANTHROPIC_API_KEY: "sk-ant-x" })).toBe(true);
  });

  it("sends a Messages API request with an image block for every reference and output, the rubric and the strict review tool", async () => {
    const spy = vi.spyOn(globalThis, "fetch");
    const req = input("shape");
    const outcome = await judgeOutputs(judgeEnv(), req);
    expect(outcome.status).toBe("answered");

    const sent = spy.mock.calls.map(([i, init]) => ({ url: new Request(i, init).url, init })).filter((c) => c.url.endsWith("/anthropic/v1/messages"));
    expect(sent).toHaveLength(1);
    const headers = new Headers(sent[0]!.init?.headers);
    expect(headers.get("anthropic-version")).toBeTruthy();
    expect(headers.get("x-api-key") ?? headers.get("authorization")).toMatch(/sk-ant-test/);
    const body = JSON.parse(String(sent[0]!.init?.body)) as {
      model: string;
      max_tokens: number;
      system: string;
      tools: {
        name: string;
        strict: boolean;
        input_schema: { type: string; properties: { outputs: { properties: Record<string, { properties: Record<string, unknown> }> } } };
      }[];
      tool_choice: { type: string; name: string };
      messages: { role: string; content: { type: string; text?: string; source?: { type: string; url: string } }[] }[];
    };
    expect(body.model).toBe(env.JUDGE_MODEL);
    expect(body.max_tokens).toBeGreaterThan(1000);
    expect(body.tool_choice).toEqual({ type: "tool", name: JUDGE_TOOL });
    expect(body.tools).toHaveLength(1);
    const tool = body.tools[0]!;
    expect(tool).toMatchObject({ name: JUDGE_TOOL, strict: true, input_schema: { type: "object" } });
    // The schema asks for every output by name and every rubric item, in the subset strict mode takes.
    const outputs = tool.input_schema.properties.outputs.properties;
    expect(Object.keys(outputs)).toEqual(["frame-1", "frame-2"]);
    for (const o of Object.values(outputs)) expect(Object.keys(o.properties)).toEqual(RUBRIC_ITEMS);
    expect(JSON.stringify(tool.input_schema)).not.toMatch(/"(minimum|maximum|minLength|maxLength)"/);

    expect(body.messages).toHaveLength(1);
    const content = body.messages[0]!.content;
    expect(body.messages[0]!.role).toBe("user");
    const images = content.filter((b) => b.type === "image").map((b) => b.source);
    expect(images).toEqual([...req.references, ...req.outputs].map((x) => ({ type: "url", url: x.url })));
    // Each image is labelled by the text block before it; the rubric closes the message.
    content.forEach((b, i) => {
      if (b.type === "image") expect(content[i - 1]?.type).toBe("text");
    });
    expect(content[0]!.text).toBe("Reference 1 (garment: navy wool coat):");
    expect(content[content.length - 3]).toEqual({ type: "text", text: 'Output "frame-2":' });
    const rubric = content[content.length - 1]!.text!;
    for (const k of RUBRIC_ITEMS) expect(rubric).toContain(RUBRIC[k].question);

    // The simulator saw the same request and answered it as the review tool.
    const seen = (await (await fetch(`${SIM}/__sim/anthropic/requests`)).json()) as {
      requests: { tool: string; body: { messages: { content: { type: string }[] }[] }; answer: { status: number; stopReason: string } }[];
    };
    const mine = seen.requests.filter((r) => r.tool === JUDGE_TOOL).at(-1)!;
    expect(mine.answer).toEqual({ status: 200, stopReason: "tool_use" });
    expect(mine.body.messages[0]!.content.filter((b) => b.type === "image")).toHaveLength(5);
  });

  it("turns an answered review into findings: one per output and rubric item, costed from the usage", async () => {
    const outcome = await judgeOutputs(judgeEnv(), input("answered"));
    if (outcome.status !== "answered") throw new Error(`not answered: ${outcome.status} ${outcome.reason}`);
    expect(outcome.findings).toHaveLength(2 * JUDGE_CHECKS.length);
    for (const f of outcome.findings) expect(FindingSchema.parse(f)).toEqual(f);
    expect(new Set(outcome.findings.map((f) => `${f.asset}/${f.check}`)).size).toBe(12);
    expect(outcome.findings.map((f) => f.check).sort()).toEqual([...JUDGE_CHECKS, ...JUDGE_CHECKS].sort());
    // Nothing the sim drifted: every item passes, its score (confidence the item is wrong) under the threshold.
    for (const f of outcome.findings) {
      expect(f.verdict).toBe("pass");
      expect(f.score).toBeLessThan(f.threshold);
      expect(f.region).toBeUndefined();
    }
    expect(outcome.usage.inputTokens).toBeGreaterThan(0);
    expect(outcome.usage.outputTokens).toBeGreaterThan(0);
    const expected =
      (outcome.usage.inputTokens * Number(env.JUDGE_INPUT_USD_PER_MTOK) + outcome.usage.outputTokens * Number(env.JUDGE_OUTPUT_USD_PER_MTOK)) / 1e6;
    expect(outcome.costUsd).toBeGreaterThan(0);
    expect(outcome.costUsd).toBeCloseTo(expected, 4);
  });

  it("records a refused answer as a failed, costed judge job with its reason, once", async () => {
    await faults({ judgeFault: "refusal" });
    const outcome = await judgeOutputs(judgeEnv(), input("refused"));
    expect(outcome).toMatchObject({ status: "refused", model: env.JUDGE_MODEL });
    if (outcome.status === "answered") return;
    expect(outcome.reason).toMatch(/declined to review \(stop_reason refusal\): I can't help/);
    expect(outcome.costUsd).toBeGreaterThan(0);

    const d = db(env.DB);
    const call1 = { shootId: "sh_judge_refused", accountId: "acct_judge", stage: "frames", attempt: 2, outcome };
    const first = await recordJudgeCall(d, call1);
    expect(first.recorded).toBe(true);
    expect(first.job).toMatchObject({
      id: judgeJobId("sh_judge_refused", "frames", 2),
      type: "judge",
      provider: "anthropic",
      model: env.JUDGE_MODEL,
      stage: "frames",
      attempt: 2,
      status: "failed",
      costUsd: outcome.costUsd,
      error: outcome.reason,
      result: { status: "failed", error: `refused: ${outcome.reason}`, costUsd: outcome.costUsd },
    });
    // A replayed step writes nothing: one row, one event, one charge.
    const again = await recordJudgeCall(d, call1);
    expect(again.recorded).toBe(false);
    const rows = await env.DB.prepare("select count(*) as n from jobs where shoot_id = ?").bind("sh_judge_refused").first<{ n: number }>();
    expect(rows?.n).toBe(1);
    const events = (await env.DB.prepare("select type, data from events where shoot_id = ?").bind("sh_judge_refused").all<{ type: string; data: string }>())
      .results;
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe("check.judged");
    expect(JSON.parse(events[0]!.data)).toEqual({
      stage: "frames",
      attempt: 2,
      job: first.job.id,
      status: "refused",
      reason: outcome.reason,
      flagged: 0,
      costUsd: outcome.costUsd,
    });
  });

  it("records a malformed answer as invalid, with the schema's complaint", async () => {
    await faults({ judgeFault: "malformed" });
    const outcome = await judgeOutputs(judgeEnv(), input("malformed"));
    expect(outcome.status).toBe("invalid");
    if (outcome.status === "answered") return;
    expect(outcome.reason).toMatch(/^Claude's review failed the schema at outputs\./);
    expect(outcome.costUsd).toBeGreaterThan(0);
    const { job } = await recordJudgeCall(db(env.DB), { shootId: "sh_judge_malformed", accountId: "acct_judge", stage: "hero", attempt: 1, outcome });
    expect(job).toMatchObject({ type: "judge", status: "failed", error: outcome.reason, costUsd: outcome.costUsd });
    expect((job.result as { error: string }).error).toBe(`invalid: ${outcome.reason}`);
  });

  it("gives up on a late answer as a timeout, which costs nothing", async () => {
    await faults({ judgeFault: "slow", slowMs: 3000 });
    const outcome = await judgeOutputs(judgeEnv({ JUDGE_TIMEOUT_MS: "400" }), input("slow"));
    expect(outcome).toMatchObject({ status: "timeout", reason: "Claude did not answer within 400 ms (two tries)", costUsd: 0 });
    const { job } = await recordJudgeCall(db(env.DB), { shootId: "sh_judge_slow", accountId: "acct_judge", stage: "hero", attempt: 1, outcome });
    expect(job).toMatchObject({ status: "failed", costUsd: 0 });
  });

  it("calls an image the API cannot download an error, not a review", async () => {
    const req = input("missing");
    req.outputs[1]!.url = "http://127.0.0.1:9/nowhere.png";
    const outcome = await judgeOutputs(judgeEnv(), req);
    expect(outcome.status).toBe("error");
    if (outcome.status === "answered") return;
    expect(outcome.reason).toMatch(/Unable to download the file/);
    expect(outcome.costUsd).toBe(0);
  });

  it("counts the judge's cost in the shoot's ledger", async () => {
    await using _ = await parkedWorkflows();
    const { apiKey, accountId } = await newAccount();
    const refs = await uploadRefs(apiKey, 1);
    const res = await call("/api/shoots", { method: "POST", key: apiKey, body: JSON.stringify({ brief: "judged shoot", references: refs }) });
    const { id } = (await res.json()) as { id: string };
    const outcome = await judgeOutputs(judgeEnv(), input("ledger"));
    expect(outcome.status).toBe("answered");
    await recordJudgeCall(db(env.DB), { shootId: id, accountId, stage: "hero", attempt: 1, outcome });

    const shoot = (await (await call(`/api/shoots/${id}`, { key: apiKey })).json()) as {
      jobs: { id: string; type: string; provider: string; costUsd: number }[];
      costs: { totalUsd: number; byStage: { stage: string; usd: number; jobs: number }[] };
      timeline: { type: string; data: unknown }[];
    };
    const judge = shoot.jobs.find((j) => j.type === "judge")!;
    expect(judge).toMatchObject({ id: judgeJobId(id, "hero", 1), provider: "anthropic", costUsd: outcome.costUsd });
    const others = shoot.jobs.filter((j) => j.type !== "judge").reduce((s, j) => s + (j.costUsd ?? 0), 0);
    expect(shoot.costs.totalUsd).toBeCloseTo(others + outcome.costUsd, 4);
    expect(shoot.costs.byStage.find((l) => l.stage === "hero")?.usd).toBeGreaterThanOrEqual(outcome.costUsd - 1e-4);
    const judged = shoot.timeline.filter((e) => e.type === "check.judged");
    expect(judged).toEqual([
      expect.objectContaining({ data: { stage: "hero", attempt: 1, job: judge.id, status: "answered", flagged: 0, costUsd: outcome.costUsd } }),
    ]);
  });
});
