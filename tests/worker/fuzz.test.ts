/**
 * Must-show 2: property-based fuzz (fast-check) of every JSON route with random and malformed
 * bodies, headers and path parameters. Properties: never a 5xx; a 4xx never changes state (D1 rows
 * and R2 objects compared before and after each request). Bodies that happen to be valid decisions
 * are left out (they change state by design and are covered in workflow.test.ts), so the parked
 * shoot stays quiet and any change is the request's.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecisionSchema } from "../../src/domain/shoot.ts";
import { accountWithParkedShoot, addBatchAndEndpoint, extraKeys, snapshot } from "./fixtures-account.ts";
import { call } from "./helpers.ts";

const RUNS = 25;
/** At least this share of fuzzed requests passes auth and validation (2xx). */
const MIN_OK_SHARE = 0.05;
/** At most this share is refused as unauthenticated (eight in ten requests carry a valid key). */
const MAX_UNAUTHORIZED_SHARE = 0.5;

describe("fuzzing the JSON routes", () => {
  it("never answers 5xx, and a 4xx changes nothing", async () => {
    const a = await accountWithParkedShoot();
    const { batchId, endpointId } = await addBatchAndEndpoint(a);
    const keys = [a.apiKey, ...(await extraKeys(a.accountId, 6))];
    let k = 0;
    const nextKey = () => keys[k++ % keys.length]; // spread over keys so the rate limit does not answer everything

    const junkOf = (...known: string[]) =>
      fc.oneof(
        fc.string(),
        fc.string({ unit: "binary" }),
        fc.constantFrom("..", "%2e%2e", "%00", "a/b", "' or 1=1 --", "<script>", `sh_${"0".repeat(200)}`, a.refs[0], "hero", "frames", "reel", ...known),
      );
    const junk = junkOf(a.shootId, batchId, endpointId);
    // Batch rows never name A's uploads, so no fuzzed batch is valid and none starts shoots mid-run.
    const junkNoRefs = fc.oneof(fc.string(), fc.constantFrom("..", "%00", "up_nope", "' or 1=1 --", "x".repeat(300)));
    // The events stream of a real shoot stays open (minutes): fuzz that route with other ids only.
    const junkNotStreaming = junkOf();
    const id = fc.oneof(junk, fc.constant(a.shootId));
    const stage = fc.oneof(fc.constantFrom("plan", "hero", "contact-sheet", "frames", "clips", "reel", "HERO", ""), junk);
    const value = fc.oneof(
      fc.anything(),
      fc.constantFrom(null, -1, 0, Number.POSITIVE_INFINITY, "", "x".repeat(5000), [], {}, { __proto__: { polluted: true } }, [7, 7, 7], ["approve"]),
    );
    const decisionish = fc.record(
      {
        action: fc.oneof(fc.constantFrom("approve", "revise", "cancel", "Approve", "expire", ""), value),
        feedback: fc.oneof(fc.string({ maxLength: 3000 }), value),
        frames: fc.oneof(fc.array(fc.integer({ min: -3, max: 9 })), value),
        clips: fc.oneof(fc.array(fc.integer({ min: -3, max: 9 })), value),
        presets: fc.oneof(fc.record({ pose: fc.string(), background: fc.string() }, { requiredKeys: [] }), value),
        aspectRatio: fc.oneof(fc.constantFrom("16:9", "5:1", "1:1"), value),
        stitch: fc.oneof(fc.record({ easing: fc.string(), fps: fc.integer(), clipSeconds: fc.double(), loop: value }, { requiredKeys: [] }), value),
        split: value,
        extra: value,
      },
      { requiredKeys: [] },
    );
    const shootish = fc.record(
      {
        brief: fc.oneof(fc.string({ maxLength: 3000 }), value),
        references: fc.oneof(fc.array(junk, { maxLength: 12 }), value),
        presets: value,
        aspectRatio: fc.oneof(fc.constantFrom("2:3", "9:16", "7:7"), value),
        review: fc.oneof(fc.array(stage), value),
        checkpointTimeout: fc.oneof(fc.constantFrom("7 days", "0 seconds", "-1 days", "forever"), value),
        idempotencyKey: fc.oneof(fc.string(), value),
        timeoutPolicy: value,
        stitch: value,
      },
      { requiredKeys: [] },
    );
    const batchish = fc.record(
      {
        shoots: fc.oneof(
          fc.array(
            fc.tuple(shootish, fc.array(junkNoRefs, { minLength: 1, maxLength: 3 })).map(([s, references]) => ({ ...s, references })),
            { maxLength: 4 },
          ),
          value,
        ),
        review: fc.oneof(fc.array(stage), value),
        presets: value,
        idempotencyKey: fc.oneof(fc.string(), value),
      },
      { requiredKeys: [] },
    );
    const endpointish = fc.record(
      {
        url: fc.oneof(
          fc.constantFrom(
            "http://127.0.0.1:8787/x",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest",
            "https://[::1]/",
            "https://localhost/h",
            "https://metadata/",
            "https://0x7f000001/",
            "https://studio.example/h",
            "ftp://x.example/",
          ),
          fc.webUrl(),
          value,
        ),
        events: fc.oneof(fc.array(fc.constantFrom("shoot.completed", "shoot.failed", "batch.completed", "checkpoint.pending", "shoot.exploded")), value),
        description: fc.oneof(fc.string({ maxLength: 400 }), value),
        overlap: fc.oneof(fc.constantFrom("0 seconds", "1 day", "-1 days", "forever"), value),
      },
      { requiredKeys: [] },
    );
    const batchRef = fc.oneof(junk, fc.constant(batchId));
    const endpointRef = fc.oneof(junk, fc.constant(endpointId));
    // Raw bodies: JSON of anything, broken JSON, or bytes.
    const body = (structured: fc.Arbitrary<unknown>) =>
      fc.oneof(
        structured.map((v) => JSON.stringify(v) ?? "null"),
        fc.anything().map((v) => JSON.stringify(v) ?? ""),
        fc.string().map((s) => `{"action": ${s}`),
        fc.constantFrom("", "{", "[]", "null", "\u0000", '{"action":"approve"}{"x":1}', "{".repeat(2000)),
        fc.uint8Array({ maxLength: 512 }).map((b) => new Uint8Array(b)),
      );
    const headers = fc.record(
      {
        "content-type": fc.constantFrom(
          "application/json",
          "text/plain",
          "text/csv",
          "multipart/form-data; boundary=x",
          "application/json; charset=utf-16",
          "",
          "*/*",
        ),
        // Mostly a valid key, so requests get past auth to the validation they are meant to fuzz.
        authorization: fc.oneof(
          { weight: 8, arbitrary: fc.constant("key") },
          { weight: 1, arbitrary: fc.constantFrom("", "Bearer", "Bearer atl_nope", "Basic Zm9vOmJhcg==", "bearer  x y") },
          { weight: 1, arbitrary: fc.string().map((s) => `Bearer ${s}`) },
        ),
        "last-event-id": fc.string(),
        "x-fal-webhook-request-id": fc.string(),
        "x-fal-webhook-user-id": fc.string(),
        "x-fal-webhook-timestamp": fc.oneof(fc.string(), fc.constant(String(Math.floor(Date.now() / 1000)))),
        "x-fal-webhook-signature": fc.oneof(fc.string(), fc.constant("ab".repeat(64))),
        origin: fc.constantFrom("https://evil.example", "null"),
      },
      { requiredKeys: ["authorization"] },
    );

    type Req = { method: string; path: string; body?: string | Uint8Array; headers: Record<string, string> };
    const seg = (s: string) => encodeURIComponent(s);
    const routes: fc.Arbitrary<Req>[] = [
      fc.tuple(body(shootish), headers).map(([b, h]) => ({ method: "POST", path: "/api/shoots", body: b, headers: h })),
      fc
        .tuple(id, stage, body(decisionish), headers)
        .map(([i, s, b, h]) => ({ method: "POST", path: `/api/shoots/${seg(i)}/checkpoints/${seg(s)}/decision`, body: b, headers: h })),
      fc.tuple(junk, body(fc.anything()), headers).map(([i, b, h]) => ({ method: "POST", path: `/api/shoots/${seg(i)}/cancel`, body: b, headers: h })),
      fc.tuple(id, headers).map(([i, h]) => ({ method: "GET", path: `/api/shoots/${seg(i)}`, headers: h })),
      fc.tuple(junkNotStreaming, headers).map(([i, h]) => ({ method: "GET", path: `/api/shoots/${seg(i)}/events`, headers: h })),
      fc
        .tuple(fc.dictionary(fc.constantFrom("status", "stage", "cursor", "limit", "x"), junk), headers)
        .map(([q, h]) => ({ method: "GET", path: `/api/shoots?${new URLSearchParams(q)}`, headers: h })),
      fc
        .tuple(junk, fc.dictionary(fc.constantFrom("exp", "sig"), junk), headers)
        .map(([i, q, h]) => ({ method: "GET", path: `/api/assets/${seg(i)}/content?${new URLSearchParams(q)}`, headers: h })),
      fc.tuple(body(fc.anything()), headers).map(([b, h]) => ({ method: "POST", path: "/api/uploads", body: b, headers: h })),
      fc
        .tuple(id, stage, body(fc.record({ expiresIn: value }, { requiredKeys: [] })), headers)
        .map(([i, s, b, h]) => ({ method: "POST", path: `/api/shoots/${seg(i)}/checkpoints/${seg(s)}/links`, body: b, headers: h })),
      fc.tuple(junk, headers).map(([t, h]) => ({ method: "GET", path: `/api/review/${seg(t)}`, headers: h })),
      fc.tuple(junk, body(decisionish), headers).map(([t, b, h]) => ({ method: "POST", path: `/api/review/${seg(t)}`, body: b, headers: h })),
      fc.tuple(id, headers).map(([i, h]) => ({ method: "GET", path: `/api/shoots/${seg(i)}/archive`, headers: h })),
      fc.tuple(headers).map(([h]) => ({ method: "GET", path: "/api/presets", headers: h })),
      fc
        .tuple(body(fc.record({ request_id: junk, status: junk, payload: fc.anything() }, { requiredKeys: [] })), headers)
        .map(([b, h]) => ({ method: "POST", path: "/webhooks/fal", body: b, headers: h })),
      fc
        .tuple(junk, fc.dictionary(fc.constantFrom("token"), junk), body(fc.record({ task_status: junk }, { requiredKeys: [] })), headers)
        .map(([i, q, b, h]) => ({
          method: "POST",
          path: `/webhooks/kling/${seg(i)}?${new URLSearchParams(q)}`,
          body: b,
          headers: h,
        })),
      fc.tuple(body(batchish), headers).map(([b, h]) => ({ method: "POST", path: "/api/batches", body: b, headers: h })),
      fc
        .tuple(batchRef, fc.constantFrom("", "/retry"), body(fc.record({ shoots: fc.oneof(fc.array(junk), value) }, { requiredKeys: [] })), headers)
        .map(([i, sfx, b, h]) => ({
          method: sfx ? "POST" : "GET",
          path: `/api/batches/${seg(i)}${sfx}`,
          body: b,
          headers: h,
        })),
      fc
        .tuple(fc.dictionary(fc.constantFrom("cursor", "limit", "x"), junk), fc.constantFrom("/api/batches", "/api/webhook-endpoints"), headers)
        .map(([q, p, h]) => ({ method: "GET", path: `${p}?${new URLSearchParams(q)}`, headers: h })),
      fc.tuple(body(endpointish), headers).map(([b, h]) => ({ method: "POST", path: "/api/webhook-endpoints", body: b, headers: h })),
      fc
        .tuple(endpointRef, fc.constantFrom(["GET", ""], ["GET", "/deliveries"], ["POST", "/rotate-secret"], ["DELETE", ""]), body(endpointish), headers)
        .map(([i, [m, sfx], b, h]) => ({
          method: m,
          path: `/api/webhook-endpoints/${seg(i)}${sfx}`,
          body: b,
          headers: h,
        })),
    ];

    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...routes), async (req) => {
        // A valid decision is a state change by design; leave it to the workflow tests.
        if (req.path.includes("/decision") && typeof req.body === "string") {
          try {
            fc.pre(!DecisionSchema.safeParse(JSON.parse(req.body)).success);
          } catch (err) {
            if (!(err instanceof SyntaxError)) throw err;
          }
        }
        const h = { ...req.headers };
        if (h.authorization === "key") h.authorization = `Bearer ${nextKey()}`;
        const before = await snapshot();
        const res = await call(req.path, { method: req.method, headers: h, body: req.method === "GET" ? undefined : req.body });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${req.method} ${req.path} → ${text.slice(0, 300)}`).toBeLessThan(500);
        if (res.status >= 400) expect(await snapshot(), `${req.method} ${req.path} answered ${res.status} but changed state`).toBe(before);
      }),
      { numRuns: RUNS * routes.length, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
    );
    console.log(JSON.stringify({ fuzz: Object.fromEntries([...statuses].sort()) }));
    // The properties above hold trivially if everything is refused at the door: a share of requests
    // must get through auth and validation (a 2xx), and most must get past auth at all.
    const total = [...statuses.values()].reduce((n, c) => n + c, 0);
    const ok = [...statuses].filter(([st]) => st >= 200 && st < 300).reduce((n, [, c]) => n + c, 0);
    const unauthorized = statuses.get(401) ?? 0;
    expect(ok / total, `2xx share of ${total} requests: ${JSON.stringify(Object.fromEntries(statuses))}`).toBeGreaterThanOrEqual(MIN_OK_SHARE);
    expect(unauthorized / total, `401 share of ${total} requests`).toBeLessThanOrEqual(MAX_UNAUTHORIZED_SHARE);
  }, 400_000);
});
