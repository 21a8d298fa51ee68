/**
 * Errors as RFC 9457 problem+json. Validation problems name each offending field, so a client can
 * point at it; anything unexpected becomes a 500 without internals.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";

export interface FieldError {
  field: string;
  message: string;
}

export class Problem extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 410 | 411 | 413 | 415 | 416 | 422 | 429 | 503,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** Members a problem type adds (RFC 9457 extensions), e.g. a refused batch's rows as read. */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail);
  }
}

export const badRequest = (errors: FieldError[], extensions?: Record<string, unknown>) =>
  new Problem(400, "Invalid request", errors.map((e) => `${e.field}: ${e.message}`).join("; "), errors, extensions);
export const notFound = (what: string) => new Problem(404, "Not found", `${what} was not found`);
export const conflict = (detail: string) => new Problem(409, "Conflict", detail);

export function fieldErrors(error: z.ZodError, prefix = ""): FieldError[] {
  return error.issues.flatMap((i) => {
    const at = i.path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), prefix);
    // An unknown key is named itself, so the client sees which field to drop.
    if (i.code === "unrecognized_keys") return i.keys.map((k) => ({ field: at ? `${at}.${k}` : k, message: "is not a known field" }));
    return [{ field: at || "body", message: i.message }];
  });
}

/**
 * The routers' validation hook: a request that fails its route's schema is a 400 naming each field.
 * A path parameter that names nothing (an unknown stage) is a 404, as an unknown path is.
 */
export function validationProblem(result: { target: string; success: boolean; error?: z.ZodError }, c: Context): void {
  if (result.success || !result.error) return;
  if (result.target === "param") {
    const params = c.req.param() as Record<string, string>;
    throw notFound(
      fieldErrors(result.error)
        .map((e) => `${e.field} "${params[e.field] ?? ""}"`)
        .join(", "),
    );
  }
  throw badRequest(fieldErrors(result.error));
}

export function renderProblem(c: Context, err: unknown): Response {
  if (err instanceof Problem) {
    const retryAfter = (err as { retryAfter?: number }).retryAfter;
    return c.json(
      { type: "about:blank", title: err.title, status: err.status, detail: err.detail, ...(err.errors ? { errors: err.errors } : {}), ...err.extensions },
      err.status,
      { "content-type": "application/problem+json", ...(retryAfter ? { "retry-after": String(retryAfter) } : {}) },
    );
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own rejections (a body that is not JSON, a wrong content type) in the same shape.
    const status = err.status as Problem["status"];
    const body =
      err.status === 400 ? badRequest([{ field: "body", message: err.message || "is not valid" }]) : new Problem(status, "Unsupported request", err.message);
    return renderProblem(c, body);
  }
  console.error(JSON.stringify({ msg: "unhandled error", path: new URL(c.req.url).pathname, error: String(err), stack: (err as Error)?.stack }));
  return c.json({ type: "about:blank", title: "Internal error", status: 500, detail: "Something went wrong on our side; nothing was changed." }, 500, {
    "content-type": "application/problem+json",
  });
}
