/**
 * Must-show 3: the upload attack set. Each hostile file is refused with a 4xx that names the file
 * and the reason, and nothing is stored (no R2 object, no asset row). What is accepted is stored
 * without its EXIF/GPS metadata, with the sha256 of the stored bytes.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/lib/crypto.ts";
import { call, newAccount } from "./helpers.ts";
import { JPEG_ROTATED, JPEG_WITH_GPS, WEBP_WITH_GPS } from "./images.ts";
import { chunk, makePng } from "./png.ts";

const text = (s: string) => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array) => Array.from(b, (c) => String.fromCharCode(c)).join("");

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A PNG whose IHDR claims `w`×`h` over a few bytes of data: a decompression bomb's header. */
async function pngClaiming(w: number, h: number): Promise<Uint8Array> {
  const real = await makePng(64, 64);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return cat(real.subarray(0, 8), chunk("IHDR", ihdr), real.subarray(8 + 25));
}

/** A JPEG carrying an HTML page in a comment segment: valid as both. */
function jpegHtmlPolyglot(): Uint8Array {
  const html = text("<html><body><script>fetch('/api/shoots').then(r=>r.text()).then(alert)</script></body></html>");
  const com = cat(new Uint8Array([0xff, 0xfe, (html.length + 2) >> 8, (html.length + 2) & 0xff]), html);
  return cat(JPEG_WITH_GPS.subarray(0, 2), com, JPEG_WITH_GPS.subarray(2));
}

async function upload(key: string, files: { bytes: Uint8Array; name: string; type: string }[]) {
  const form = new FormData();
  for (const f of files) form.append("files", new File([f.bytes], f.name, { type: f.type }));
  return call("/api/uploads", { method: "POST", body: form, key });
}

async function storedFor(accountId: string) {
  const objects = await env.BUCKET.list({ prefix: `accounts/${accountId}/` });
  const rows = await env.DB.prepare("select count(*) as n from assets where account_id = ?").bind(accountId).first<{ n: number }>();
  return { objects: objects.objects.length, rows: rows?.n ?? -1 };
}

