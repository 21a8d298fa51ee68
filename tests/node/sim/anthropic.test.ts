import Anthropic from "@anthropic-ai/sdk";
import { zodOutputFormat } from "@anthropic-ai/sdk/helpers/zod";
import type { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSim } from "./helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;

// The sim answers by its own rules (sim/planner.ts); the product's schema only judges the answer.
const { PlanSchema } = (await import("../../../src/domain/plan.ts")) as { PlanSchema: z.ZodType };

describe("Anthropic Messages API", () => {
  let sim: Sim;
  let client: Anthropic;

  beforeAll(async () => {
    sim = await startTestSim();
    client = new Anthropic({ apiKey: "sk-ant-test", baseURL: `${sim.url}/anthropic`, maxRetries: 0 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  const userText = "Here are the references.\n<brief>industrial streetwear editorial, raw concrete energy</brief>\nPlan the shoot.";

  it("answers a forced tool call with the plan as the tool input", async () => {
    const message = await client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 2048,
      system: "You are a creative director.",
      tools: [{ name: "submit_plan", description: "Submit the shoot plan", input_schema: { type: "object", properties: {} } }],
      tool_choice: { type: "tool", name: "submit_plan" },
      messages: [{ role: "user", content: [{ type: "text", text: userText }] }],
    });
    expect(message).toMatchObject({ type: "message", role: "assistant", model: "claude-sonnet-4-6", stop_reason: "tool_use" });
    expect(message.id).toMatch(/^msg_/);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    const block = message.content[0];
    expect(block.type).toBe("tool_use");
    if (block.type !== "tool_use") return;
    expect(block.name).toBe("submit_plan");
    const plan = PlanSchema.parse(block.input) as { background: string; planner: string; shots: unknown[] };
    expect(plan.background).toBe("industrial");
    expect(plan.planner).toBe("claude");
    expect(plan.shots).toHaveLength(6);
  });

  it("answers structured output (output_config.format) with parseable JSON via messages.parse", async () => {
    const message = await client.messages.parse({
      model: "claude-sonnet-4-6",
      max_tokens: 2048,
      messages: [{ role: "user", content: "<brief>colorful vibrant campaign</brief>" }],
      output_config: { format: zodOutputFormat(PlanSchema as z.ZodObject) },
    });
    expect(message.stop_reason).toBe("end_turn");
    expect((message.parsed_output as { background: string }).background).toBe("color-gel");
  });

  it("falls back to the whole text as the brief, and honours preset tags", async () => {
    const message = await client.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 1024,
      messages: [{ role: "user", content: "a warm intimate portrait series <background>studio-black</background>" }],
    });
    const block = message.content[0];
    expect(block.type).toBe("text");
    if (block.type !== "text") return;
    const plan = JSON.parse(block.text) as { pose: string; background: string };
    expect(plan).toMatchObject({ pose: "seated-editorial", background: "studio-black" });
  });

  it("streams the same answer for clients that use messages.stream", async () => {
    const final = await client.messages
      .stream({ model: "claude-sonnet-4-6", max_tokens: 1024, messages: [{ role: "user", content: "<brief>street style</brief>" }] })
      .finalMessage();
    const block = final.content[0];
    expect(block.type === "text" && (JSON.parse(block.text) as { background: string }).background).toBe("outdoor-urban");
  });

  it("picks only options the request offers, and answers only the schema's properties", async () => {
    const message = await client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 2048,
      tools: [
        {
          name: "submit_plan",
          input_schema: {
            type: "object",
            properties: {
              pose: { type: "string", enum: ["street-walk", "relaxed-natural"] },
              background: { type: "string", enum: ["studio-grey", "studio-white"] },
              style: { type: "string", enum: ["soft-film"] },
              shots: { type: "array" },
            },
          },
        },
      ],
      tool_choice: { type: "tool", name: "submit_plan" },
      messages: [
        { role: "user", content: "<brief>industrial concrete warehouse, casual and relaxed</brief>\n<fixed_presets>pose=street-walk</fixed_presets>" },
      ],
    });
    const block = message.content[0];
    expect(block.type).toBe("tool_use");
    if (block.type !== "tool_use") return;
    const input = block.input as Record<string, unknown>;
    expect(Object.keys(input).sort()).toEqual(["background", "pose", "shots", "style"]);
    expect(input).toMatchObject({ pose: "street-walk", background: "studio-grey", style: "soft-film" });
    expect(input.shots).toHaveLength(6);
  });

  it("rejects a request without an API key", async () => {
    const res = await fetch(`${sim.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });
});
