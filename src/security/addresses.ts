/**
 * What a URL's host is, for SSRF rules shared by outbound webhooks (src/notify/url-check.ts) and the
 * reference-photo fetcher (public-fetch.ts): public, loopback, or some other non-public address or
 * name (private, carrier-grade NAT, link-local and cloud metadata, unique-local, multicast, reserved,
 * documentation, benchmarking, names that only mean something inside a network).
 *
 * It takes `URL.hostname`, which the WHATWG parser has already normalised: every IPv4 spelling
 * (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`, full-width digits, a trailing dot) becomes dotted
 * decimal, and IPv6 literals become lower-case compressed hex (`[::ffff:127.0.0.1]` → `[::ffff:7f00:1]`).
 * Only those normal forms are recognised here; anything else is treated as a name.
 */

export type HostKind = "public" | "loopback" | "non-public";

export interface HostClass {
  kind: HostKind;
  /** What the host is, for messages: "a private address", "a local-only name"… ("a public host" when public). */
  what: string;
  /** An IP literal rather than a name. */
  literal: boolean;
}

/** IPv4 ranges that are not publicly routable (RFC 6890 and friends). */
const RESERVED_V4: readonly (readonly [base: number, bits: number, what: string])[] = [
  [0x00000000, 8, "a “this network” address"],
  [0x0a000000, 8, "a private address"],
  [0x64400000, 10, "a carrier-grade NAT address"],
  [0x7f000000, 8, "a loopback address"],
  [0xa9fe0000, 16, "a link-local address"],
  [0xac100000, 12, "a private address"],
  [0xc0000000, 24, "an IETF protocol address"],
  [0xc0000200, 24, "a documentation address"],
  [0xc0586300, 24, "a deprecated 6to4 relay address"],
  [0xc0a80000, 16, "a private address"],
  [0xc6120000, 15, "a benchmarking address"],
  [0xc6336400, 24, "a documentation address"],
  [0xcb007100, 24, "a documentation address"],
  [0xe0000000, 4, "a multicast address"],
  [0xf0000000, 4, "a reserved address"], // includes broadcast 255.255.255.255
];

/**
 * Instance metadata services, named as such in messages because they hold cloud credentials.
 * 168.63.129.16 (Azure's platform address) is outside every reserved range, so it is listed to be refused.
 */
const METADATA_V4 = new Set([0xa9fea9fe /* 169.254.169.254 */, 0xa9feaa02 /* 169.254.170.2, ECS */, 0xa83f8110 /* 168.63.129.16 */]);
const METADATA_V6 = [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254]; // fd00:ec2::254, AWS's IPv6 endpoint
const METADATA_NAMES = /^(metadata\.google\.internal|metadata)$/;

/** Names that never belong to a public host (RFC 6761, 6762 appendix G, 8375). */
const LOCAL_NAMES = /(^|\.)(local|internal|intranet|lan|home\.arpa|localdomain|corp|home|private)$/;
const LOOPBACK_NAMES = /(^|\.)localhost$/;

