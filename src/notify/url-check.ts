/**
 * Where an outbound webhook may go (SSRF): https only, no credentials, and never a private,
 * loopback, link-local or otherwise reserved address, nor a name that only means something inside
 * a network (localhost, *.local, *.internal, single labels); the classification is shared with the
 * reference-photo fetcher (src/security/addresses.ts). Checked when an endpoint is registered and
 * again before every delivery. WEBHOOK_ALLOW_LOCAL=true lifts the scheme and address rules for
 * local development, where the simulator and test receivers listen on http://127.0.0.1.
 *
 * A public name that resolves to a private address is not caught here (Workers have no DNS API);
 * a deployed Worker's fetch does not reach private networks, so the literal checks are what count.
 */
import { classifyHost } from "../security/addresses.ts";

/** Null when the URL may receive webhooks, else why not (the message for the `url` field). */
export function webhookUrlProblem(raw: string, allowLocal: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  if (allowLocal) return url.protocol === "https:" || url.protocol === "http:" ? null : "must be an http(s) URL";
  if (url.protocol !== "https:") return "must be an https URL";
  const host = classifyHost(url.hostname);
  if (host.kind === "public") return null;
  return host.literal ? "must not point at a private, loopback or link-local address" : "must name a public host, not a local one";
}
