/**
 * The SSRF address rules shared by webhooks and the reference-photo fetcher. Every IPv4 spelling is
 * left to the WHATWG URL parser, which normalises it to dotted decimal; these tests show that each
 * spelling we know of does normalise, and is refused.
 */
import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../../src/notify/url-check.ts";
import { classifyHost, parseV6 } from "../../../src/security/addresses.ts";
import { publicUrlProblem } from "../../../src/security/public-fetch.ts";

const FULL_WIDTH = (s: string) => s.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));

/** Ways to write a.b.c.d in a URL host that the URL parser turns back into a.b.c.d. */
function v4Spellings([a, b, c, d]: number[]): string[] {
  const n = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  const oct = (x: number) => `0${x.toString(8)}`;
  const hex = (x: number) => `0x${x.toString(16)}`;
  return [
    `${a}.${b}.${c}.${d}`,
    String(n), // decimal
    hex(n), // hex
    `0X${n.toString(16).toUpperCase()}`, // uppercase hex
    `0${n.toString(8)}`, // octal
    `${hex(a)}.${hex(b)}.${hex(c)}.${hex(d)}`,
    `${oct(a)}.${oct(b)}.${oct(c)}.${oct(d)}`,
    `${a}.${b}.${(c << 8) | d}`, // short: a.b.16bit
    `${a}.${(b << 16) | (c << 8) | d}`, // short: a.24bit
    `${hex(a)}.${oct(b)}.${c}.${d}`, // mixed
    `${oct(a)}.${hex((b << 16) | (c << 8) | d)}`, // mixed and short
    FULL_WIDTH(`${a}.${b}.${c}.${d}`), // full-width digits
    `${a}。${b}。${c}。${d}`, // ideographic full stops
    `${a}.${b}.${c}.${d}.`, // trailing dot
    `%3${String(a)[0]}${String(a).slice(1)}.${b}.${c}.${d}`, // percent-encoded first digit
  ];
}

/** IPv6 literals that carry a.b.c.d (the parser rewrites the dotted tail as hex). */
function v6Carriers([a, b, c, d]: number[]): string[] {
  const hi = ((a << 8) | b).toString(16);
  const lo = ((c << 8) | d).toString(16);
  return [
    `[::ffff:${a}.${b}.${c}.${d}]`, // IPv4-mapped
    `[::FFFF:${hi.toUpperCase()}:${lo.toUpperCase()}]`, // mapped, uppercase hex
    `[0:0:0:0:0:ffff:${hi}:${lo}]`, // mapped, uncompressed
    `[::${a}.${b}.${c}.${d}]`, // IPv4-compatible
    `[::ffff:0:${a}.${b}.${c}.${d}]`, // IPv4-translated
    `[64:ff9b::${a}.${b}.${c}.${d}]`, // NAT64
    `[2002:${hi}:${lo}::1]`, // 6to4
  ];
}

const NON_PUBLIC_V4: [number[], string][] = [
  [[10, 0, 0, 5], "a private address"],
  [[172, 16, 3, 4], "a private address"],
  [[172, 31, 255, 255], "a private address"],
  [[192, 168, 1, 10], "a private address"],
  [[100, 64, 0, 1], "a carrier-grade NAT address"],
  [[100, 127, 255, 254], "a carrier-grade NAT address"],
  [[169, 254, 169, 254], "a cloud metadata address"],
  [[169, 254, 1, 1], "a link-local address"],
  [[0, 0, 0, 0], "a “this network” address"],
  [[0, 1, 2, 3], "a “this network” address"],
  [[192, 0, 0, 8], "an IETF protocol address"],
  [[192, 0, 2, 1], "a documentation address"],
  [[198, 51, 100, 7], "a documentation address"],
  [[203, 0, 113, 9], "a documentation address"],
  [[198, 18, 0, 1], "a benchmarking address"],
  [[198, 19, 255, 1], "a benchmarking address"],
  [[224, 0, 0, 1], "a multicast address"],
  [[240, 0, 0, 1], "a reserved address"],
  [[255, 255, 255, 255], "a reserved address"],
];

describe("IPv4 spellings normalise through the URL parser", () => {
  for (const [ip] of [...NON_PUBLIC_V4, [[127, 0, 0, 1], ""] as [number[], string]]) {
    it(`every spelling of ${ip.join(".")}`, () => {
      for (const s of v4Spellings(ip)) expect(new URL(`https://${s}/`).hostname, s).toBe(ip.join("."));
    });
  }
});

