/**
 * Routers written with `@hono/zod-openapi`: a failed validation becomes the same problem+json 400
 * naming each field as every other route answers.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./auth.ts";
import { badRequest, fieldErrors } from "./problem.ts";

export function openApiRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw badRequest(fieldErrors(result.error as never, result.target === "query" || result.target === "param" ? "" : ""));
    },
  });
}

export const problemResponse = (description: string) => ({ description, content: { "application/problem+json": { schema: { type: "object" as const } } } });
