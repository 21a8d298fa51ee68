/**
 * The batch page in a real browser (Debian's Chromium through playwright-core) against a private
 * stack: a CSV with a bad row is refused with that row and field and creates nothing; a good CSV
 * starts a batch whose page shows progress bars that move as its shoots reach their plan checkpoint;
 * axe on both views. Screenshots go to test-artifacts/ui/.
 */
import AxeBuilder from "@axe-core/playwright";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { client, startTestStack } from "./helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SHOTS = path.join(ROOT, "test-artifacts/ui");
const haveChromium = existsSync(CHROMIUM);

describe.skipIf(!haveChromium)("batch page in Chromium", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  let api: ReturnType<typeof client>;
  let browser: Browser;
  let page: Page;
  let refs: string[] = [];
  const axeFindings: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const { build } = await import("vite");
    await build({ configFile: path.join(ROOT, "web/vite.config.ts"), logLevel: "warn" });
    env = await startTestStack("ui-batches", 19300);
    api = client(env.stack);
    const form = new FormData();
    const png = await sharp({ create: { width: 240, height: 320, channels: 3, background: { r: 120, g: 90, b: 60 } } })
      .png()
      .toBuffer();
    form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${env.stack.identity.apiKey}` }, body: form });
    refs = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${env.stack.url}/#key=${encodeURIComponent(env.stack.identity.apiKey)}`);
  });
  afterAll(async () => {
    await browser?.close();
    await env?.cleanup();
  });
  async function axe(name: string) {
    const r = await new AxeBuilder({ page }).analyze();
    for (const v of r.violations) if (v.impact === "serious" || v.impact === "critical") axeFindings.push(`${name}: ${v.id} (${v.impact})`);
  }
  const csv = (rows: string[]) => Buffer.from(["brief,references,pose", ...rows].join("\n"));

  it("refuses a CSV with a bad row, naming the row and the field, and creates nothing", async () => {
    await page.getByRole("link", { name: "Batches" }).click();
    await page.getByRole("heading", { name: "Upload a batch" }).waitFor();
    await page.getByText("No batches yet.").waitFor();
    await page
      .getByLabel("Shoots file")
      .setInputFiles({ name: "looks.csv", mimeType: "text/csv", buffer: csv([`wool coat in fog,${refs[0]},`, `silk dress,${refs[0]},cartwheel`]) });
    await page.getByRole("button", { name: "Start batch" }).click();
    const errors = page.getByRole("list", { name: "Row errors" });
    await errors.getByText("rows[1].presets.pose").waitFor();
    await page.getByText("Nothing was created").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "batch-01-row-error.png"), fullPage: true });
    await axe("batches");
    expect((await api<{ batches: unknown[] }>("GET", "/api/batches")).body.batches).toHaveLength(0);
    expect((await api<{ shoots: unknown[] }>("GET", "/api/shoots")).body.shoots).toHaveLength(0);
  });

  it("starts a batch from a CSV and shows its progress bars moving to the plan checkpoint", async () => {
    await page.getByLabel("Shoots file").setInputFiles({
      name: "looks.csv",
      mimeType: "text/csv",
      buffer: csv([`wool coat in fog,${refs[0]},`, `linen suit at the harbour,${refs[0]},`, `raincoat in the city,${refs[0]},`]),
    });
    await page.getByLabel("Review").selectOption({ label: "The plan only" });
    await page.getByRole("button", { name: "Start batch" }).click();
    await page.getByRole("heading", { name: "Batch of 3 shoots" }).waitFor();
    expect(page.url()).toMatch(/\/batches\/[^/]+$/);
    // Every shoot reaches its plan checkpoint: the "Awaiting review" bar fills to 3 of 3.
    const awaiting = page.getByRole("progressbar", { name: "Awaiting review" });
    await expect.poll(async () => (await awaiting.count()) && Number(await awaiting.getAttribute("value")), { timeout: 180_000, interval: 1000 }).toBe(3);
    expect(await page.getByRole("progressbar", { name: "At Plan" }).getAttribute("value")).toBe("3");
    const rows = page.getByRole("list", { name: "Shoots of this batch" }).getByRole("listitem");
    expect(await rows.count()).toBe(3);
    await rows.first().getByText("Awaiting review").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "batch-02-progress.png"), fullPage: true });
    await axe("batch");
    // A row links to its shoot's page.
    await rows.first().getByRole("link", { name: "Row 1" }).click();
    await page.getByRole("heading", { name: /wool coat in fog/ }).waitFor();
  });

  it("has no serious or critical accessibility violations", () => {
    expect(axeFindings).toEqual([]);
  });
});