describe("the upload attack set is refused, naming the reason, and nothing is stored", () => {
  const attacks: [string, () => Promise<{ bytes: Uint8Array; name: string; type: string }[]>, RegExp, string?][] = [
    ["zero bytes", async () => [{ bytes: new Uint8Array(), name: "empty.png", type: "image/png" }], /empty/],
    ["11 MB", async () => [{ bytes: cat(await makePng(64, 64), new Uint8Array(11 * 1024 * 1024)), name: "big.png", type: "image/png" }], /larger than 10 MB/],
    [
      "text named .png",
      async () => [{ bytes: text("just some notes about the shoot, not an image at all\n".repeat(4)), name: "notes.png", type: "image/png" }],
      /is text/,
    ],
    [
      "HTML named .jpg",
      async () => [{ bytes: text("<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"), name: "photo.jpg", type: "image/jpeg" }],
      /HTML/,
    ],
    [
      "an SVG with script",
      async () => [
        { bytes: text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'), name: "logo.svg", type: "image/svg+xml" },
      ],
      /SVG/,
    ],
    ["a truncated JPEG", async () => [{ bytes: JPEG_WITH_GPS.slice(0, JPEG_WITH_GPS.length - 120), name: "cut.jpg", type: "image/jpeg" }], /truncated/],
    [
      "a PNG header claiming 20000×20000",
      async () => [{ bytes: await pngClaiming(20000, 20000), name: "bomb.png", type: "image/png" }],
      /20000×20000 \(400 megapixels\); at most 40 megapixels/,
    ],
    ["a JPEG/HTML polyglot", async () => [{ bytes: jpegHtmlPolyglot(), name: "poly.jpg", type: "image/jpeg" }], /polyglot/],
    [
      "a JPEG with HTML after its end",
      async () => [{ bytes: cat(JPEG_WITH_GPS, text("<html><script>alert(1)</script></html>")), name: "tail.jpg", type: "image/jpeg" }],
      /polyglot/,
    ],
    [
      "nine files at once",
      async () => Promise.all(Array.from({ length: 9 }, async (_, i) => ({ bytes: await makePng(64 + i, 64), name: `r${i}.png`, type: "image/png" }))),
      /at most 8 files/,
      "files",
    ],
  ];

  for (const [name, make, reason, field = "files[0]"] of attacks) {
    it(`refuses ${name}`, async () => {
      const { apiKey, accountId } = await newAccount();
      const res = await upload(apiKey, await make());
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const problem = (await res.json()) as { errors: { field: string; message: string }[] };
      expect(problem.errors[0].field).toBe(field);
      expect(problem.errors[0].message).toMatch(reason);
      expect(await storedFor(accountId)).toEqual({ objects: 0, rows: 0 });
    });
  }

  it("one bad file among good ones stores none of them", async () => {
    const { apiKey, accountId } = await newAccount();
    const res = await upload(apiKey, [
      { bytes: await makePng(100, 100), name: "ok.png", type: "image/png" },
      { bytes: JPEG_WITH_GPS.slice(0, 300), name: "cut.jpg", type: "image/jpeg" },
    ]);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(["files[1]"]);
    expect(await storedFor(accountId)).toEqual({ objects: 0, rows: 0 });
  });

  it("a request body over the upload limit is a 413", async () => {
    const { apiKey } = await newAccount();
    const res = await call("/api/uploads", {
      method: "POST",
      key: apiKey,
      headers: { "content-type": "multipart/form-data; boundary=x" },
      body: new Uint8Array(81 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
  });
});

describe("accepted images are stored without their metadata", () => {
  for (const [name, bytes, mime] of [
    ["JPEG", JPEG_WITH_GPS, "image/jpeg"],
    ["WebP", WEBP_WITH_GPS, "image/webp"],
  ] as const) {
    it(`strips EXIF and GPS from a ${name} and records the stored bytes' sha256`, async () => {
      expect(latin1(bytes)).toContain("SECRET-OWNER-NAME"); // the fixture does carry it
      const { apiKey } = await newAccount();
      const res = await upload(apiKey, [{ bytes, name: `photo.${name.toLowerCase()}`, type: mime }]);
      expect(res.status).toBe(201);
      const { uploads } = (await res.json()) as { uploads: { id: string; url: string; mime: string; width: number; height: number; bytes: number }[] };
      expect(uploads[0]).toMatchObject({ mime, width: 96, height: 80 });
      const content = await call(new URL(uploads[0].url).pathname + new URL(uploads[0].url).search);
      const stored = new Uint8Array(await content.arrayBuffer());
      expect(stored.length).toBe(uploads[0].bytes);
      expect(stored.length).toBeLessThan(bytes.length);
      for (const secret of ["SECRET-OWNER-NAME", "unreleased-collection", "Exif"]) expect(latin1(stored)).not.toContain(secret);
      const row = await env.DB.prepare("select sha256 from assets where id = ?").bind(uploads[0].id).first<{ sha256: string }>();
      expect(row?.sha256).toBe(await sha256Hex(stored));
    });
  }

  it("keeps a JPEG's orientation and nothing else of its EXIF", async () => {
    const { apiKey } = await newAccount();
    const res = await upload(apiKey, [{ bytes: JPEG_ROTATED, name: "portrait.jpg", type: "image/jpeg" }]);
    expect(res.status).toBe(201);
    const { uploads } = (await res.json()) as { uploads: { url: string }[] };
    const stored = new Uint8Array(await (await call(new URL(uploads[0].url).pathname + new URL(uploads[0].url).search)).arrayBuffer());
    // The one EXIF entry left: Orientation (0x0112) = 6.
    expect(latin1(stored)).toContain("Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06");
  });
});
