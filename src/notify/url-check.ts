/**
 * Where an outbound webhook may go (SSRF): https only, no credentials, and never a private,
 * loopback, link-local or otherwise reserved address, nor a name that only means something inside
 * a network (localhost, *.local, *.internal, single labels). Checked when an endpoint is registered
 * and again before every delivery. WEBHOOK_ALLOW_LOCAL=true lifts the scheme and address rules for
 * local development, where the simulator and test receivers listen on http://127.0.0.1.
 *
 * A public name that resolves to a private address is not caught here (Workers have no DNS API);
 * a deployed Worker's fetch does not reach private networks, so the literal checks are what count.
 */

const RESERVED_V4: [number, number][] = [
  [0x00000000, 8], // "this" network
  [0x0a000000, 8], // private
  [0x64400000, 10], // carrier-grade NAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local (cloud metadata lives here)
  [0xac100000, 12], // private
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0000200, 24], // documentation
  [0xc0a80000, 16], // private
  [0xc6120000, 15], // benchmarking
  [0xc6336400, 24], // documentation
  [0xcb007100, 24], // documentation
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved, broadcast
];

function v4Reserved(ip: number): boolean {
  return RESERVED_V4.some(([base, bits]) => ip >>> (32 - bits) === base >>> (32 - bits));
}

function parseV4(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** The URL parser has already normalised the literal (`[::ffff:127.0.0.1]` → `[::ffff:7f00:1]`). */
function v6Reserved(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "::" || h === "::1") return true;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) return v4Reserved(((parseInt(mapped[1], 16) << 16) | parseInt(mapped[2], 16)) >>> 0);
  const first = parseInt(h.split(":")[0] || "0", 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local
    (first & 0xffc0) === 0xfe80 || // link-local
    (first & 0xff00) === 0xff00 || // multicast
    h.startsWith("64:ff9b:") || // NAT64 (maps to v4, maybe private)
    h.startsWith("2001:db8:") // documentation
  );
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa|localdomain)$/i;

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
  const host = url.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (host.includes(":")) return v6Reserved(host) ? "must not point at a private, loopback or link-local address" : null;
  const v4 = parseV4(host);
  if (v4 !== null) return v4Reserved(v4) ? "must not point at a private, loopback or link-local address" : null;
  if (!host.includes(".") || LOCAL_NAMES.test(host)) return "must name a public host, not a local one";
  return null;
}
