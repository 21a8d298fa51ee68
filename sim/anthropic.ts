/**
 * The Anthropic Messages API under /anthropic, standing in for two callers. The "creative director":
 * it reads the brief from the last user message and answers with the simulator's own rule-based
 * plan (sim/planner.ts), in whichever form the request asked for (forced tool use, structured JSON
 * output, or plain text). The vision judge: a request whose tool is `submit_review` is answered with
 * a review of the images it carries (sim/judge.ts). Every request is kept for
 * `GET /__sim/anthropic/requests` (sim/requests.ts).
 */
import crypto from "node:crypto";
import { Hono, type Context } from "hono";
import type { SimContext } from "./context.ts";
import { checkAnthropicAuth } from "./keys.ts";
import { JUDGE_TOOL, JudgeRequestError, judgeReview, malformed } from "./judge.ts";
import { directorPlan } from "./planner.ts";
import { sleep } from "./webhooks.ts";

interface ContentBlock {
  type: string;
  text?: string;
}
interface MessageParam {
  role: string;
  content: string | ContentBlock[];
}
interface Tool {
  name: string;
  input_schema?: unknown;
}
interface CreateBody {
  model?: unknown;
  max_tokens?: unknown;
  messages?: unknown;
  tools?: Tool[];
  tool_choice?: { type: string; name?: string };
  output_config?: { format?: { type?: string; schema?: unknown } };
  stream?: boolean;
}

function textOf(content: MessageParam["content"]): string {
  if (typeof content === "string") return content;
  return content
    .filter((b) => b.type === "text" && typeof b.text === "string")
    .map((b) => b.text)
    .join("\n");
}

const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

