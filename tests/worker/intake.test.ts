/**
 * Catalogue intake through the HTTP API: a sheet of rows and the photos it names in one request
 * (files, zips, URLs the simulator serves), every bad case refused with its row and column or file
 * named and nothing created, recipes, the quote, the batch budget and the per-SKU report.
 */
import { env } from "cloudflare:workers";
import { zipSync } from "fflate";
import Papa from "papaparse";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../../src/lib/crypto.ts";
import { call, newAccount, parkedWorkflows } from "./helpers.ts";
import { makePng } from "./png.ts";

type FieldError = { field: string; message: string };
type Quote = {
  dryRun: true;
  total: number;
  totalUsd: number;
  placeable: number;
  rows: {
    index: number;
    sku: string | null;
    brief: string;
    costUsd: number;
    recipe: string | null;
    references: { ref: string; source: string; sha256: string }[];
  }[];
};
type Accepted = { id: string; total: number; quoteUsd: number; shoots: { index: number; sku: string | null; id: string }[] };
type Status = {
  id: string;
  shoots: { index: number; sku: string | null; id: string; state: string; error: string | null }[];
  budget: { capUsd: number; held: number; stopped: boolean } | null;
};

const SIM = env.FAL_QUEUE_URL.replace(/\/fal$/, "");

/** `count` distinct PNGs named look-01.png … */
async function photos(count: number, size = 64): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) out.set(`look-${String(i + 1).padStart(2, "0")}.png`, await makePng(size + i, size, [i * 12, 200 - i * 7, (i * 53) % 256]));
  return out;
}

