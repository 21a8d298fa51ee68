/**
 * The API client: openapi-fetch on the types generated from the OpenAPI document (as web/src/api.ts),
 * configured from ATELIER_URL and ATELIER_KEY; answers unwrapped into data or a CliError whose exit
 * code tells a refused request (3) from a failed or unreachable service (4).
 */
import createClient from "openapi-fetch";
import type { components, paths, Problem } from "../src/api/types.ts";
import { CliError, EXIT, usageError } from "./exit.ts";
import { describeProblem, type FieldNamer } from "./problems.ts";

export type Api = ReturnType<typeof createClient<paths>>;
export type Schemas = components["schemas"];

/** The client for the service named by the environment; a usage error when it names none. */
export function connect(env: NodeJS.ProcessEnv = process.env): Api {
  const url = env.ATELIER_URL?.trim();
  const key = env.ATELIER_KEY?.trim();
  const missing = [!url && "ATELIER_URL (the service, e.g. http://localhost:8787)", !key && "ATELIER_KEY (an API key)"].filter(Boolean);
  if (missing.length) throw usageError(`set ${missing.join(" and ")} in the environment`);
  if (!URL.canParse(url!)) throw usageError(`ATELIER_URL is not a URL: ${url}`);
  return createClient<paths>({ baseUrl: url!.replace(/\/+$/, ""), headers: { authorization: `Bearer ${key}` } });
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** Awaits an openapi-fetch call: its data and status, or a CliError (`namer` words a 400's fields). */
export async function answer<T>(call: Promise<Answer<T>>, namer?: FieldNamer): Promise<{ data: T; status: number }> {
  let r: Answer<T>;
  try {
    r = await call;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(EXIT.unavailable, `could not reach the service: ${cause?.code ?? cause?.message ?? String(err)}`);
  }
  if (r.response.ok) return { data: r.data as T, status: r.response.status };
  const status = r.response.status;
  const problem = r.error as Partial<Problem> | undefined;
  if (status >= 400 && status < 500) throw new CliError(EXIT.refused, describeProblem(status, problem, namer));
  throw new CliError(EXIT.unavailable, `the service failed (${status}${problem?.detail ? `: ${problem.detail}` : ""}); try again`);
}

/** The data of an openapi-fetch call, or a CliError. */
export const ok = async <T>(call: Promise<Answer<T>>, namer?: FieldNamer): Promise<T> => (await answer(call, namer)).data;
