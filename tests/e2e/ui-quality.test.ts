/**
 * The quality gate in the review UI (issue 19) in a real browser: the simulator drifts the hero, the
 * hero checkpoint shows the flagged finding's box and reason; the reviewer drags a box on the hero,
 * writes a note for it and revises; the next hero's prompt names the place and carries the note.
 * Axe on the view; screenshots to test-artifacts/ui/quality-*.png.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { CHROMIUM, CHROMIUM_ARGS, seriousAxe, client, startTestStack, until, haveChromium, seedReferences } from "./helpers.ts";

const SHOTS = path.join(ROOT, "test-artifacts/ui");
const STAGE_WAIT = 300_000;
const PROBE = "drift-probe";
const NOTE = "keep the collar stitching sharp";
const LINK_NOTE = "less glare on the watch face";
if (!haveChromium) console.warn(`skipping the browser tests: ${CHROMIUM} is missing (apt-get install -y chromium)`);

interface ShootJson {
  status: string;
  checkpoint: {
    stage: string;
    attempt: number;
    artifacts: { assets: string[]; quality?: { flagged: number; findings: { asset: string; verdict: string; reason: string; region?: unknown }[] } };
  } | null;
  assets: { id: string; kind: string; version: number; provenance?: { prompt?: string; marks?: unknown[] } }[];
}

describe.skipIf(!haveChromium)("quality gate in the review UI", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  let api: ReturnType<typeof client>;
  let browser: Browser;
  let page: Page;
  let shootId = "";
  const axeFindings: string[] = [];

  const sim = async (p: string, body: unknown) => {
    const r = await fetch(`${env.stack.simUrl}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(r.status).toBeLessThan(300);
  };
  const shoot = async () => (await api<ShootJson>("GET", `/api/shoots/${shootId}`)).body;
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `quality-${name}.png`), fullPage: true });
  async function axe(name: string) {
    axeFindings.push(...(await seriousAxe(page, name)).findings);
  }
  const reviewOf = (stage: string, attempt: number) =>
    page.getByRole("heading", { name: `Review: ${stage} (attempt ${attempt})` }).waitFor({ timeout: STAGE_WAIT });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const { build } = await import("vite");
    await build({ configFile: path.join(ROOT, "web/vite.config.ts"), logLevel: "warn" });
    env = await startTestStack("ui-quality", 19600, {}, { SIM_CLIP_SECONDS: "1", SIM_QUIET: "1" });
    api = client(env.stack);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await env?.cleanup();
  });

  it("creates a shoot whose hero drifts", async () => {
    await sim("/__sim/faults", { drift: { rate: 1, kinds: ["garment-recolour"], seed: 3, match: PROBE } });
    const refs = await seedReferences();
    const form = new FormData();
    for (const r of refs) form.append("files", new Blob([r.bytes.slice()]), r.name);
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${env.stack.identity.apiKey}` }, body: form });
    expect(up.status).toBe(201);
    const ids = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
    const created = await api<{ id: string }>("POST", "/api/shoots", {
      brief: `tailored jacket, studio light (${PROBE})`,
      references: ids,
      referenceRoles: ["model", "garment", "accessory"],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    shootId = created.body.id;
    const atHero = await until("the hero checkpoint", async () => {
      const s = await shoot();
      return s.checkpoint?.stage === "hero" && s;
    });
    // The hero exists: its revision should come out clean.
    await sim("/__sim/faults", { drift: { rate: 0, kinds: ["garment-recolour"], seed: 3, match: PROBE } });
    expect(atHero.checkpoint?.artifacts.quality?.flagged ?? 0).toBeGreaterThan(0);
  });

  it("shows the flagged finding on the hero: its box, its reason and the summary", async () => {
    const s = await shoot();
    const flagged = s.checkpoint!.artifacts.quality!.findings.filter((f) => f.verdict === "flag");
    const boxed = flagged.find((f) => f.region);
    expect(boxed, JSON.stringify(flagged)).toBeTruthy();

    await page.goto(`${env.stack.url}/shoots/${shootId}#key=${encodeURIComponent(env.stack.identity.apiKey)}`);
    await reviewOf("Hero", 1);
    await page.getByRole("heading", { name: `Checks: ${flagged.length} flagged` }).waitFor();
    await page.getByRole("list", { name: "Flagged findings" }).getByText(boxed!.reason).first().waitFor();
    await page
      .getByRole("img", { name: `Flagged region: ${boxed!.reason}` })
      .first()
      .waitFor();
    await axe("hero-flagged");
    await shot("01-hero-flagged");
  });

  it("the shoot list filters to flagged shoots and marks them", async () => {
    await page.getByRole("link", { name: "Shoots", exact: true }).click();
    await page.getByRole("heading", { name: "Shoots" }).waitFor();
    const asked = page.waitForRequest((r) => r.url().includes("/api/shoots?") && r.url().includes("flagged=true"));
    await page.getByLabel("Flagged only").check();
    await asked;
    const row = page.getByRole("list", { name: "Shoots" }).getByRole("listitem").filter({ hasText: PROBE });
    await row.getByText(/\d+ flagged/).waitFor();
    await axe("list-flagged");
    await shot("02-list-flagged");
    await row.getByRole("link").click();
    await reviewOf("Hero", 1);
  });

  it("draws a mark on the hero with a note and revises; the next prompt names the place and the note", async () => {
    const layer = page.getByTestId("draw-layer");
    await layer.scrollIntoViewIfNeeded();
    const b = (await layer.boundingBox())!;
    // Upper left: 10–35 % across, 8–25 % down.
    await page.mouse.move(b.x + b.width * 0.1, b.y + b.height * 0.08);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * 0.2, b.y + b.height * 0.15, { steps: 4 });
    await page.mouse.move(b.x + b.width * 0.35, b.y + b.height * 0.25, { steps: 4 });
    await page.mouse.up();
    const note = page.getByLabel("Note for mark 1");
    await expect
      .poll(() => note.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement))
      .toBe(true);
    await note.fill(NOTE);
    await page.getByRole("img", { name: `Mark 1: ${NOTE}` }).waitFor();
    await axe("hero-marked");
    await shot("03-hero-marked");

    // Revise with the mark and no feedback: the mark says it all.
    await page.getByRole("button", { name: "Revise", exact: true }).click();
    await reviewOf("Hero", 2);
    const s = await shoot();
    const v2 = s.assets.filter((a) => a.kind === "hero").sort((x, y) => y.version - x.version)[0]!;
    expect(v2.version).toBe(2);
    const prompt = v2.provenance?.prompt ?? "";
    expect(prompt).toContain(NOTE);
    expect(prompt).toMatch(/upper|lower|left|right|centre/);
    expect(prompt).toContain("% across");
    expect(prompt).toMatch(/upper left/);
    expect(v2.provenance?.marks?.length).toBe(1);
    await page.getByRole("img", { name: "Hero v2" }).first().waitFor();
    await axe("hero-v2");
    await shot("04-hero-v2");
  });

  it("a reviewer by link marks a place on the hero the same way (the keyboard way), and the next prompt carries it", async () => {
    const link = await api<{ url: string }>("POST", `/api/shoots/${shootId}/checkpoints/hero/links`, {});
    expect(link.status).toBe(201);
    const outside = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const rp = await outside.newPage();
    await rp.goto(link.body.url);
    await rp.getByRole("heading", { name: /Review: Hero/ }).waitFor();
    await rp.getByRole("heading", { name: /^Checks/ }).waitFor();
    // The keyboard way: a third of the picture picked by name.
    await rp.getByLabel("Or mark a place").selectOption("lower right");
    await rp.getByRole("button", { name: "Add mark" }).click();
    await rp.getByLabel("Note for mark 1").fill(LINK_NOTE);
    await rp.getByLabel("Your name").fill("Ana Ruiz");
    await rp.screenshot({ path: path.join(SHOTS, "quality-05-review-link-375.png"), fullPage: true });
    axeFindings.push(...(await seriousAxe(rp, "review-link")).findings);
    await rp.getByRole("button", { name: "Revise", exact: true }).click();
    await rp.getByText("Recorded as Ana Ruiz").waitFor();
    await outside.close();
    const v3 = await until("hero v3", async () => (await shoot()).assets.find((a) => a.kind === "hero" && a.version === 3));
    expect(v3.provenance?.prompt).toContain(LINK_NOTE);
    expect(v3.provenance?.prompt).toMatch(/lower right/);
  });

  it("the new shoot form sends what each photo shows, the flagged policy and auto-fix, and shows the policy's error at its field", async () => {
    await page.goto(`${env.stack.url}/new`);
    await page.getByRole("heading", { name: "New shoot" }).waitFor();
    const refs = await seedReferences();
    const dt = await page.evaluateHandle(
      (fs) => {
        const G = globalThis as unknown as {
          DataTransfer: new () => { items: { add(f: unknown): void } };
          File: new (b: unknown[], n: string, o: { type: string }) => unknown;
        };
        const d = new G.DataTransfer();
        for (const f of fs) d.items.add(new G.File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
        return d;
      },
      refs.map((f) => ({ name: f.name, type: f.name.endsWith(".png") ? "image/png" : "image/jpeg", bytes: [...f.bytes] })),
    );
    await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: dt });
    for (const f of refs) await page.getByRole("listitem", { name: f.name }).getByText("Uploaded").waitFor();
    await page.getByLabel("Brief").fill(`second look, quality form (${PROBE})`);
    const policy = page.getByLabel("Review only what the checks flag");
    await policy.check();
    await page.getByLabel("Auto-fix flagged items once").check();
    // No photo says what it shows: the API refuses the flagged policy, and the form says so at the field.
    await page.getByRole("button", { name: "Start shoot" }).click();
    await expect.poll(() => policy.getAttribute("aria-invalid")).toBe("true");
    await page
      .locator("#policy-err")
      .getByText(/needs referenceRoles/)
      .waitFor();
    await axe("new-shoot-policy-error");
    await shot("06-new-shoot-policy-error");
    await page.getByRole("listitem", { name: refs[1]!.name }).getByLabel("What this photo shows").selectOption("garment");
    await page.getByRole("button", { name: "Start shoot" }).click();
    await page.waitForURL(/\/shoots\/sh_/);
    const id = page.url().split("/shoots/")[1]!;
    const created = (await api<{ params: { reviewPolicy?: string; autoFix?: boolean; referenceRoles?: (string | null)[] } }>("GET", `/api/shoots/${id}`)).body;
    expect(created.params).toMatchObject({ reviewPolicy: "flagged", autoFix: true, referenceRoles: [null, "garment", null] });
    expect(axeFindings).toEqual([]);
  });
});
