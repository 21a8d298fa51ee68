/**
 * The last Messages API requests the simulator was sent (`GET /__sim/anthropic/requests`), so a test
 * can check their shape: the body as sent, with credential-like URL parameters hidden and base64
 * image data replaced by its length, and how it was answered.
 */
import { redactUrl } from "./config.ts";

export interface LoggedRequest {
  at: string;
  /** The forced or first tool's name, or null for a JSON or text answer. */
  tool: string | null;
  body: unknown;
  /** HTTP status and, for a message, its stop_reason. */
  answer: { status: number; stopReason?: string | null; error?: string };
}

const KEEP = 50;

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (!value || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (o.type === "url" && typeof o.url === "string") return { ...o, url: redactUrl(o.url) };
  if (o.type === "base64" && typeof o.data === "string") return { ...o, data: `<${Buffer.byteLength(o.data, "base64")} bytes of base64>` };
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, redact(v)]));
}

export class RequestLog {
  private list: LoggedRequest[] = [];
  add(tool: string | null, body: unknown, answer: LoggedRequest["answer"]): void {
    this.list.push({ at: new Date().toISOString(), tool, body: redact(body), answer });
    if (this.list.length > KEEP) this.list.splice(0, this.list.length - KEEP);
  }
  /** Oldest first. */
  all(): LoggedRequest[] {
    return [...this.list];
  }
  clear(): void {
    this.list = [];
  }
}
