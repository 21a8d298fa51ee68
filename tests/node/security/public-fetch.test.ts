/**
 * fetchPublic against the provider simulator's /photos routes. Refusals must happen before any
 * connection: the fetchers here record (or forbid) every request, and the simulator counts what it
 * served, so a private redirect target is shown never to have been asked for.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { fetchPublic, publicUrlProblem, type PublicFetchOptions } from "../../../src/security/public-fetch.ts";
import { startTestSim } from "../sim/helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;

const MB = 1024 * 1024;
const base = { timeoutMs: 5_000, maxBytes: 10 * MB } satisfies Partial<PublicFetchOptions>;

/** A fetcher that must never be called: the URL should have been refused before any connection. */
function forbidden() {
  return vi.fn<typeof fetch>(() => {
    throw new Error("fetchPublic opened a connection it should have refused");
  });
}

/**
 * Plays a public image host: https://photos.test/* is served by the simulator, so the rules run as
 * in production (allowLoopback false) while the bytes come from 127.0.0.1. Records every URL asked for.
 */
function publicFront(sim: Sim) {
  const requested: string[] = [];
  const fetcher: typeof fetch = (input, init) => {
    const url = String(input);
    requested.push(url);
    if (!url.startsWith("https://photos.test/")) throw new Error(`the test front only serves https://photos.test, not ${url}`);
    return fetch(url.replace("https://photos.test", sim.url), init);
  };
  return { requested, fetcher };
}

/** Records every URL and passes it to the real fetch. */
function recording() {
  const requested: string[] = [];
  const fetcher: typeof fetch = (input, init) => {
    requested.push(String(input));
    return fetch(input, init);
  };
  return { requested, fetcher };
}

describe("fetchPublic refuses before connecting", () => {
  const refused = [
    "https://10.0.0.5/a.png",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://100.64.0.1/a.png",
    "https://0.0.0.0/a.png",
    "https://0x7f.1/a.png",
    "https://2130706433/a.png",
    "https://0177.0.0.1/a.png",
    "https://１２７.０.０.１/a.png",
    "https://127.0.0.1./a.png",
    "https://[::1]/a.png",
    "https://[::ffff:127.0.0.1]/a.png",
    "https://[::127.0.0.1]/a.png",
    "https://[::ffff:0:10.0.0.1]/a.png",
    "https://[2002:a00:1::]/a.png",
    "https://[64:ff9b::a9fe:a9fe]/a.png",
    "https://[2001::1]/a.png",
    "https://[100::1]/a.png",
    "https://[fec0::1]/a.png",
    "https://[fe80::1]/a.png",
    "https://[::]/a.png",
    "https://localhost/a.png",
    "https://printer.local/a.png",
    "https://intranet/a.png",
    "http://photos.example.com/a.png",
    "https://user:pw@photos.example.com/a.png",
    "https://photos.example.com:8443/a.png",
    "file:///etc/passwd",
    "not a url",
  ];

  it("without loopback allowed", async () => {
    for (const url of refused) {
      const fetcher = forbidden();
      const res = await fetchPublic(url, { ...base, allowLoopback: false, fetcher });
      expect(res, url).toEqual({ ok: false, reason: publicUrlProblem(url, false) });
      expect(fetcher, url).not.toHaveBeenCalled();
    }
  });

  it("with loopback allowed, for everything that is not loopback", async () => {
    for (const url of [
      "http://10.0.0.1/",
      "http://169.254.169.254/",
      "http://[fe80::1]/",
      "http://[::ffff:127.0.0.1]:8080/",
      "https://[fd00:ec2::254]/",
      "http://photos.example.com/",
    ]) {
      const fetcher = forbidden();
      const res = await fetchPublic(url, { ...base, allowLoopback: true, fetcher });
      expect(res.ok, url).toBe(false);
      expect(res, url).toEqual({ ok: false, reason: publicUrlProblem(url, true) });
      expect(fetcher, url).not.toHaveBeenCalled();
    }
  });

  it("names the address in the reason", async () => {
    const res = await fetchPublic("https://10.0.0.5/a.png", { ...base, allowLoopback: false, fetcher: forbidden() });
    expect(res).toEqual({ ok: false, reason: "points at a private address (10.0.0.5)" });
  });
});

