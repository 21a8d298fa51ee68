/**
 * The API client: openapi-fetch on the types generated from the OpenAPI document, the key in
 * sessionStorage sent as a bearer token, problem+json answers turned into ApiError.
 */
import { signal } from "@preact/signals";
import createClient from "openapi-fetch";
import type { paths } from "../../src/api/openapi.gen.ts";
import type { ProblemBody } from "./types.ts";

const KEY = "atelier.apiKey";
export const apiKey = signal<string | null>(sessionStorage.getItem(KEY));

/** `npm start` prints a link with `#key=…`: keep the key for this tab and take it out of the address bar. */
export function adoptKeyFromFragment() {
  const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (!m) return;
  setKey(decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname + location.search);
}

export function setKey(key: string | null) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
  apiKey.value = key;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemBody,
  ) {
    super(problem.detail || problem.title);
  }
  /** The message the server gave for one field, e.g. `files[0]`. */
  field(name: string) {
    return this.problem.errors?.find((e) => e.field === name)?.message;
  }
}

export const client = createClient<paths>({ baseUrl: location.origin });
client.use({
  onRequest({ request, schemaPath }) {
    // Review-link routes take the token in the path, never the producer's key.
    if (apiKey.value && !schemaPath.startsWith("/api/review/")) request.headers.set("authorization", `Bearer ${apiKey.value}`);
    return request;
  },
  onResponse({ response, schemaPath }) {
    if (response.status === 401 && !schemaPath.startsWith("/api/review/")) setKey(null);
    return response;
  },
});

/** Awaits an openapi-fetch call: its data, or an ApiError with the problem (or a network error). */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await call;
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, {
      type: "about:blank",
      title: "Network error",
      status: 0,
      detail: "the server could not be reached; check your connection and try again",
    });
  }
  if (r.response.ok) return r.data as T;
  const p = r.error as ProblemBody | undefined;
  throw new ApiError(
    r.response.status,
    p?.title ? p : { type: "about:blank", title: r.response.statusText, status: r.response.status, detail: `the server answered ${r.response.status}` },
  );
}

/**
 * Like `ok`, for answers whose type openapi-fetch widens (its read/write mapping turns tuples such as
 * a cubic-bezier's four numbers into arrays): the generated component type, asserted.
 */
export const okAs = <T>(call: Promise<{ data?: unknown; error?: unknown; response: Response }>) => ok(call) as Promise<T>;

/** Fetches with the key and saves the answer as a file (for downloads that need the bearer header). */
export async function downloadWithKey(path: string, filename: string) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${apiKey.value}` } });
  if (!res.ok) {
    const problem = (await res.json().catch(() => null)) as ProblemBody | null;
    throw new ApiError(res.status, problem ?? { type: "about:blank", title: res.statusText, status: res.status, detail: `the server answered ${res.status}` });
  }
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
