/** The simulator's reference-photo host (/photos) and its request counts (/__sim/photos/requests). */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import sharp from "sharp";
import { startTestSim } from "./helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;

describe("sim /photos", () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());
  beforeEach(async () => {
    await fetch(`${sim.url}/__sim/reset`, { method: "POST" });
  });

  const get = (path: string, init?: RequestInit) => fetch(`${sim.url}${path}`, init);
  const bytes = async (path: string) => Buffer.from(await (await get(path)).arrayBuffer());
  const requests = async () => (await (await get("/__sim/photos/requests")).json()) as Record<string, number>;

  it("serves a deterministic 256×256 image per name, with its content type", async () => {
    for (const [name, type, format] of [
      ["look-1.png", "image/png", "png"],
      ["look-1.jpg", "image/jpeg", "jpeg"],
      ["look-1.webp", "image/webp", "webp"],
    ]) {
      const res = await get(`/photos/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("content-type"), name).toBe(type);
      const data = Buffer.from(await res.arrayBuffer());
      expect(await sharp(data).metadata(), name).toMatchObject({ width: 256, height: 256, format });
      expect((await bytes(`/photos/${name}`)).equals(data), name).toBe(true);
    }
    expect((await bytes("/photos/a.png")).equals(await bytes("/photos/b.png"))).toBe(false);
    const [a, b] = await Promise.all(["a.png", "b.png"].map(async (n) => (await sharp(await bytes(`/photos/${n}`)).stats()).dominant));
    expect(a).not.toEqual(b);
  });

  it("answers 404 for other names", async () => {
    for (const path of ["/photos/a.gif", "/photos/a", "/photos/.png", "/photos/slow/a.txt"]) expect((await get(path)).status, path).toBe(404);
  });

  it("redirects to `to`, after hops-1 relative redirects to itself", async () => {
    const one = await get(`/photos/redirect?${new URLSearchParams({ to: "https://elsewhere.example/x.png" })}`, { redirect: "manual" });
    expect(one.status).toBe(302);
    expect(one.headers.get("location")).toBe("https://elsewhere.example/x.png");

    const three = await get(`/photos/redirect?${new URLSearchParams({ to: "/photos/a.png", hops: "3" })}`, { redirect: "manual" });
    expect(three.status).toBe(302);
    const next = new URL(three.headers.get("location")!, `${sim.url}/photos/redirect`);
    expect(next.pathname).toBe("/photos/redirect");
    expect(Object.fromEntries(next.searchParams)).toEqual({ to: "/photos/a.png", hops: "2" });

    const followed = await get(`/photos/redirect?${new URLSearchParams({ to: "/photos/a.png", hops: "3" })}`);
    expect(followed.url).toBe(`${sim.url}/photos/a.png`);
    expect(Buffer.from(await followed.arrayBuffer()).equals(await bytes("/photos/a.png"))).toBe(true);

    expect((await get("/photos/redirect")).status).toBe(400);
  });

  it("answers /slow after the given delay", async () => {
    const t = Date.now();
    const res = await get("/photos/slow/a.png?ms=300");
    expect(res.status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
    expect(Buffer.from(await res.arrayBuffer()).equals(await bytes("/photos/a.png"))).toBe(true);
  });

  it("serves a truncated PNG and big files, with or without Content-Length", async () => {
    const broken = await bytes("/photos/broken.png");
    expect(broken.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    await expect(sharp(broken).raw().toBuffer()).rejects.toThrow();

    const big = await get("/photos/big.png?mb=2");
    expect(big.headers.get("content-length")).toBe(String(2 * 1024 * 1024));
    expect((await big.arrayBuffer()).byteLength).toBe(2 * 1024 * 1024);
    const chunked = await get("/photos/big.png?mb=1&chunked=1");
    expect(chunked.headers.get("content-length")).toBeNull();
    expect((await chunked.arrayBuffer()).byteLength).toBe(1024 * 1024);
  });

  it("counts requests per path, and reset zeroes the counts", async () => {
    await get("/photos/a.png");
    await get("/photos/a.png?v=2");
    await get("/photos/redirect?to=/photos/b.png&hops=2");
    await get("/photos/nope.gif");
    expect(await requests()).toEqual({ "/photos/a.png": 2, "/photos/redirect": 2, "/photos/b.png": 1, "/photos/nope.gif": 1 });
    expect(sim.state.photos.requests()).toEqual(await requests());
    await fetch(`${sim.url}/__sim/reset`, { method: "POST" });
    expect(await requests()).toEqual({});
  });
});