describe("publicUrlProblem", () => {
  for (const [ip, what] of NON_PUBLIC_V4) {
    const dotted = ip.join(".");
    it(`refuses ${dotted} (${what}) in every spelling, with or without loopback allowed`, () => {
      for (const allow of [false, true]) {
        for (const s of v4Spellings(ip)) {
          for (const scheme of ["https", "http"]) expect(publicUrlProblem(`${scheme}://${s}/photo.png`, allow), s).toBe(`points at ${what} (${dotted})`);
        }
        for (const s of v6Carriers(ip)) expect(publicUrlProblem(`https://${s}/photo.png`, allow), s).toMatch(/^points at /);
      }
    });
  }

  it("refuses loopback in every spelling unless loopback is allowed; carried in IPv6 it stays refused", () => {
    for (const ip of [
      [127, 0, 0, 1],
      [127, 1, 2, 3],
    ]) {
      for (const s of v4Spellings(ip)) {
        expect(publicUrlProblem(`https://${s}/`, false), s).toBe(`points at a loopback address (${ip.join(".")})`);
        expect(publicUrlProblem(`http://${s}:8123/`, true), s).toBeNull();
      }
      for (const s of v6Carriers(ip)) for (const allow of [false, true]) expect(publicUrlProblem(`http://${s}/`, allow), s).toMatch(/^points at /);
    }
    expect(publicUrlProblem("https://[::ffff:127.0.0.1]/", true)).toBe("points at an IPv4-mapped form of a loopback address (::ffff:7f00:1)");
    expect(publicUrlProblem("https://[::127.0.0.1]/", true)).toBe("points at a deprecated IPv4-compatible address (::7f00:1)");
  });

  it("refuses non-public IPv6 forms", () => {
    const cases: [string, string][] = [
      ["[::]", "the unspecified address"],
      ["[0:0:0:0:0:0:0:0]", "the unspecified address"],
      ["[::8.8.8.8]", "a deprecated IPv4-compatible address"],
      ["[::ffff:a9fe:a9fe]", "an IPv4-mapped form of a cloud metadata address"],
      ["[::ffff:0:10.0.0.1]", "an IPv4-translated form of a private address"],
      ["[64:ff9b::169.254.169.254]", "a NAT64 form of a cloud metadata address"],
      ["[64:ff9b::a00:5]", "a NAT64 form of a private address"],
      ["[64:ff9b:1::1]", "a local-use NAT64 address"],
      ["[2002:c0a8:10a::]", "a 6to4 form of a private address"],
      ["[2002:7f00:1::1]", "a 6to4 form of a loopback address"],
      ["[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "a Teredo tunnel address"],
      ["[2001::1]", "a Teredo tunnel address"],
      ["[100::1]", "a discard-only address"],
      ["[100::ffff:ffff:ffff:ffff]", "a discard-only address"],
      ["[2001:2::1]", "a benchmarking address"],
      ["[2001:db8::1]", "a documentation address"],
      ["[3fff:fff::1]", "a documentation address"],
      ["[fc00::1]", "a unique-local address"],
      ["[fd12:3456::1]", "a unique-local address"],
      ["[fd00:ec2::254]", "a cloud metadata address"],
      ["[fd00:ec2:0:0:0:0:0:254]", "a cloud metadata address"],
      ["[fe80::1]", "a link-local address"],
      ["[FE80::1]", "a link-local address"],
      ["[febf:ffff::1]", "a link-local address"],
      ["[fec0::1]", "a site-local address"],
      ["[feff::1]", "a site-local address"],
      ["[ff02::1]", "a multicast address"],
      ["[FF0E::1]", "a multicast address"],
      ["[4000::1]", "a reserved address"],
      ["[1::1]", "a reserved address"],
    ];
    for (const [host, what] of cases) {
      const shown = new URL(`https://${host}/`).hostname.slice(1, -1);
      for (const allow of [false, true]) expect(publicUrlProblem(`https://${host}/x.png`, allow), host).toBe(`points at ${what} (${shown})`);
    }
  });

  it("refuses ::1 unless loopback is allowed", () => {
    for (const host of ["[::1]", "[0:0:0:0:0:0:0:1]", "[0::0001]"]) {
      expect(publicUrlProblem(`https://${host}/`, false), host).toBe("points at a loopback address (::1)");
      expect(publicUrlProblem(`http://${host}:9000/`, true), host).toBeNull();
    }
  });

  it("refuses local-only and metadata names", () => {
    const cases: [string, string][] = [
      ["metadata.google.internal", "a cloud metadata name"],
      ["METADATA.google.internal.", "a cloud metadata name"],
      ["metadata", "a cloud metadata name"],
      ["printer.local", "a local-only name"],
      ["db.internal", "a local-only name"],
      ["wiki.intranet", "a local-only name"],
      ["router.lan", "a local-only name"],
      ["nas.home.arpa", "a local-only name"],
      ["box.localdomain", "a local-only name"],
      ["files.corp", "a local-only name"],
      ["intranet", "a local-only name"],
      ["printer", "a local-only name"],
    ];
    for (const [host, what] of cases) {
      const shown = new URL(`https://${host}/`).hostname;
      for (const allow of [false, true]) expect(publicUrlProblem(`https://${host}/x.png`, allow), host).toBe(`points at ${what} (${shown})`);
    }
  });

  it("refuses localhost names unless loopback is allowed", () => {
    for (const host of ["localhost", "LOCALHOST", "localhost.", "api.localhost", "a.b.localhost"]) {
      expect(publicUrlProblem(`https://${host}/`, false), host).toMatch(/^points at a loopback name \(/);
      expect(publicUrlProblem(`http://${host}:4321/`, true), host).toBeNull();
    }
  });

  it("refuses other schemes, credentials, non-URLs and odd ports", () => {
    for (const allow of [false, true]) {
      expect(publicUrlProblem("http://photos.example.com/a.png", allow)).toBe("is not an https URL");
      expect(publicUrlProblem("ftp://photos.example.com/a.png", allow)).toBe("is not an https URL");
      expect(publicUrlProblem("file:///etc/passwd", allow)).toBe("is not an https URL");
      expect(publicUrlProblem("data:image/png;base64,AAAA", allow)).toBe("is not an https URL");
      expect(publicUrlProblem("javascript:alert(1)", allow)).toBe("is not an https URL");
      expect(publicUrlProblem("https://user:pw@photos.example.com/a.png", allow)).toBe("carries credentials");
      expect(publicUrlProblem("https://user@photos.example.com/a.png", allow)).toBe("carries credentials");
      expect(publicUrlProblem("http://user:pw@127.0.0.1:8080/", allow)).toBe("carries credentials");
      for (const raw of ["", "not a url", "photos.example.com/a.png", "//photos.example.com/a.png", "https://", "https://1.2.3.256/", "https://[::1/"]) {
        expect(publicUrlProblem(raw, allow), raw).toBe("is not a URL");
      }
    }
    expect(publicUrlProblem("https://photos.example.com:8443/a.png", false)).toBe("uses port 8443 (only the default ports 443 and 80 are allowed)");
    expect(publicUrlProblem("https://photos.example.com:8443/a.png", true)).toBeNull();
    expect(publicUrlProblem("https://photos.example.com:443/a.png", false)).toBeNull();
    expect(publicUrlProblem("https://photos.example.com:80/a.png", false)).toBeNull();
  });

  it("allows public https URLs", () => {
    for (const raw of [
      "https://photos.example.com/a.png",
      "https://CDN.Example.org/path/a.jpg?w=800#x",
      "https://8.8.8.8/a.png",
      "https://1.1.1.1./a.png",
      "https://[2606:4700:4700::1111]/a.png",
      "https://[2001:4860:4860::8888]/a.png", // in 2001::/23 but outside its special ranges
      "https://[2002:808:808::1]/a.png", // 6to4 of a public address
      "https://[64:ff9b::8.8.8.8]/a.png", // NAT64 of a public address
      "https://172.32.0.1/a.png", // just outside 172.16/12
      "https://100.128.0.1/a.png", // just outside CGNAT
      "https://xn--bcher-kva.example/a.png",
    ]) {
      for (const allow of [false, true]) expect(publicUrlProblem(raw, allow), raw).toBeNull();
    }
  });

  it("with loopback allowed: http to 127.0.0.1 and localhost on any port, never private or link-local", () => {
    expect(publicUrlProblem("http://127.0.0.1:54321/x", true)).toBeNull();
    expect(publicUrlProblem("http://localhost:54321/", true)).toBeNull();
    expect(publicUrlProblem("https://127.0.0.1:54321/x", true)).toBeNull();
    expect(publicUrlProblem("http://127.0.0.1:54321/x", false)).toBe("points at a loopback address (127.0.0.1)");
    expect(publicUrlProblem("http://localhost:54321/", false)).toBe("points at a loopback name (localhost)");
    expect(publicUrlProblem("http://10.0.0.1/", true)).toBe("points at a private address (10.0.0.1)");
    expect(publicUrlProblem("http://169.254.169.254/", true)).toBe("points at a cloud metadata address (169.254.169.254)");
    expect(publicUrlProblem("http://[fe80::1]/", true)).toBe("points at a link-local address (fe80::1)");
    expect(publicUrlProblem("http://[::ffff:127.0.0.1]/", true)).toMatch(/^points at an IPv4-mapped form/);
  });
});

describe("classifyHost and parseV6", () => {
  it("parses IPv6 literals, with or without a dotted tail, and rejects malformed ones", () => {
    expect(parseV6("::")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseV6("::ffff:127.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseV6("2001:db8::1")).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    for (const bad of ["1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3", "12345::", "::1.2.3.256", "g::1"]) expect(parseV6(bad), bad).toBeNull();
    expect(classifyHost("[1::2::3]").kind).toBe("non-public");
  });

  it("tells literals from names and loopback from the rest", () => {
    expect(classifyHost("127.0.0.1")).toEqual({ kind: "loopback", what: "a loopback address", literal: true });
    expect(classifyHost("[::1]")).toEqual({ kind: "loopback", what: "a loopback address", literal: true });
    expect(classifyHost("localhost")).toEqual({ kind: "loopback", what: "a loopback name", literal: false });
    expect(classifyHost("10.1.2.3")).toEqual({ kind: "non-public", what: "a private address", literal: true });
    expect(classifyHost("printer.local")).toEqual({ kind: "non-public", what: "a local-only name", literal: false });
    expect(classifyHost("photos.example.com")).toEqual({ kind: "public", what: "a public host", literal: false });
  });
});

describe("webhookUrlProblem keeps its messages on the shared rules", () => {
  it("refuses addresses and local names as before, and the stronger IPv6 forms too", () => {
    for (const url of [
      "https://127.0.0.1/hooks",
      "https://2130706433/hooks",
      "https://10.2.3.4/hooks",
      "https://169.254.169.254/latest/meta-data",
      "https://[::ffff:127.0.0.1]/hooks",
      "https://[::127.0.0.1]/hooks",
      "https://[::ffff:0:10.0.0.1]/hooks",
      "https://[2002:a00:1::]/hooks",
      "https://[64:ff9b::10.0.0.1]/hooks",
      "https://[2001::1]/hooks",
      "https://[100::1]/hooks",
      "https://[fec0::1]/hooks",
      "https://[::]/hooks",
    ]) {
      expect(webhookUrlProblem(url, false), url).toBe("must not point at a private, loopback or link-local address");
    }
    for (const url of [
      "https://localhost/hooks",
      "https://api.localhost/hooks",
      "https://printer.local/hooks",
      "https://metadata.google.internal/hooks",
      "https://intranet/hooks",
    ]) {
      expect(webhookUrlProblem(url, false), url).toBe("must name a public host, not a local one");
    }
    expect(webhookUrlProblem("http://studio.example/hooks", false)).toBe("must be an https URL");
    expect(webhookUrlProblem("https://user:pw@studio.example/hooks", false)).toBe("must not carry credentials");
    expect(webhookUrlProblem("nope", false)).toBe("is not a URL");
    expect(webhookUrlProblem("http://127.0.0.1:8787/hooks", true)).toBeNull();
    expect(webhookUrlProblem("ftp://127.0.0.1/hooks", true)).toBe("must be an http(s) URL");
    for (const url of ["https://hooks.studio.example/in", "https://8.8.8.8/in", "https://[2606:4700::1111]/in"])
      expect(webhookUrlProblem(url, false), url).toBeNull();
  });
});
