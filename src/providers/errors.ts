/**
 * A provider refused a call (HTTP 4xx/5xx with an answer). Transient refusals (429, 408, 5xx) are
 * tried again after `retryAfterMs` when the provider said how long to wait; validation and
 * content-policy refusals are not, since the same request would be refused again.
 */
export class ProviderRefusal extends Error {
  override name = "ProviderRefusal";
  constructor(
    readonly provider: string,
    readonly status: number,
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
  get transient(): boolean {
    return isTransientStatus(this.status);
  }
}

export const isTransientStatus = (status: number) => status === 429 || status === 408 || status >= 500;

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** Words providers use when they refuse content; such a failure is not worth the same try again. */
const REFUSAL = /content[ _-]?(policy|checker|moderation|security)|moderat|risk control|safety|flagged|nsfw/i;

export function looksLikeRefusal(message: string): boolean {
  return REFUSAL.test(message);
}

/**
 * FAL could not download an input (`file_download_error`). Every input we send is our own signed
 * URL, so this means our side was unreachable for a moment (a runtime restart, a deploy): a new
 * try, with freshly signed URLs, is worth it, unlike a validation or content-policy refusal.
 */
export function inputUnreachable(detailOrText: unknown): boolean {
  if (Array.isArray(detailOrText)) return detailOrText.some((d) => (d as { type?: unknown } | null)?.type === "file_download_error");
  return typeof detailOrText === "string" && detailOrText.includes("file_download_error");
}
