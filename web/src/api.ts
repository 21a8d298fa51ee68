/** The API client: the key (sessionStorage), bearer requests, problem+json errors as exceptions. */
import { signal } from "@preact/signals";
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
  constructor(readonly status: number, readonly problem: ProblemBody) {
    super(problem.detail || problem.title);
  }
  /** The message the server gave for one field, e.g. `files[0]`. */
  field(name: string) {
    return this.problem.errors?.find((e) => e.field === name)?.message;
  }
}

export async function api<T>(method: string, path: string, body?: unknown, opts: { auth?: boolean; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.auth !== false && apiKey.value) headers.authorization = `Bearer ${apiKey.value}`;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, signal: opts.signal });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, { title: "Network error", status: 0, detail: "the server could not be reached; check your connection and try again" });
  }
  if (res.status === 401 && opts.auth !== false) setKey(null);
  if (!res.ok) {
    const problem = (await res.json().catch(() => null)) as ProblemBody | null;
    throw new ApiError(res.status, problem ?? { title: res.statusText, status: res.status, detail: `the server answered ${res.status}` });
  }
  return (res.status === 204 ? null : await res.json()) as T;
}

/** Fetches with the key and saves the answer as a file (for downloads that need the bearer header). */
export async function downloadWithKey(path: string, filename: string) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${apiKey.value}` } });
  if (!res.ok) {
    const problem = (await res.json().catch(() => null)) as ProblemBody | null;
    throw new ApiError(res.status, problem ?? { title: res.statusText, status: res.status, detail: `the server answered ${res.status}` });
  }
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