/** Dotted-decimal IPv4 (the URL parser's output) as a 32-bit number, else null. */
export function parseV4(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** An IPv6 literal (no brackets; a dotted IPv4 tail is accepted) as eight 16-bit groups, else null. */
export function parseV6(host: string): number[] | null {
  let h = host.toLowerCase();
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (tail) {
    const v4 = parseV4(tail[1]);
    if (v4 === null) return null;
    h = `${h.slice(0, -tail[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = h.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...rest];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return all.map((g) => parseInt(g, 16));
}

function classifyV4(ip: number): HostClass {
  if (METADATA_V4.has(ip)) return { kind: "non-public", what: "a cloud metadata address", literal: true };
  const hit = RESERVED_V4.find(([base, bits]) => ip >>> (32 - bits) === base >>> (32 - bits));
  if (!hit) return { kind: "public", what: "a public host", literal: true };
  return { kind: hit[0] === 0x7f000000 ? "loopback" : "non-public", what: hit[2], literal: true };
}

/** IPv6 prefixes that are not publicly routable, as [first groups, prefix bits, what]. First match wins. */
const RESERVED_V6: readonly (readonly [prefix: number[], bits: number, what: string])[] = [
  [[0x0064, 0xff9b, 0x0001], 48, "a local-use NAT64 address"],
  [[0x0100, 0, 0, 0], 64, "a discard-only address"],
  [[0x2001, 0x0000], 32, "a Teredo tunnel address"],
  [[0x2001, 0x0002, 0x0000], 48, "a benchmarking address"],
  [[0x2001, 0x0010], 28, "an ORCHID address"],
  [[0x2001, 0x0020], 28, "an ORCHID address"],
  [[0x2001, 0x0db8], 32, "a documentation address"],
  [[0x3fff, 0x0000], 20, "a documentation address"],
  [[0x5f00], 16, "a segment-routing address"],
  [[0xfc00], 7, "a unique-local address"],
  [[0xfe80], 10, "a link-local address"],
  [[0xfec0], 10, "a site-local address"],
  [[0xff00], 8, "a multicast address"],
];

function inPrefix(g: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < prefix.length; i++) {
    const take = Math.min(16, bits - 16 * i);
    if (take <= 0) break;
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((g[i] & mask) !== (prefix[i] & mask)) return false;
  }
  return true;
}

const v4Of = (hi: number, lo: number) => ((hi << 16) | lo) >>> 0;

/** An address that carries an IPv4 one is as reachable as that one: refused when the IPv4 is not public. */
function embedded(ip: number, form: string): HostClass {
  const inner = classifyV4(ip);
  if (inner.kind === "public") return inner;
  // Never "loopback": local development allows 127.0.0.1 and ::1 as written, not translated forms.
  return { kind: "non-public", what: `${form} of ${inner.what}`, literal: true };
}

function classifyV6(g: number[]): HostClass {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return { kind: "non-public", what: "the unspecified address", literal: true };
  if (zeros(0, 7) && g[7] === 1) return { kind: "loopback", what: "a loopback address", literal: true };
  if (zeros(0, 5) && g[5] === 0xffff) return embedded(v4Of(g[6], g[7]), "an IPv4-mapped form");
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return embedded(v4Of(g[6], g[7]), "an IPv4-translated form");
  // IPv4-compatible (::a.b.c.d) is deprecated (RFC 4291): nothing public lives there.
  if (zeros(0, 6)) return { kind: "non-public", what: "a deprecated IPv4-compatible address", literal: true };
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embedded(v4Of(g[6], g[7]), "a NAT64 form");
  if (g[0] === 0x2002) return embedded(v4Of(g[1], g[2]), "a 6to4 form");
  const hit = RESERVED_V6.find(([prefix, bits]) => inPrefix(g, prefix, bits));
  if (hit) return { kind: "non-public", what: hit[2], literal: true };
  // Only 2000::/3 is allocated for global unicast; everything else left is IANA-reserved.
  if ((g[0] & 0xe000) !== 0x2000) return { kind: "non-public", what: "a reserved address", literal: true };
  return { kind: "public", what: "a public host", literal: true };
}

/** Classifies `URL.hostname` (brackets and one trailing dot allowed). */
export function classifyHost(hostname: string): HostClass {
  const host = hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (host.includes(":")) {
    const groups = parseV6(host);
    if (!groups) return { kind: "non-public", what: "a malformed address", literal: true };
    if (groups.every((x, i) => x === METADATA_V6[i])) return { kind: "non-public", what: "a cloud metadata address", literal: true };
    return classifyV6(groups);
  }
  const v4 = parseV4(host);
  if (v4 !== null) return classifyV4(v4);
  if (LOOPBACK_NAMES.test(host)) return { kind: "loopback", what: "a loopback name", literal: false };
  if (METADATA_NAMES.test(host)) return { kind: "non-public", what: "a cloud metadata name", literal: false };
  if (!host.includes(".") || LOCAL_NAMES.test(host)) return { kind: "non-public", what: "a local-only name", literal: false };
  return { kind: "public", what: "a public host", literal: false };
}