function form(sheet: string, files: [string, Uint8Array][], fields: Record<string, string> = {}, sheetName = "looks.csv"): FormData {
  const f = new FormData();
  f.append("file", new File([sheet], sheetName, { type: sheetName.endsWith(".json") ? "application/json" : "text/csv" }));
  for (const [name, bytes] of files) f.append("photos", new File([bytes], name, { type: name.endsWith(".zip") ? "application/zip" : "image/png" }));
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

/** The batch once no row is queued any more (placed, held or dead). */
async function placed(key: string, id: string): Promise<Status> {
  const start = Date.now();
  for (;;) {
    const status = (await (await call(`/api/batches/${id}`, { key })).json()) as Status;
    if (!status.shoots.some((s) => s.state === "queued")) return status;
    if (Date.now() - start > 20_000) throw new Error(`rows still queued: ${JSON.stringify(status.shoots.map((s) => s.state))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const submit = (key: string, body: FormData) => call("/api/batches", { method: "POST", key, body });

async function refused(res: Response): Promise<FieldError[]> {
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return ((await res.json()) as { errors: FieldError[] }).errors;
}

/** Nothing of the account exists: no batch, no shoot, no stored photo. */
async function nothingCreated(key: string, accountId: string) {
  expect(((await (await call("/api/batches", { key })).json()) as { batches: unknown[] }).batches).toHaveLength(0);
  expect(((await (await call("/api/shoots?limit=100", { key })).json()) as { shoots: unknown[] }).shoots).toHaveLength(0);
  expect((await env.BUCKET.list({ prefix: `accounts/${accountId}/` })).objects).toHaveLength(0);
  const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE account_id = ?").bind(accountId).first<{ n: number }>())!;
  expect(n).toBe(0);
}

let parked: Awaited<ReturnType<typeof parkedWorkflows>>;
beforeAll(async () => {
  parked = await parkedWorkflows();
});
afterAll(async () => {
  await parked?.dispose();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("a sheet and its photos in one request", () => {
  it("a 50-row CSV with 20 photos becomes 50 shoots whose references are the right photos, each stored once; sent twice, the same batch", {
    timeout: 60_000,
  }, async () => {
    const { apiKey, accountId } = await newAccount();
    const files = await photos(20);
    const names = [...files.keys()];
    const refsOf = (i: number) => [names[i % 20], names[(i * 7 + 3) % 20]].filter((n, k, a) => a.indexOf(n) === k);
    const csv = [
      "sku,brief,references",
      ...Array.from({ length: 50 }, (_, i) => `SKU-${100 + i},look ${i}: wool coat on a grey street,${refsOf(i).join(";")}`),
    ].join("\n");
    const body = () => form(csv, [...files], { review: "none" });

    const res = await submit(apiKey, body());
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as Accepted;
    expect(accepted.total).toBe(50);
    expect(accepted.shoots.map((s) => s.sku)).toEqual(Array.from({ length: 50 }, (_, i) => `SKU-${100 + i}`));

    // Each row's shoot names the assets of exactly its photos, by content hash.
    const hashOf = new Map<string, string>();
    for (const [name, bytes] of files) hashOf.set(name, await sha256Hex(bytes));
    const assets = (
      await env.DB.prepare("SELECT id, sha256, provenance FROM assets WHERE account_id = ? AND kind = 'reference'")
        .bind(accountId)
        .all<{ id: string; sha256: string; provenance: string }>()
    ).results;
    expect(assets).toHaveLength(20);
    const assetHash = new Map(assets.map((a) => [a.id, JSON.parse(a.provenance).sourceSha256 as string]));
    expect(new Set(assetHash.values())).toEqual(new Set(hashOf.values()));
    const rows = (
      await env.DB.prepare("SELECT idx, params FROM batch_rows WHERE batch_id = ? ORDER BY idx").bind(accepted.id).all<{ idx: number; params: string }>()
    ).results;
    expect(rows).toHaveLength(50);
    for (const r of rows) {
      const refs = JSON.parse(r.params).references as string[];
      expect(refs.map((id) => assetHash.get(id))).toEqual(refsOf(r.idx).map((n) => hashOf.get(n)));
    }
    expect((await env.BUCKET.list({ prefix: `accounts/${accountId}/` })).objects).toHaveLength(20);

    // The same request again: the same batch and shoots, and still one copy of each photo.
    const again = await submit(apiKey, body());
    expect(again.status).toBe(200);
    const status = (await again.json()) as Status;
    expect(status.id).toBe(accepted.id);
    expect(status.shoots.map((s) => s.id)).toEqual(accepted.shoots.map((s) => s.id));
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM assets WHERE account_id = ?").bind(accountId).first<{ n: number }>())!;
    expect(n).toBe(20);
  });

  it("reads a spreadsheet's CSV: a byte-order mark, quoted newlines in a brief, Windows line endings, headers in any case", async () => {
    const { apiKey } = await newAccount();
    const files = await photos(2);
    const csv = '\uFEFFSKU,Brief,References\r\nA-1,"linen suit,\r\nharbour at dawn",look-01.png\r\nA-2,"a ""quoted"" trench coat",look-02.png;look-01.png\r\n';
    const res = await submit(apiKey, form(csv, [...files], { dryRun: "true" }));
    expect(res.status).toBe(200);
    const quote = (await res.json()) as Quote;
    expect(quote.rows.map((r) => [r.sku, r.brief])).toEqual([
      ["A-1", "linen suit,\r\nharbour at dawn"],
      ["A-2", 'a "quoted" trench coat'],
    ]);
    expect(quote.rows[1].references.map((r) => r.ref)).toEqual(["look-02.png", "look-01.png"]);
  });

  it("reads what each reference shows (roles), the flagged review policy and autoFix from the sheet; flagged without roles is refused at its row", async () => {
    const { apiKey } = await newAccount();
    const files = await photos(2);
    const csv =
      "sku,brief,references,roles,reviewPolicy,autoFix\nQ-1,a checked look,look-01.png;look-02.png,model;garment,flagged,true\nQ-2,a look reviewed always,look-02.png,-,,\n";
    const res = await submit(apiKey, form(csv, [...files], { idempotencyKey: "roles-1" }));
    expect(res.status, await res.clone().text()).toBe(202);
    const status = await placed(apiKey, ((await res.json()) as { id: string }).id);
    const shoot = (await (await call(`/api/shoots/${status.shoots[0].id}`, { key: apiKey })).json()) as { params: Record<string, unknown> };
    expect(shoot.params).toMatchObject({ referenceRoles: ["model", "garment"], reviewPolicy: "flagged", autoFix: true });
    const other = (await (await call(`/api/shoots/${status.shoots[1].id}`, { key: apiKey })).json()) as { params: Record<string, unknown> };
    expect(other.params).toMatchObject({ referenceRoles: [null], reviewPolicy: "always", autoFix: false });

    // The batch-wide policy needs each row to say what its references are: the row without roles is named.
    const errors = await refused(
      await submit(
        apiKey,
        form("sku,brief,references,roles\nR-1,with roles,look-01.png,garment\nR-2,without,look-02.png,\n", [...files], { reviewPolicy: "flagged" }),
      ),
    );
    expect(errors.map((e) => e.field)).toEqual(["rows[1].referenceRoles"]);
    const mismatched = await refused(await submit(apiKey, form("sku,brief,references,roles\nR-1,two photos,look-01.png;look-02.png,garment\n", [...files])));
    expect(mismatched.map((e) => e.field)).toEqual(["rows[0].referenceRoles"]);
  });

  it("takes the photos as one zip (folders inside, the junk desktops add skipped) and the sheet as JSON", async () => {
    const { apiKey } = await newAccount();
    const files = await photos(3);
    const zip = zipSync({
      "season/look-01.png": files.get("look-01.png")!,
      "season/more/look-02.png": files.get("look-02.png")!,
      "look-03.png": files.get("look-03.png")!,
      "__MACOSX/season/._look-01.png": new Uint8Array([0, 5, 22, 7]),
      "season/.DS_Store": new Uint8Array([1, 2, 3]),
    });
    const sheet = JSON.stringify([
      { sku: "Z-1", brief: "silk dress in a greenhouse", references: ["look-01.png", "look-02.png"] },
      { sku: "Z-2", brief: "leather boots on wet cobbles", references: ["look-03.png"] },
    ]);
    const res = await submit(apiKey, form(sheet, [["season.zip", zip]], { dryRun: "true" }, "looks.json"));
    expect(res.status).toBe(200);
    const quote = (await res.json()) as Quote;
    expect(quote.rows.map((r) => r.references.map((x) => x.source))).toEqual([["zip", "zip"], ["zip"]]);
  });
});

describe("every bad case is refused with its row and column or file named, and nothing is created", () => {
  it("a photo no row's reference matches, a duplicated name, a path for a name, an incomplete or oversized file, a zip that climbs out", {
    timeout: 30_000,
  }, async () => {
    const { apiKey, accountId } = await newAccount();
    const files = await photos(3);
    const good = files.get("look-01.png")!;
    const truncated = files.get("look-02.png")!.slice(0, 90);
    const big = new Uint8Array(10 * 1024 * 1024 + 1);
    big.set(good);
    const evilZip = zipSync({ "../../etc/look-09.png": good, "ok/look-08.png": files.get("look-03.png")! });
    const csv = [
      "sku,brief,references",
      "S-1,denim jacket on a rooftop,look-01.png",
      "S-2,raincoat in the city,Look-01.PNG",
      "S-3,knitwear by the fire,../look-01.png",
      "S-4,velvet blazer at a gala,look-05.png",
    ].join("\n");
    const res = await submit(
      apiKey,
      form(csv, [
        ["look-01.png", good],
        ["look-01.png", good],
        ["look-02.png", truncated],
        ["look-03.png", big],
        ["bad.zip", evilZip],
      ]),
    );
    const errors = await refused(res);
    const at = (field: string) => errors.filter((e) => e.field === field).map((e) => e.message);
    expect(at("photos[1]")).toEqual([expect.stringMatching(/"look-01\.png".*same name/)]);
    expect(at("photos[2]")).toEqual([expect.stringMatching(/"look-02\.png"/)]);
    expect(at("photos[3]")).toEqual([expect.stringMatching(/"look-03\.png" is larger than 10 MB/)]);
    expect(at("photos[4]")).toEqual([expect.stringMatching(/"\.\.\/\.\.\/etc\/look-09\.png" in bad\.zip is a path/)]);
    expect(at("rows[1].references[0]")).toEqual([expect.stringContaining('did you mean "look-01.png"')]);
    expect(at("rows[2].references[0]")).toEqual([expect.stringContaining("is a path, not a file name")]);
    expect(at("rows[3].references[0]")).toEqual([expect.stringContaining('no photo named "look-05.png"')]);
    await nothingCreated(apiKey, accountId);
  });

  it("a file name with control characters, a row with a bad field, an unknown recipe, an unknown column", async () => {
    const { apiKey, accountId } = await newAccount();
    const files = await photos(1);
    const csv = [
      "sku,brief,references,aspectRatio,recipe",
      "S-1,denim jacket on a rooftop,look-01.png,7:1,",
      "S-2,raincoat in the city,look-01.png,,no-such-recipe",
    ].join("\n");
    const errors = await refused(await submit(apiKey, form(csv, [["look\u0007.png", files.get("look-01.png")!], ...files])));
    expect(errors.map((e) => e.field)).toEqual(["photos[0]", "rows[0].aspectRatio", "rows[1].recipe"]);
    expect(errors[0].message).toContain("control characters");
    const unknown = await refused(await submit(apiKey, form("sku,brief,references,colour\nS-1,a brief,look-01.png,red", [...files])));
    expect(unknown).toEqual([{ field: "csv.colour", message: expect.stringContaining("is not a known column") }]);
    await nothingCreated(apiKey, accountId);
  });
});

it("a refusal carries the rows as the service read them, so each error can be shown beside its row", async () => {
  const { apiKey } = await newAccount();
  const csv = ["sku,brief,references,colour", 'S-1,"linen suit, harbour",a.png; b.png,red', "S-2,raincoat,c.png,"].join("\n");
  const res = await submit(apiKey, form(csv, []));
  expect(res.status).toBe(400);
  const problem = (await res.json()) as { errors: FieldError[]; rows: unknown[] };
  expect(problem.errors.map((e) => e.field)).toEqual(["csv.colour"]);
  expect(problem.rows).toEqual([
    { index: 0, sku: "S-1", brief: "linen suit, harbour", references: ["a.png", "b.png"] },
    { index: 1, sku: "S-2", brief: "raincoat", references: ["c.png"] },
  ]);
});

describe("references by URL", () => {
  const photoRequests = async () => (await (await fetch(`${SIM}/__sim/photos/requests`)).json()) as Record<string, number>;

  it("fetches https-style photo URLs (the simulator on loopback, allowed by the local-only setting), each once, and checks them", async () => {
    const { apiKey } = await newAccount();
    const before = await photoRequests();
    const url = `${SIM}/photos/url-coat-${Date.now()}.png`;
    const sheet = JSON.stringify([
      { sku: "U-1", brief: "camel coat by a lake", references: [url] },
      { sku: "U-2", brief: "camel coat in the snow", references: [url, `${SIM}/photos/redirect?to=${encodeURIComponent(url)}`] },
    ]);
    const res = await submit(apiKey, form(sheet, [], { dryRun: "true" }, "looks.json"));
    expect(res.status).toBe(200);
    const quote = (await res.json()) as Quote;
    expect(quote.rows[1].references.map((r) => r.source)).toEqual(["url", "url"]);
    expect(quote.rows[1].references[1].sha256).toBe(quote.rows[0].references[0].sha256);
    const path = new URL(url).pathname;
    expect((await photoRequests())[path] - (before[path] ?? 0)).toBe(2); // the URL once, and once at the end of the redirect

    const broken = await submit(apiKey, form(JSON.stringify([{ brief: "a broken photo", references: [`${SIM}/photos/broken.png`] }]), [], {}, "looks.json"));
    expect((await refused(broken))[0]).toEqual({ field: "rows[0].references[0]", message: expect.stringMatching(/broken\.png .*(complete|PNG)/i) });
    const slow = await submit(
      apiKey,
      form(JSON.stringify([{ brief: "a slow photo", references: [`${SIM}/photos/slow/slow.png?ms=5000`] }]), [], {}, "looks.json"),
    );
    expect((await refused(slow))[0]).toEqual({ field: "rows[0].references[0]", message: expect.stringContaining("timed out after 2 s") });
  });

  it("refuses private, link-local and metadata addresses in every spelling, and redirects to them, before any connection", async () => {
    const { apiKey, accountId } = await newAccount();
    const spy = vi.spyOn(globalThis, "fetch");
    const bad = [
      "https://10.0.0.5/a.png",
      "https://192.168.1.1/a.png",
      "https://169.254.169.254/latest/meta-data/",
      "https://0xa9.0xfe.0xa9.0xfe/a.png",
      "https://2852039166/a.png",
      "https://0251.0376.0251.0376/a.png",
      "https://[::ffff:169.254.169.254]/a.png",
      "https://[fd00:ec2::254]/a.png",
      "https://[fe80::1]/a.png",
      "https://172.16.0.1/a.png",
      "https://100.64.0.1/a.png",
      "https://metadata.google.internal/computeMetadata/v1/",
      "http://10.1.1.1/a.png",
    ];
    const sheet = JSON.stringify(bad.map((u, i) => ({ sku: `P-${i}`, brief: `private photo ${i}`, references: [u] })));
    const errors = await refused(await submit(apiKey, form(sheet, [], {}, "looks.json")));
    expect(errors.map((e) => e.field)).toEqual(bad.map((_, i) => `rows[${i}].references[0]`));
    expect(spy).not.toHaveBeenCalled();

    // A public-looking URL (the simulator, on loopback here) that redirects to a private address:
    // the redirect is followed only after its target is checked, so 10.0.0.1 is never requested.
    const redirect = `${SIM}/photos/redirect?to=${encodeURIComponent("http://10.0.0.1/a.png")}`;
    const viaRedirect = await refused(
      await submit(apiKey, form(JSON.stringify([{ brief: "redirected photo", references: [redirect] }]), [], {}, "looks.json")),
    );
    expect(viaRedirect[0]).toEqual({ field: "rows[0].references[0]", message: expect.stringContaining("redirects to a private address") });
    const requested = spy.mock.calls.map(([input]) => String(input instanceof Request ? input.url : input));
    expect(requested.some((u) => new URL(u).hostname === "10.0.0.1")).toBe(false);
    expect(requested.some((u) => u.startsWith(`${SIM}/photos/redirect`))).toBe(true);
    await nothingCreated(apiKey, accountId);
  });
});

describe("recipes, the quote and the batch budget", () => {
  it("a recipe is versioned, rows use it, and each shoot records the version it used", async () => {
    const { apiKey } = await newAccount();
    const save = (settings: unknown) => call("/api/recipes", { method: "POST", key: apiKey, body: JSON.stringify({ name: "ss27-studio", settings }) });
    const v1 = await save({ review: [], presets: { background: "studio-white" }, aspectRatio: "4:5" });
    expect(v1.status).toBe(201);
    expect(((await v1.json()) as { version: number }).version).toBe(1);
    expect((await save({ review: [], presets: { background: "studio-white" }, aspectRatio: "4:5" })).status).toBe(200);
    const v2 = await save({ review: ["reel"], presets: { background: "studio-white" }, aspectRatio: "9:16" });
    expect(((await v2.json()) as { version: number }).version).toBe(2);
    const list = (await (await call("/api/recipes", { key: apiKey })).json()) as { recipes: { name: string; version: number; versions: number }[] };
    expect(list.recipes).toEqual([expect.objectContaining({ name: "ss27-studio", version: 2, versions: 2 })]);

    const files = await photos(1);
    const csv = [
      "sku,brief,references,recipe,aspectRatio",
      "R-1,wool coat on a pier,look-01.png,ss27-studio@1,",
      "R-2,wool coat at night,look-01.png,ss27-studio,1:1",
    ].join("\n");
    const res = await submit(apiKey, form(csv, [...files]));
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as Accepted;
    await placed(apiKey, accepted.id);
    const params = async (id: string) => ((await (await call(`/api/shoots/${id}`, { key: apiKey })).json()) as { params: Record<string, unknown> }).params;
    // A row's own field beats its recipe; the recipe's version is on the shoot.
    expect(await params(accepted.shoots[0].id)).toMatchObject({ recipe: { name: "ss27-studio", version: 1 }, aspectRatio: "4:5", review: [] });
    expect(await params(accepted.shoots[1].id)).toMatchObject({ recipe: { name: "ss27-studio", version: 2 }, aspectRatio: "1:1", review: ["reel"] });
  });

  it("a dry run quotes every row from the price table and the review policy, and changes nothing", async () => {
    const { apiKey, accountId } = await newAccount();
    const files = await photos(2);
    const csv = ["sku,brief,references,review", "Q-1,trench coat in the rain,look-01.png,none", "Q-2,trench coat at dawn,look-02.png,hero;clips"].join("\n");
    const res = await submit(apiKey, form(csv, [...files], { dryRun: "true", budgetUsd: "4" }));
    expect(res.status).toBe(200);
    const quote = (await res.json()) as Quote & { withinBudget: boolean };
    const prices = JSON.parse(env.PRICES) as Record<string, number>;
    const once = 2 * prices[env.IMAGE_MODEL] + 5 * prices[env.CLIP_MODEL];
    const rate = Number(env.QUOTE_REVISION_RATE);
    expect(quote.rows[0].costUsd).toBeCloseTo(once, 4);
    expect(quote.rows[1].costUsd).toBeCloseTo(once + rate * (prices[env.IMAGE_MODEL] + 5 * prices[env.CLIP_MODEL]), 4);
    expect(quote.totalUsd).toBeCloseTo(quote.rows[0].costUsd + quote.rows[1].costUsd, 4);
    expect(quote.placeable).toBe(1);
    expect(quote.withinBudget).toBe(false);
    await nothingCreated(apiKey, accountId);
  });

  it("the batch budget places shoots while spent plus committed stays within it, holds the rest, and the status says so", { timeout: 30_000 }, async () => {
    const { apiKey } = await newAccount();
    const files = await photos(1);
    const rows = Array.from({ length: 5 }, (_, i) => `B-${i},look ${i}: cashmere sweater by the sea,look-01.png`);
    const accepted = (await (
      await submit(apiKey, form(["sku,brief,references", ...rows].join("\n"), [...files], { review: "none", budgetUsd: "7" }))
    ).json()) as Accepted;
    const perShoot = accepted.quoteUsd / 5;
    expect(Math.floor(7 / perShoot)).toBe(2);
    const status = await placed(apiKey, accepted.id);
    expect(status.shoots.filter((s) => s.state === "held").map((s) => s.sku)).toEqual(["B-2", "B-3", "B-4"]);
    expect(status.shoots.find((s) => s.state === "held")?.error).toMatch(/batch budget is \$7/);
    expect(status.budget).toMatchObject({ capUsd: 7, held: 3, stopped: true });
    const shoots = async () => ((await (await call("/api/shoots?limit=100", { key: apiKey })).json()) as { shoots: unknown[] }).shoots;
    expect(await shoots()).toHaveLength(2);

    // Raising the budget with the retry places the held rows, with the shoot ids they always had.
    const retry = await call(`/api/batches/${accepted.id}/retry`, { method: "POST", key: apiKey, body: JSON.stringify({ budgetUsd: 100 }) });
    expect(((await retry.json()) as { retried: { index: number }[] }).retried.map((r) => r.index)).toEqual([2, 3, 4]);
    const after = await placed(apiKey, accepted.id);
    expect(after.shoots.map((s) => s.state).filter((s) => s === "held")).toEqual([]);
    expect(after.shoots.map((s) => s.id)).toEqual(accepted.shoots.map((s) => s.id));
    expect(after.budget).toMatchObject({ capUsd: 100, held: 0, stopped: false });
    expect(await shoots()).toHaveLength(5);
  });
});

describe("the report", () => {
  it("one row per SKU, as JSON and as a CSV a spreadsheet opens (BOM, formulas escaped)", async () => {
    const { apiKey } = await newAccount();
    const files = await photos(1);
    const csv = ["sku,brief,references", "=HYPERLINK(1),a coat with a formula for a SKU,look-01.png", "K-2,a second coat,look-01.png"].join("\n");
    const accepted = (await (await submit(apiKey, form(csv, [...files], { review: "none" }))).json()) as Accepted;
    const json = (await (await call(`/api/batches/${accepted.id}/report`, { key: apiKey })).json()) as {
      rows: { sku: string; shootId: string; frames: unknown[] }[];
    };
    expect(json.rows.map((r) => [r.sku, r.shootId])).toEqual(accepted.shoots.map((s) => [s.sku, s.id]));
    expect(json.rows[0].frames).toHaveLength(6);

    const res = await call(`/api/batches/${accepted.id}/report?format=csv`, { key: apiKey });
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect(res.headers.get("content-disposition")).toContain(".csv");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const parsed = Papa.parse<Record<string, string>>(new TextDecoder().decode(bytes), { header: true, skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    expect(parsed.data.map((r) => r.sku)).toEqual(["'=HYPERLINK(1)", "K-2"]);
    expect(parsed.meta.fields).toEqual(expect.arrayContaining(["shoot_id", "state", "cost_usd", "hero_url", "frame_6_url", "reel_url"]));
    const other = await newAccount();
    expect((await call(`/api/batches/${accepted.id}/report?format=csv`, { key: other.apiKey })).status).toBe(404);
  });
});
