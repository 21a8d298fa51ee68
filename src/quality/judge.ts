/**
 * The vision judge of the quality gate (issue 19): Claude looks at the references and the outputs of
 * a stage and answers a rubric for each output (garment details, accessories, identity, anatomy,
 * framing, text and logos), through a strict tool call whose answer is validated with zod. Each
 * item becomes a finding (src/domain/findings.ts) whose score is the judge's confidence that the
 * item is wrong.
 *
 * Used only when ANTHROPIC_API_KEY is set (`judgeEnabled`). The judge never throws for what Claude
 * did: a refusal, a timeout, an answer that fails the schema or a failed call is an outcome with its
 * reason, and the measured verdict stands. Every outcome carries its cost (the answer's `usage`
 * tokens at JUDGE_INPUT_USD_PER_MTOK / JUDGE_OUTPUT_USD_PER_MTOK), for the ledger (judge-record.ts).
 */
import Anthropic from "@anthropic-ai/sdk";
import { transformJSONSchema } from "@anthropic-ai/sdk/lib/transform-json-schema";
import { z } from "zod";
import { FindingSchema, RegionSchema, type Finding, type JudgeCheck, type ReferenceRole, type Region } from "../domain/findings.ts";
import { roundUsd } from "../lib/prices.ts";

/** The tool Claude answers with; the simulator recognises a judge request by it. */
export const JUDGE_TOOL = "submit_review";

/** A finding of the judge flags when its score (confidence the item is wrong) reaches this. */
export const JUDGE_THRESHOLD = 0.5;

/** The rubric: each item, the check its findings carry, and the question Claude answers for it. */
export const RUBRIC = {
  garment: {
    check: "judge-garment",
    question:
      "Garment details: is every garment the one in the garment references, with the same cut, colour, pattern, fabric, " +
      "closures, seams and trims, nothing swapped, added or left out?",
  },
  accessories: {
    check: "judge-accessories",
    question:
      "Accessories: is every accessory from the accessory references in the picture, visible and unchanged (shape, colour, " +
      "hardware)? Pass when there is no accessory reference and none was added.",
  },
  identity: {
    check: "judge-identity",
    question: "Identity: is the person the model in the model references (face, hair, skin tone, build)? Pass when no model reference was given.",
  },
  anatomy: {
    check: "judge-anatomy",
    question: "Anatomy: are hands, fingers, limbs, face and body plausible (no extra, missing, fused or twisted parts, no melted features)?",
  },
  framing: {
    check: "judge-framing",
    question:
      "Framing: is the picture composed as the stage asks (a hero or frame: the subject and the garment in frame, nothing important " +
      "cut at the edges; a contact sheet: a clean 2 × 3 grid of the same scene)?",
  },
  text: {
    check: "judge-text",
    question:
      "Text and logos: is the picture free of text, watermarks and logos that the references do not have, and are the logos of the " +
      "garment and accessories spelled and placed as in the references?",
  },
} as const satisfies Record<string, { check: JudgeCheck; question: string }>;
export type RubricItem = keyof typeof RUBRIC;
export const RUBRIC_ITEMS = Object.keys(RUBRIC) as RubricItem[];

/** One rubric item as Claude answers it. */
const ItemAnswerSchema = z
  .object({
    verdict: z.enum(["pass", "flag"]).describe("flag when the item is wrong on this output"),
    confidence: z.number().min(0.5).max(1).describe("How sure you are of the verdict: 0.5 a guess, 1 certain."),
    reason: z.string().trim().min(1).max(500).describe("One or two sentences a producer understands: what matches the references, or what is wrong and where."),
    region: RegionSchema.nullable().describe(
      "Where the problem is, as fractions of the output's width and height from its top left corner (x, y, w, h); " +
        "the whole picture (0, 0, 1, 1) when it is everywhere; null when the verdict is pass.",
    ),
  })
  .refine((a) => a.verdict === "pass" || a.region !== null, { message: "a flagged item needs its region", path: ["region"] });

