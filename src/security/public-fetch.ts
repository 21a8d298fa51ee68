/**
 * Fetches a producer-supplied URL (reference photos named in a batch) without letting it reach
 * inside our networks (SSRF): https only, no credentials, default ports, and no loopback, private,
 * link-local or otherwise non-public address or local-only name (src/security/addresses.ts). Every
 * redirect is followed by hand and its target checked the same way before it is requested.
 *
 * Only the literal host is checked: Workers have no DNS API, so a public name that resolves to a
 * private address is not caught here. A deployed Worker's fetch does not reach private networks
 * anyway; these rules are what stand between a URL and the places it could otherwise name.
 */
import { classifyHost } from "./addresses.ts";

export interface PublicFetchOptions {
  /** Local development and tests only: also allow http and loopback addresses (never private or link-local ones). */
  allowLoopback: boolean;
  /** The whole fetch, redirects and body included. */
  timeoutMs: number;
  /** The body is read as a stream and refused once it grows past this. */
  maxBytes: number;
  /** Default 3. */
  maxRedirects?: number;
  /** Default globalThis.fetch; tests pass their own. */
  fetcher?: typeof fetch;
}

export type PublicFetchResult = { ok: true; bytes: Uint8Array; finalUrl: string; contentType: string | null } | { ok: false; reason: string };

type Problem = { text: string; where?: string };

function problemOf(raw: string, allowLoopback: boolean): Problem | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { text: "is not a URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { text: "is not an https URL" };
  if (url.username || url.password) return { text: "carries credentials" };
  const host = classifyHost(url.hostname);
  const loopbackOk = allowLoopback && host.kind === "loopback";
  if (host.kind !== "public" && !loopbackOk) {
    // The hostname is already normalised (127.1 → 127.0.0.1), so it shows the address actually meant.
    const where = `${host.what} (${url.hostname.replace(/^\[|\]$/g, "")})`;
    return { text: `points at ${where}`, where };
  }
  // Plain http is only for local test servers; a public host must be https.
  if (url.protocol === "http:" && !loopbackOk) return { text: "is not an https URL" };
  // Loopback test servers listen on random ports; in production only the default ports are used.
  if (url.port !== "" && url.port !== "443" && url.port !== "80" && !allowLoopback)
    return { text: `uses port ${url.port} (only the default ports 443 and 80 are allowed)` };
  return null;
}

/** Null when `raw` may be fetched, else why not, as a sentence fragment ("points at a private address (10.0.0.5)"). */
export function publicUrlProblem(raw: string, allowLoopback: boolean): string | null {
  return problemOf(raw, allowLoopback)?.text ?? null;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** GETs `url` under the rules above. Never throws: every failure is `{ ok: false, reason }`. */
export async function fetchPublic(url: string, opts: PublicFetchOptions): Promise<PublicFetchResult> {
  // Wrapped rather than passed bare: workerd refuses a fetch called with a foreign `this`.
  const fetcher: typeof fetch = opts.fetcher ?? ((input, init) => fetch(input, init));
  const maxRedirects = opts.maxRedirects ?? 3;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  const fail = (reason: string): PublicFetchResult => ({ ok: false, reason });
  try {
    let current = url;
    for (let redirects = 0; ; redirects++) {
      const problem = problemOf(current, opts.allowLoopback);
      if (problem && redirects === 0) return fail(problem.text);
      if (problem) return fail(problem.where ? `redirects to ${problem.where}` : `redirects to a URL that ${problem.text}`);

      const res = await abortable(fetcher(current, { redirect: "manual", signal: controller.signal }), controller.signal);
      if (REDIRECTS.has(res.status)) {
        await discard(res);
        const location = res.headers.get("location");
        if (!location) return fail(`answered ${res.status} without saying where to`);
        if (redirects >= maxRedirects) return fail(`redirects more than ${maxRedirects} times`);
        const next = URL.canParse(location, current) ? new URL(location, current).href : null;
        if (!next) return fail("redirects to something that is not a URL");
        current = next;
        continue;
      }
      if (res.status < 200 || res.status > 299) {
        await discard(res);
        return fail(`answered ${res.status}`);
      }
      // A declared length over the cap is refused unread; an absent or lying one is caught on the stream.
      if (Number(res.headers.get("content-length") ?? 0) > opts.maxBytes) {
        await discard(res);
        return fail(`is larger than ${formatBytes(opts.maxBytes)}`);
      }
      const bytes = await readCapped(res, opts.maxBytes, controller.signal);
      if (!bytes) return fail(`is larger than ${formatBytes(opts.maxBytes)}`);
      return { ok: true, bytes, finalUrl: current, contentType: res.headers.get("content-type") };
    }
  } catch (err) {
    if (controller.signal.aborted) return fail(`timed out after ${formatSeconds(opts.timeoutMs)}`);
    return fail(`could not be fetched (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    clearTimeout(timer);
  }
}

/** The body, or null once it passes `max` bytes (the rest is not read). */
async function readCapped(res: Response, max: number, signal: AbortSignal): Promise<Uint8Array | null> {
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await abortable(reader.read(), signal);
      if (done) break;
      total += value.byteLength;
      if (total > max) return null;
      chunks.push(value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Rejects when `signal` aborts, even if the promise ignores it (a fetcher or stream that does not listen). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error("aborted"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Frees the connection of a response whose body we do not want. */
async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KB`;
  return `${n} bytes`;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
