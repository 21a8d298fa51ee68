/**
 * The batch intake in a real browser (Debian's Chromium through playwright-core) against a private
 * stack: a sheet and its photos (files and a zip) dropped together onto the drop zone; a row naming a
 * photo that was not sent is refused beside that row and nothing is created; the corrected sheet
 * dropped again previews every row with thumbnails and a quote; the batch starts, its page shows the
 * shoots by SKU reaching completed, and the per-SKU report downloads as CSV. Axe on every view.
 * Screenshots go to test-artifacts/ui/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { zipSync } from "fflate";
import Papa from "papaparse";
import { chromium, type Browser, type Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { CHROMIUM, CHROMIUM_ARGS, seriousAxe, client, startTestStack, haveChromium } from "./helpers.ts";

// Runs inside the page (page.evaluateHandle), where the DOM exists; this project is typed for Node.
declare const DataTransfer: new () => { items: { add(file: unknown): void } };

const SHOTS = path.join(ROOT, "test-artifacts/ui");
const COMPLETE_WAIT = 300_000;

interface DroppedFile {
  name: string;
  type: string;
  bytes: Buffer;
}

describe.skipIf(!haveChromium)("batch intake in Chromium", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  let api: ReturnType<typeof client>;
  let browser: Browser;
  let page: Page;
  let photoDir = "";
  let batchId = "";
  const axeFindings: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const { build } = await import("vite");
    await build({ configFile: path.join(ROOT, "web/vite.config.ts"), logLevel: "warn" });
    // The photos a studio would send, written to a folder as they would be on a producer's disk.
    photoDir = mkdtempSync(path.join(tmpdir(), "atelier-intake-"));
    const colours = { "coat.png": [120, 90, 60], "dress.png": [150, 40, 70], "suit.png": [200, 190, 160], "scarf.png": [40, 90, 150] } as const;
    for (const [name, [r, g, b]] of Object.entries(colours)) {
      await sharp({ create: { width: 240, height: 320, channels: 3, background: { r, g, b } } })
        .png()
        .toFile(path.join(photoDir, name));
    }
    // The scarf comes inside a zip (the preview names it, with no thumbnail).
    writeFileSync(path.join(photoDir, "accessories.zip"), zipSync({ "accessories/scarf.png": readFileSync(path.join(photoDir, "scarf.png")) }));
    env = await startTestStack("ui-batches", 19300);
    api = client(env.stack);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })).newPage();
    await page.goto(`${env.stack.url}/#key=${encodeURIComponent(env.stack.identity.apiKey)}`);
  });
  afterAll(async () => {
    await browser?.close();
    await env?.cleanup();
    if (photoDir) rmSync(photoDir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  async function axe(name: string) {
    axeFindings.push(...(await seriousAxe(page, name)).findings);
  }
  const sheet = (third: string): DroppedFile => ({
    name: "ss27-looks.csv",
    type: "text/csv",
    bytes: Buffer.from(
      [
        "sku,brief,references",
        "SKU-001,wool coat in fog,coat.png",
        "SKU-002,silk dress at dusk,dress.png;scarf.png",
        `SKU-003,linen suit at the harbour,${third}`,
      ].join("\n"),
    ),
  });
  const photos = (): DroppedFile[] => [
    ...["coat.png", "dress.png", "suit.png"].map((name) => ({ name, type: "image/png", bytes: readFileSync(path.join(photoDir, name)) })),
    { name: "accessories.zip", type: "application/zip", bytes: readFileSync(path.join(photoDir, "accessories.zip")) },
  ];

  /** A real drop: a DataTransfer built in the page from the files' bytes, dispatched as a browser drag would. */
  async function drop(files: DroppedFile[]) {
    const dt = await page.evaluateHandle(
      (fs) => {
        const d = new DataTransfer();
        for (const f of fs) d.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
        return d;
      },
      files.map((f) => ({ ...f, bytes: [...f.bytes] })),
    );
    const zone = page.getByRole("group", { name: "Drop the sheet and its photos here" });
    for (const type of ["dragenter", "dragover", "drop"]) await zone.dispatchEvent(type, { dataTransfer: dt });
    await dt.dispose();
  }

  it("refuses a sheet naming a photo that was not sent, beside that row, and creates nothing", async () => {
    await page.getByRole("link", { name: "Batches" }).click();
    await page.getByRole("heading", { name: "New batch" }).waitFor();
    await page.getByText("No batches yet.").waitFor();
    for (const label of ["Choose the sheet and photos", "Choose a folder", "Review", "Recipe", "Batch budget (USD, optional)"]) {
      expect(await page.getByLabel(label).count(), label).toBe(1);
    }
    await page.getByLabel("Review").selectOption({ label: "None: approve automatically" });
    await drop([sheet("suit-missing.png"), ...photos()]);

    const summary = page.getByRole("alert").filter({ hasText: "nothing can start" });
    await summary.waitFor();
    await summary.getByText("Row 3 has problems").waitFor();
    // The rows are all shown (read in the browser), the error beside row 3 and only there.
    const table = page.getByRole("table", { name: /Rows of ss27-looks\.csv/ });
    expect(await table.getByRole("row").count()).toBe(4);
    const row3 = table.getByRole("row", { name: /SKU-003/ });
    const rowAlert = row3.getByRole("alert");
    await expect.poll(() => rowAlert.textContent()).toContain('no photo named "suit-missing.png" was sent');
    expect(await rowAlert.textContent()).toContain("Reference 1:");
    for (const sku of ["SKU-001", "SKU-002"])
      expect(
        await table
          .getByRole("row", { name: new RegExp(sku) })
          .getByRole("alert")
          .count(),
      ).toBe(0);
    // The dropped photos are already shown as thumbnails in the rows that name them.
    expect(
      await table
        .getByRole("row", { name: /SKU-001/ })
        .locator("img")
        .count(),
    ).toBe(1);
    expect(await page.getByRole("button", { name: "Start batch" }).isDisabled()).toBe(true);
    await shot("batch-01-preview-error");
    await axe("preview with errors");
    expect((await api<{ batches: unknown[] }>("GET", "/api/batches")).body.batches).toHaveLength(0);
    expect((await api<{ shoots: unknown[] }>("GET", "/api/shoots")).body.shoots).toHaveLength(0);
  });

  it("previews the corrected sheet: every row, its references, the quote per row and in total, no errors", async () => {
    await drop([sheet("suit.png"), ...photos()]);
    const table = page.getByRole("table", { name: /Preview of ss27-looks\.csv/ });
    await table.waitFor();
    await page.getByText(/^3 rows, quote \$\d+\.\d\d$/).waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    // Three rows and the total.
    expect(await table.locator("tbody").getByRole("row").count()).toBe(3);
    const total = await table.locator("tfoot").getByRole("row").textContent();
    expect(total).toMatch(/^Total\$\d+\.\d\d$/);
    for (const sku of ["SKU-001", "SKU-002", "SKU-003"]) {
      const row = table.getByRole("row", { name: new RegExp(sku) });
      expect(await row.getByRole("cell").last().textContent()).toMatch(/^\$\d+\.\d\d/);
    }
    // Loose photos as thumbnails; the scarf, from the zip, by name.
    const dress = table.getByRole("row", { name: /SKU-002/ });
    expect(await dress.locator("img").count()).toBe(1);
    await dress.getByText("in a zip").waitFor();
    expect(
      await table
        .getByRole("row", { name: /SKU-003/ })
        .locator("img")
        .count(),
    ).toBe(1);
    const start = page.getByRole("button", { name: "Start batch" });
    await expect.poll(() => start.isEnabled()).toBe(true);
    await shot("batch-02-preview-quote");
    await axe("preview with quote");
    expect((await api<{ batches: unknown[] }>("GET", "/api/batches")).body.batches).toHaveLength(0);
  });

  it("starts the batch and shows its shoots, by SKU, reaching completed", async () => {
    await page.getByRole("button", { name: "Start batch" }).click();
    await page.getByRole("heading", { name: "Batch of 3 shoots" }).waitFor();
    batchId = /\/batches\/([^/]+)$/.exec(page.url())?.[1] ?? "";
    expect(batchId).toMatch(/^ba_/);
    const rows = page.getByRole("list", { name: "Shoots of this batch" }).getByRole("listitem");
    expect(await rows.count()).toBe(3);
    for (const [i, sku] of ["SKU-001", "SKU-002", "SKU-003"].entries())
      await rows
        .nth(i)
        .getByText(`Row ${i + 1}: ${sku}`)
        .waitFor();
    const completed = page.getByRole("progressbar", { name: "Completed" });
    await expect
      .poll(async () => (await completed.count()) && Number(await completed.getAttribute("value")), { timeout: COMPLETE_WAIT, interval: 2000 })
      .toBe(3);
    await page.getByText("Completed", { exact: true }).first().waitFor();
    await expect.poll(async () => (await api<{ status: string }>("GET", `/api/batches/${batchId}`)).body.status).toBe("completed");
    await shot("batch-03-completed");
    await axe("batch page");
  });

  it("downloads the report as CSV, one row per SKU", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download report (CSV)" }).click()]);
    expect(download.suggestedFilename()).toBe(`${batchId}-report.csv`);
    const text = readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "");
    const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: "greedy" });
    expect(parsed.errors).toEqual([]);
    expect(parsed.data.map((r) => r.sku).sort()).toEqual(["SKU-001", "SKU-002", "SKU-003"]);
    for (const r of parsed.data) expect(r.state).toBe("completed");
    // A row links to its shoot.
    await page.getByRole("link", { name: "Row 1: SKU-001" }).click();
    await page.getByRole("heading", { name: /wool coat in fog/ }).waitFor();
  });

  it("shows a batch budget: the preview says which rows fit, the batch page holds the others", async () => {
    await page.getByRole("link", { name: "Batches", exact: true }).click();
    await page.getByRole("heading", { name: "New batch" }).waitFor();
    await page.getByRole("list", { name: "Batches" }).getByRole("listitem").first().waitFor();
    // New SKUs and briefs: rows with the same content would be the same shoots as the first batch's.
    const budgetSheet: DroppedFile = {
      name: "fw27-looks.csv",
      type: "text/csv",
      bytes: Buffer.from(
        [
          "sku,brief,references",
          "FW-101,parka in the snow,coat.png",
          "FW-102,knit dress by the fire,dress.png",
          "FW-103,tweed suit in the library,suit.png",
        ].join("\n"),
      ),
    };
    await drop([budgetSheet, ...photos()]);
    await page.getByText(/^3 rows, quote \$\d+\.\d\d/).waitFor();
    await page.getByLabel("Batch budget (USD, optional)").fill("3");
    await page.getByText(/^Over the batch budget of \$3\.00: the first 1 of 3 rows will be placed, the rest held\.$/).waitFor();
    const table = page.getByRole("table", { name: /Preview of fw27-looks\.csv/ });
    expect(await table.getByText("held: over budget").count()).toBe(2);
    const start = page.getByRole("button", { name: "Start batch" });
    await expect.poll(() => start.isEnabled()).toBe(true);
    await shot("batch-04-preview-budget");
    await start.click();
    await page.getByRole("heading", { name: "Batch of 3 shoots" }).waitFor();
    const held = page.getByRole("progressbar", { name: "Held (budget)" });
    await expect.poll(async () => (await held.count()) && Number(await held.getAttribute("value")), { timeout: 60_000, interval: 1000 }).toBe(2);
    await page.getByText(/^Budget \$3\.00: spent \$\d+\.\d\d, committed \$\d+\.\d\d · 2 rows held: placing them would pass the budget$/).waitFor();
    const rows = page.getByRole("list", { name: "Shoots of this batch" }).getByRole("listitem");
    for (const i of [1, 2]) await rows.nth(i).getByText("Held (budget)").waitFor();
    await rows.nth(0).getByRole("link", { name: "Row 1: FW-101" }).waitFor();
    await shot("batch-05-budget-held");
    await axe("batch page with a budget");
  });

  it("has no serious or critical accessibility violations", () => {
    expect(axeFindings).toEqual([]);
  });
});