/** The review Claude submits: for each output (by its name), every rubric item. */
export function reviewSchema(outputNames: string[]) {
  const items = z.object(
    Object.fromEntries(RUBRIC_ITEMS.map((k) => [k, ItemAnswerSchema.describe(RUBRIC[k].question)])) as Record<RubricItem, typeof ItemAnswerSchema>,
  );
  return z.object({
    outputs: z.object(Object.fromEntries(outputNames.map((n) => [n, items.describe(`The review of output "${n}".`)])) as Record<string, typeof items>),
  });
}

export interface JudgeInput {
  /** The stage whose outputs are judged (`hero`, `contact-sheet`, `frames`…). */
  stage: string;
  /** Signed URLs of the reference photos, with what each shows. */
  references: { url: string; role: ReferenceRole; label?: string }[];
  /** Signed URLs of the outputs; `name` becomes each finding's `asset` (at most 64 characters, unique). */
  outputs: { name: string; url: string }[];
}

export interface JudgeUsage {
  inputTokens: number;
  outputTokens: number;
}

export type JudgeOutcome =
  | { status: "answered"; findings: Finding[]; model: string; usage: JudgeUsage; costUsd: number }
  | { status: "refused" | "invalid" | "timeout" | "error"; reason: string; model: string; usage?: JudgeUsage; costUsd: number };

export type JudgeEnv = Pick<Env, "ANTHROPIC_API_KEY" | "ANTHROPIC_BASE_URL" | "ANTHROPIC_MODEL"> & {
  JUDGE_MODEL?: string;
  JUDGE_TIMEOUT_MS?: string;
  JUDGE_INPUT_USD_PER_MTOK?: string;
  JUDGE_OUTPUT_USD_PER_MTOK?: string;
};

/** Whether the judge runs at all: only with an Anthropic key. */
export function judgeEnabled(env: Pick<Env, "ANTHROPIC_API_KEY">): boolean {
  return !!env.ANTHROPIC_API_KEY;
}

export const judgeModel = (env: JudgeEnv) => env.JUDGE_MODEL || env.ANTHROPIC_MODEL;

/** USD for an answer's tokens at the configured per-million-token prices. */
export function judgeCostUsd(env: JudgeEnv, usage: JudgeUsage | undefined): number {
  if (!usage) return 0;
  const input = Math.max(0, Number(env.JUDGE_INPUT_USD_PER_MTOK) || 0);
  const output = Math.max(0, Number(env.JUDGE_OUTPUT_USD_PER_MTOK) || 0);
  return roundUsd((usage.inputTokens * input + usage.outputTokens * output) / 1_000_000);
}

const SYSTEM =
  "You are the quality reviewer of an editorial fashion shoot. The references are what must not change: the garment, " +
  "the model and the accessories. For every output, answer every item of the rubric: pass, or flag with where the " +
  "problem is. Judge only what you can see; do not flag a choice of pose, light or background. Write each reason " +
  "for a producer, in plain words (which garment, which detail, where), without mentioning the rubric or scores.";