export function anthropicRoutes(ctx: SimContext): Hono {
  const app = new Hono();

  const error = (c: Context, status: number, type: string, message: string) => {
    const id = `req_sim_${crypto.randomBytes(12).toString("hex")}`;
    c.header("request-id", id);
    return c.json({ type: "error", error: { type, message }, request_id: id }, status as 400);
  };

  app.post("/v1/messages", async (c) => {
    const raw = await c.req.text();
    let body: CreateBody | undefined;
    try {
      body = JSON.parse(raw) as CreateBody;
    } catch {
      body = undefined;
    }
    const res = await answer(c, raw, body);
    const toolName = body?.tool_choice?.name ?? (Array.isArray(body?.tools) ? (body.tools[0]?.name ?? null) : null);
    let stopReason: string | null | undefined;
    let failure: string | undefined;
    if (res.headers.get("content-type")?.includes("application/json")) {
      const answered = (await res.clone().json()) as { stop_reason?: string | null; error?: { message?: string } };
      stopReason = answered.stop_reason;
      failure = answered.error?.message;
    }
    ctx.anthropicRequests.add(typeof toolName === "string" ? toolName : null, body ?? raw.slice(0, 2000), {
      status: res.status,
      ...(stopReason !== undefined ? { stopReason } : {}),
      ...(failure ? { error: failure } : {}),
    });
    return res;
  });

  async function answer(c: Context, raw: string, body: CreateBody | undefined): Promise<Response> {
    const auth = checkAnthropicAuth(c.req.header("x-api-key"), c.req.header("authorization"), ctx.config.anthropicKey);
    if (!auth.ok) return error(c, 401, "authentication_error", auth.reason);
    if (ctx.faults.failSubmit()) return error(c, 529, "overloaded_error", "Overloaded (simulated fault)");
    if (!body || typeof body !== "object") return error(c, 400, "invalid_request_error", "Request body is not valid JSON");
    if (typeof body.model !== "string" || !body.model) return error(c, 400, "invalid_request_error", "model: Field required");
    if (typeof body.max_tokens !== "number" || body.max_tokens < 1) {
      return error(c, 400, "invalid_request_error", "max_tokens: Field required");
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return error(c, 400, "invalid_request_error", "messages: at least one message is required");
    }
    const messages = body.messages as MessageParam[];
    const lastUser = [...messages].reverse().find((m) => m?.role === "user");
    if (!lastUser) return error(c, 400, "invalid_request_error", "messages: a user message is required");

    const tools = Array.isArray(body.tools) ? body.tools : [];
    const choice = body.tool_choice;
    let tool: Tool | undefined;
    if (choice?.type === "tool") {
      tool = tools.find((t) => t.name === choice.name);
      if (!tool) return error(c, 400, "invalid_request_error", `tool_choice: tool '${choice.name}' not found in tools`);
    } else if (choice?.type === "any" || (tools.length > 0 && choice?.type !== "none")) {
      tool = tools[0];
    }

    if (ctx.faults.failJob()) return error(c, 500, "api_error", "Internal server error (simulated fault)");

    const fault = ctx.faults.get();
    const schema = tool ? tool.input_schema : body.output_config?.format?.schema;
    let input: unknown;
    let refusal: string | undefined;
    if (tool?.name === JUDGE_TOOL) {
      // The simulated vision judge (sim/judge.ts): it looks at the images and the drift record.
      let review: Awaited<ReturnType<typeof judgeReview>>;
      try {
        review = await judgeReview(ctx, lastUser.content, schema);
      } catch (err) {
        if (err instanceof JudgeRequestError) return error(c, err.status, err.type, err.message);
        throw err;
      }
      await sleep(fault.judgeFault === "slow" ? fault.slowMs : 50, ctx.signal());
      input = fault.judgeFault === "malformed" ? malformed(review) : review;
      if (fault.judgeFault === "refusal") refusal = "I can't help with reviewing these images.";
    } else {
      // The simulator's own creative director (sim/planner.ts), never the product's planner.
      let plan = directorPlan({ text: textOf(lastUser.content), schema });
      await sleep(fault.plannerFault === "slow" ? fault.slowMs : 50, ctx.signal());
      if (fault.plannerFault === "invalid") plan = { ...plan, shots: [], pose: "moonwalk" };
      input = plan;
      if (fault.plannerFault === "refusal") refusal = "I can't help with planning this shoot.";
    }

    const json = JSON.stringify(input);
    const content = refusal
      ? [{ type: "text", text: refusal, citations: null }]
      : tool
        ? [{ type: "tool_use", id: `toolu_sim_${crypto.randomBytes(12).toString("hex")}`, name: tool.name, input }]
        : [{ type: "text", text: json, citations: null }];
    const message = {
      id: `msg_sim_${crypto.randomBytes(12).toString("hex")}`,
      type: "message",
      role: "assistant",
      model: body.model,
      content,
      stop_reason: refusal ? "refusal" : tool ? "tool_use" : "end_turn",
      stop_sequence: null,
      stop_details: null,
      container: null,
      usage: {
        input_tokens: tokens(raw),
        output_tokens: tokens(json),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: null,
        server_tool_use: null,
        service_tier: "standard",
      },
    };
    const reqId = `req_sim_${crypto.randomBytes(12).toString("hex")}`;
    c.header("request-id", reqId);
    ctx.log(`Anthropic ${message.id} (${tool ? `tool ${tool.name}` : body.output_config?.format ? "json output" : "text"})`);
    if (body.stream) return stream(c, message, json, !!tool);
    return c.json(message);
  }

  /** Server-sent events in the Messages streaming format, for clients that use .stream(). */
  function stream(
    c: Context,
    message: { content: { type: string }[]; usage: { output_tokens: number } } & Record<string, unknown>,
    json: string,
    isTool: boolean,
  ) {
    const block = message.content[0] as Record<string, unknown>;
    const events: [string, unknown][] = [
      ["message_start", { type: "message_start", message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } } }],
      [
        "content_block_start",
        { type: "content_block_start", index: 0, content_block: isTool ? { ...block, input: {} } : { type: "text", text: "", citations: null } },
      ],
    ];
    for (let i = 0; i < json.length; i += 256) {
      const piece = json.slice(i, i + 256);
      events.push([
        "content_block_delta",
        { type: "content_block_delta", index: 0, delta: isTool ? { type: "input_json_delta", partial_json: piece } : { type: "text_delta", text: piece } },
      ]);
    }
    events.push(["content_block_stop", { type: "content_block_stop", index: 0 }]);
    events.push([
      "message_delta",
      { type: "message_delta", delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: message.usage.output_tokens } },
    ]);
    events.push(["message_stop", { type: "message_stop" }]);
    const text = events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join("");
    return new Response(text, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": c.res.headers.get("request-id") ?? "" },
    });
  }

  return app;
}