describe("fetchPublic against the simulator", () => {
  let sim: Sim;
  let photoPng: Uint8Array;

  beforeAll(async () => {
    sim = await startTestSim();
    photoPng = new Uint8Array(await (await fetch(`${sim.url}/photos/a.png`)).arrayBuffer());
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.state.photos.reset());

  const counts = () => sim.state.photos.requests();

  it("returns the exact bytes, content type and final URL", async () => {
    const res = await fetchPublic(`${sim.url}/photos/a.png`, { ...base, allowLoopback: true });
    expect(res).toEqual({ ok: true, bytes: photoPng, finalUrl: `${sim.url}/photos/a.png`, contentType: "image/png" });
  });

  it("fetches a public-looking https URL with loopback not allowed", async () => {
    const front = publicFront(sim);
    const res = await fetchPublic("https://photos.test/photos/a.png", { ...base, allowLoopback: false, fetcher: front.fetcher });
    expect(res).toEqual({ ok: true, bytes: photoPng, finalUrl: "https://photos.test/photos/a.png", contentType: "image/png" });
    expect(front.requested).toEqual(["https://photos.test/photos/a.png"]);
  });

  it("follows redirects, relative ones resolved against the current URL", async () => {
    const front = publicFront(sim);
    const url = `https://photos.test/photos/redirect?${new URLSearchParams({ to: "/photos/b.webp", hops: "3" })}`;
    const res = await fetchPublic(url, { ...base, allowLoopback: false, fetcher: front.fetcher });
    expect(res.ok && res.finalUrl).toBe("https://photos.test/photos/b.webp");
    expect(res.ok && res.contentType).toBe("image/webp");
    expect(front.requested).toHaveLength(4);
    expect(counts()).toEqual({ "/photos/redirect": 3, "/photos/b.webp": 1 });
  });

  it("refuses a redirect to a private, metadata or loopback address before requesting it", async () => {
    const targets: [string, string][] = [
      ["http://10.0.0.1/a.png", "redirects to a private address (10.0.0.1)"],
      ["https://10.0.0.1/a.png", "redirects to a private address (10.0.0.1)"],
      ["https://169.254.169.254/latest/meta-data/", "redirects to a cloud metadata address (169.254.169.254)"],
      ["http://[::ffff:127.0.0.1]/", "redirects to an IPv4-mapped form of a loopback address (::ffff:7f00:1)"],
      [`https://[::ffff:127.0.0.1]:${new URL(sim.url).port}/photos/a.png`, "redirects to an IPv4-mapped form of a loopback address (::ffff:7f00:1)"],
      [`${sim.url}/photos/a.png`, "redirects to a loopback address (127.0.0.1)"],
      ["https://0x7f.1/photos/a.png", "redirects to a loopback address (127.0.0.1)"],
      ["https://localhost/photos/a.png", "redirects to a loopback name (localhost)"],
      ["https://metadata.google.internal/computeMetadata/v1/", "redirects to a cloud metadata name (metadata.google.internal)"],
      ["https://[fd00:ec2::254]/", "redirects to a cloud metadata address (fd00:ec2::254)"],
      ["https://[fe80::1]/", "redirects to a link-local address (fe80::1)"],
      ["http://photos.test/photos/a.png", "redirects to a URL that is not an https URL"],
      ["https://u:p@photos.test/photos/a.png", "redirects to a URL that carries credentials"],
      ["https://photos.test:8443/photos/a.png", "redirects to a URL that uses port 8443 (only the default ports 443 and 80 are allowed)"],
    ];
    for (const [to, reason] of targets) {
      sim.state.photos.reset();
      const front = publicFront(sim);
      const start = `https://photos.test/photos/redirect?${new URLSearchParams({ to })}`;
      const res = await fetchPublic(start, { ...base, allowLoopback: false, fetcher: front.fetcher });
      expect(res, to).toEqual({ ok: false, reason });
      expect(front.requested, to).toEqual([start]);
      expect(counts(), to).toEqual({ "/photos/redirect": 1 });
    }
  });

  it("refuses a private target at the end of a redirect chain", async () => {
    const front = publicFront(sim);
    const start = `https://photos.test/photos/redirect?${new URLSearchParams({ to: "http://10.0.0.1/x.png", hops: "3" })}`;
    const res = await fetchPublic(start, { ...base, allowLoopback: false, fetcher: front.fetcher });
    expect(res).toEqual({ ok: false, reason: "redirects to a private address (10.0.0.1)" });
    expect(front.requested).toHaveLength(3);
    expect(front.requested.every((u) => u.startsWith("https://photos.test/photos/redirect?"))).toBe(true);
    expect(counts()).toEqual({ "/photos/redirect": 3 });
  });

  it("with loopback allowed, still refuses redirects to private and link-local addresses", async () => {
    for (const [to, reason] of [
      ["http://10.0.0.1/", "redirects to a private address (10.0.0.1)"],
      ["http://169.254.169.254/latest/meta-data/", "redirects to a cloud metadata address (169.254.169.254)"],
      ["http://[fe80::1]/", "redirects to a link-local address (fe80::1)"],
      ["http://192.168.1.1:8080/", "redirects to a private address (192.168.1.1)"],
    ]) {
      const rec = recording();
      const start = `${sim.url}/photos/redirect?${new URLSearchParams({ to })}`;
      const res = await fetchPublic(start, { ...base, allowLoopback: true, fetcher: rec.fetcher });
      expect(res, to).toEqual({ ok: false, reason });
      expect(rec.requested, to).toEqual([start]);
    }
  });

  it("refuses more than maxRedirects redirects without following the last", async () => {
    const start = `${sim.url}/photos/redirect?${new URLSearchParams({ to: "/photos/a.png", hops: "5" })}`;
    const rec = recording();
    expect(await fetchPublic(start, { ...base, allowLoopback: true, fetcher: rec.fetcher })).toEqual({ ok: false, reason: "redirects more than 3 times" });
    expect(rec.requested).toHaveLength(4);
    expect(counts()).toEqual({ "/photos/redirect": 4 });

    sim.state.photos.reset();
    const zero = await fetchPublic(`${sim.url}/photos/redirect?to=/photos/a.png`, { ...base, allowLoopback: true, maxRedirects: 0 });
    expect(zero).toEqual({ ok: false, reason: "redirects more than 0 times" });

    const five = await fetchPublic(start, { ...base, allowLoopback: true, maxRedirects: 5 });
    expect(five.ok && five.bytes).toEqual(photoPng);
  });

  it("times out, including across redirects and a fetcher that ignores the signal", async () => {
    let t = Date.now();
    const slow = await fetchPublic(`${sim.url}/photos/slow/a.png?ms=5000`, { ...base, timeoutMs: 300, allowLoopback: true });
    expect(slow).toEqual({ ok: false, reason: "timed out after 0.3 s" });
    expect(Date.now() - t).toBeLessThan(2_000);

    const via = `${sim.url}/photos/redirect?${new URLSearchParams({ to: "/photos/slow/a.png?ms=5000", hops: "2" })}`;
    t = Date.now();
    expect(await fetchPublic(via, { ...base, timeoutMs: 400, allowLoopback: true })).toEqual({ ok: false, reason: "timed out after 0.4 s" });
    expect(Date.now() - t).toBeLessThan(2_000);

    const deaf: typeof fetch = () => new Promise<Response>(() => {});
    expect(await fetchPublic("https://photos.example.com/a.png", { ...base, timeoutMs: 200, allowLoopback: false, fetcher: deaf })).toEqual({
      ok: false,
      reason: "timed out after 0.2 s",
    });

    // A body that starts and then stalls is cut off by the same deadline.
    const stalling: typeof fetch = async () =>
      new Response(new ReadableStream({ start: (c) => c.enqueue(new Uint8Array(10)) }), { headers: { "content-type": "image/png" } });
    expect(await fetchPublic("https://photos.example.com/a.png", { ...base, timeoutMs: 200, allowLoopback: false, fetcher: stalling })).toEqual({
      ok: false,
      reason: "timed out after 0.2 s",
    });

    const fast = await fetchPublic(`${sim.url}/photos/slow/a.png?ms=50`, { ...base, allowLoopback: true });
    expect(fast.ok && fast.bytes).toEqual(photoPng);
  });

  it("refuses a body over maxBytes, declared or streamed", async () => {
    const opts = { ...base, maxBytes: 1 * MB, allowLoopback: true };
    expect(await fetchPublic(`${sim.url}/photos/big.png?mb=2`, opts)).toEqual({ ok: false, reason: "is larger than 1 MB" });
    expect(await fetchPublic(`${sim.url}/photos/big.png?mb=2&chunked=1`, opts)).toEqual({ ok: false, reason: "is larger than 1 MB" });
    expect(await fetchPublic(`${sim.url}/photos/big.png?mb=1.5&chunked=1`, { ...opts, maxBytes: 1.5 * MB })).toMatchObject({ ok: true });
    const exact = await fetchPublic(`${sim.url}/photos/big.png?mb=1&chunked=1`, opts);
    expect(exact.ok && exact.bytes.byteLength).toBe(MB);
    expect(await fetchPublic(`${sim.url}/photos/a.png`, { ...opts, maxBytes: 100 })).toEqual({ ok: false, reason: "is larger than 100 bytes" });
  });

  it("names a non-2xx status, and other failures, without throwing", async () => {
    expect(await fetchPublic(`${sim.url}/photos/missing.gif`, { ...base, allowLoopback: true })).toEqual({ ok: false, reason: "answered 404" });
    expect(await fetchPublic(`${sim.url}/photos/redirect`, { ...base, allowLoopback: true })).toEqual({ ok: false, reason: "answered 400" });

    const noLocation: typeof fetch = async () => new Response(null, { status: 302 });
    expect(await fetchPublic("https://photos.example.com/a.png", { ...base, allowLoopback: false, fetcher: noLocation })).toEqual({
      ok: false,
      reason: "answered 302 without saying where to",
    });
    const badLocation: typeof fetch = async () => new Response(null, { status: 301, headers: { location: "https://[::1" } });
    expect(await fetchPublic("https://photos.example.com/a.png", { ...base, allowLoopback: false, fetcher: badLocation })).toEqual({
      ok: false,
      reason: "redirects to something that is not a URL",
    });
    const refusedConnection: typeof fetch = async () => {
      throw new TypeError("fetch failed");
    };
    expect(await fetchPublic("https://photos.example.com/a.png", { ...base, allowLoopback: false, fetcher: refusedConnection })).toEqual({
      ok: false,
      reason: "could not be fetched (fetch failed)",
    });
  });

  it("hands a truncated image over as it came (decoding is the caller's concern)", async () => {
    const res = await fetchPublic(`${sim.url}/photos/broken.png`, { ...base, allowLoopback: true });
    expect(res.ok && res.contentType).toBe("image/png");
    expect(res.ok && res.bytes.byteLength).toBeGreaterThan(8);
  });
});