/** Sends the references and outputs to Claude and turns its review into findings, or says why not. */
export async function judgeOutputs(env: JudgeEnv, input: JudgeInput): Promise<JudgeOutcome> {
  const model = judgeModel(env);
  const names = input.outputs.map((o) => o.name);
  if (!names.length) throw new Error("judgeOutputs: no outputs to judge");
  if (new Set(names).size !== names.length) throw new Error("judgeOutputs: output names must be unique");
  const tooLong = names.find((n) => !n || n.length > 64);
  if (tooLong !== undefined) throw new Error(`judgeOutputs: output name "${tooLong}" must be 1-64 characters`);

  const timeoutMs = Number(env.JUDGE_TIMEOUT_MS) || 90_000;
  const client = new Anthropic({ apiKey: env.ANTHROPIC_API_KEY, baseURL: env.ANTHROPIC_BASE_URL || undefined, maxRetries: 1, timeout: timeoutMs });
  const schema = reviewSchema(names);
  const labelled = (text: string, url: string) => [
    { type: "text" as const, text },
    { type: "image" as const, source: { type: "url" as const, url } },
  ];
  const content: Anthropic.ContentBlockParam[] = [
    ...input.references.flatMap((r, i) => labelled(`Reference ${i + 1} (${r.role}${r.label ? `: ${r.label}` : ""}):`, r.url)),
    ...input.outputs.flatMap((o) => labelled(`Output "${o.name}":`, o.url)),
    {
      type: "text",
      text:
        `<stage>${input.stage}</stage>\n` +
        `Review each output (${names.map((n) => `"${n}"`).join(", ")}) against the references, item by item:\n` +
        RUBRIC_ITEMS.map((k) => `- ${k}: ${RUBRIC[k].question}`).join("\n") +
        `\nSubmit the review with ${JUDGE_TOOL}.`,
    },
  ];

  let message: Anthropic.Message;
  try {
    message = await client.messages.create({
      model,
      // About 120 tokens per item, six items per output, and room to spare.
      max_tokens: Math.min(32_000, 1_000 + 900 * names.length),
      system: SYSTEM,
      tools: [
        {
          name: JUDGE_TOOL,
          description: "Submit the review: for every output, every rubric item.",
          input_schema: transformJSONSchema(z.toJSONSchema(schema)) as Anthropic.Tool.InputSchema,
          strict: true,
        },
      ],
      tool_choice: { type: "tool", name: JUDGE_TOOL },
      messages: [{ role: "user", content }],
    });
  } catch (err) {
    if (err instanceof Anthropic.APIConnectionTimeoutError) {
      return { status: "timeout", reason: `Claude did not answer within ${timeoutMs} ms (two tries)`, model, costUsd: 0 };
    }
    return { status: "error", reason: `Claude call failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500), model, costUsd: 0 };
  }

  const usage = { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens };
  const costUsd = judgeCostUsd(env, usage);
  const tool = message.content.find((b) => b.type === "tool_use");
  if (message.stop_reason === "refusal" || !tool || tool.type !== "tool_use") {
    const said = message.content
      .map((b) => (b.type === "text" ? b.text : ""))
      .join(" ")
      .trim();
    return {
      status: "refused",
      reason: `Claude declined to review (stop_reason ${message.stop_reason})${said ? `: ${said.slice(0, 300)}` : ""}`,
      model,
      usage,
      costUsd,
    };
  }
  const parsed = schema.safeParse(tool.input);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0];
    const cut = message.stop_reason === "max_tokens" ? " (the answer was cut off at max_tokens)" : "";
    return {
      status: "invalid",
      reason:
        `Claude's review failed the schema at ${first?.path.join(".") || "the top"}: ${first?.message ?? "invalid"}` +
        (issues.length > 1 ? ` (and ${issues.length - 1} more)` : "") +
        cut,
      model,
      usage,
      costUsd,
    };
  }
  const findings = input.outputs.flatMap((o) =>
    RUBRIC_ITEMS.map((k) => {
      const a = parsed.data.outputs[o.name]![k];
      const flagged = a.verdict === "flag";
      return FindingSchema.parse({
        asset: o.name,
        check: RUBRIC[k].check,
        verdict: a.verdict,
        score: Math.round((flagged ? a.confidence : 1 - a.confidence) * 1000) / 1000,
        threshold: JUDGE_THRESHOLD,
        reason: a.reason,
        ...(flagged && a.region ? { region: clampRegion(a.region) } : {}),
      });
    }),
  );
  return { status: "answered", findings, model, usage, costUsd };
}

/** A box kept inside the picture. */
function clampRegion(r: Region): Region {
  const x = Math.min(r.x, 1);
  const y = Math.min(r.y, 1);
  return { x, y, w: Math.min(r.w, 1 - x), h: Math.min(r.h, 1 - y) };
}
