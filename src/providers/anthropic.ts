/**
 * The Claude planner: brief + reference images -> a Plan, through strict tool use so the answer is
 * structured, then validated with zod. Used only when ANTHROPIC_API_KEY is configured.
 */
import Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import { PlanSchema, type Plan } from "../domain/plan.ts";
import { BACKGROUNDS, POSES, STYLES, type Presets } from "../domain/presets.ts";

const PlanInputSchema = PlanSchema.omit({ planner: true, plannerReason: true });

/** Claude gave no usable plan; `reason` says why in a reviewer's words, and the rules plan instead. */
export class PlannerFallback extends Error {
  override name = "PlannerFallback";
  constructor(
    readonly reason: "refusal" | "timeout" | "invalid" | "error",
    message: string,
  ) {
    super(message);
  }
}

export async function planWithClaude(
  env: Pick<Env, "ANTHROPIC_API_KEY" | "ANTHROPIC_BASE_URL" | "ANTHROPIC_MODEL"> & { ANTHROPIC_TIMEOUT_MS?: string },
  brief: string,
  referenceUrls: string[],
  presets: Partial<Presets>,
  feedback: string | null,
): Promise<Plan> {
  const client = new Anthropic({
    apiKey: env.ANTHROPIC_API_KEY,
    baseURL: env.ANTHROPIC_BASE_URL || undefined,
    maxRetries: 1,
    timeout: Number(env.ANTHROPIC_TIMEOUT_MS) || 60_000,
  });
  const catalogue = [
    `Poses: ${Object.entries(POSES)
      .map(([k, v]) => `${k} (${v})`)
      .join("; ")}`,
    `Backgrounds: ${Object.entries(BACKGROUNDS)
      .map(([k, v]) => `${k} (${v})`)
      .join("; ")}`,
    `Styles: ${Object.keys(STYLES).join(", ")}`,
  ].join("\n");
  const fixed = Object.entries(presets)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const message = await client.messages
    .create({
      model: env.ANTHROPIC_MODEL,
      max_tokens: 2000,
      system:
        "You are the creative director of an editorial fashion shoot. Plan the shoot from the brief and the " +
        "reference photos: choose presets from the catalogue, write wardrobe notes that keep every garment and " +
        "accessory unchanged, six shots (beauty portrait, high-angle three-quarter, low-angle full body, long-lens " +
        "profile, intimate close portrait, extreme detail) and six camera moves between consecutive frames " +
        "(the sixth returns from frame 6 to frame 1).",
      tools: [
        {
          name: "submit_plan",
          description: "Submit the shoot plan.",
          input_schema: z.toJSONSchema(PlanInputSchema) as Anthropic.Tool.InputSchema,
          strict: true,
        },
      ],
      tool_choice: { type: "tool", name: "submit_plan" },
      messages: [
        {
          role: "user",
          content: [
            ...referenceUrls.map((url) => ({ type: "image" as const, source: { type: "url" as const, url } })),
            {
              type: "text",
              text:
                `<brief>${brief}</brief>\n<catalogue>\n${catalogue}\n</catalogue>` +
                (fixed ? `\n<fixed_presets>${fixed}</fixed_presets>` : "") +
                (feedback ? `\n<feedback>${feedback}</feedback>` : ""),
            },
          ],
        },
      ],
    })
    .catch((err: unknown) => {
      if (err instanceof Anthropic.APIConnectionTimeoutError)
        throw new PlannerFallback("timeout", `Claude did not answer within ${Number(env.ANTHROPIC_TIMEOUT_MS) || 60_000} ms`);
      throw new PlannerFallback("error", `Claude call failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 400));
    });
  const tool = message.content.find((b) => b.type === "tool_use");
  if ((message.stop_reason as string) === "refusal" || !tool || tool.type !== "tool_use") {
    const said = message.content
      .map((b) => (b.type === "text" ? b.text : ""))
      .join(" ")
      .trim();
    throw new PlannerFallback("refusal", `Claude declined to plan (stop_reason ${message.stop_reason})${said ? `: ${said.slice(0, 200)}` : ""}`);
  }
  const parsed = PlanInputSchema.safeParse(tool.input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PlannerFallback("invalid", `Claude's plan failed the schema at ${issue?.path.join(".") || "the top"}: ${issue?.message ?? "invalid"}`);
  }
  // Explicit choices from the producer always win over the model's.
  return { ...parsed.data, ...Object.fromEntries(Object.entries(presets).filter(([, v]) => v)), planner: "claude", plannerReason: "planned by Claude" };
}
