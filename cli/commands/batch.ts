/** `atelier batch submit | status | report`: catalogue batches from a sheet and a folder of photos. */
import { answer, connect, ok, type Schemas } from "../api.ts";
import { command } from "../command.ts";
import { EXIT, usageError } from "../exit.ts";
import { countsLine, table, truncate, usd } from "../format.ts";
import { json, note, out, streamOut } from "../output.ts";
import { sheetFieldNamer } from "../problems.ts";
import { progressOn } from "../progress.ts";
import { readSubmission } from "../submission.ts";
import { outcome, watchBatch } from "../watch.ts";

export const submit = command({
  name: "batch submit",
  args: ["SHEET"],
  summary: "Start a batch: one shoot per row of SHEET (CSV or JSON), with the photos of a folder.",
  details: [
    "CSV columns: sku, brief, references (photo file names separated by ;), roles (model;garment;accessory or -",
    "for each reference), recipe, pose, background, style, aspectRatio, review, reviewPolicy, autoFix, budgetUsd,",
    "idempotencyKey. Every row and photo is checked first: one bad row and",
    "nothing is created (exit 3, each problem named by its row). The same sheet again answers the same batch.",
    "",
    "Prints the batch id on stdout (alone on the last line: ID=$(atelier batch submit …)); notes and",
    "progress go to stderr.",
  ],
  options: {
    photos: { type: "string", value: "DIR", help: "Send every photo (PNG, JPEG, WebP) and zip in DIR (not its subfolders)" },
    recipe: { type: "string", value: "NAME", help: "Recipe for every row: NAME or NAME@VERSION" },
    review: { type: "string", value: "STAGES", help: 'Stages a person reviews: none, or e.g. "hero;reel"' },
    flagged: { type: "boolean", help: "Review a stage only when a quality check flags it (needs a roles column)" },
    "auto-fix": { type: "boolean", help: "Remake a flagged item once, with the findings in its prompt, before anyone is asked" },
    budget: { type: "string", value: "USD", help: "Batch budget: no shoot starts once it would be passed" },
    quote: { type: "boolean", help: "Print what each row and the batch would cost; create nothing" },
    json: { type: "boolean", help: "With --quote, print the quote as JSON" },
    watch: { type: "boolean", help: "Follow the batch until it completes; exit 1 if any shoot did not" },
  },
  async run([sheetPath], o) {
    if (o.quote && o.watch) throw usageError("--quote creates nothing to watch: use one or the other");
    const api = connect();
    const sub = await readSubmission(sheetPath, o.photos, {
      recipe: o.recipe,
      review: o.review,
      ...(o.flagged ? { reviewPolicy: "flagged" } : {}),
      ...(o["auto-fix"] ? { autoFix: true } : {}),
      budgetUsd: o.budget,
      dryRun: o.quote,
    });
    const { data, status } = await answer(
      // openapi-fetch types this route's body as its JSON or its form fields; a FormData goes through as it is.
      api.POST("/api/batches", { body: sub.form as never }),
      sheetFieldNamer(sub.sheet),
    );
    if ("dryRun" in data) {
      if (o.json) json(data);
      else out(quoteText(data));
      return EXIT.ok;
    }
    if (status === 200) note(`this sheet was submitted before: batch ${data.id} (${data.status})`);
    else if ("quoteUsd" in data) note(`batch ${data.id}: ${data.total} shoots, quoted ${usd(data.quoteUsd)}, ${sub.photos.length} photos sent`);
    out(data.id);
    if (!o.watch) return EXIT.ok;
    const end = outcome(await watchBatch(api, data.id, progressOn(process.stderr)));
    for (const line of end.lines) note(line);
    return end.code;
  },
});

function quoteText(q: Schemas["BatchQuote"]): string {
  const rows = q.rows.map((r) => [r.sku, r.index + 1, r.review.join(";") || "none", truncate(r.references.map((x) => x.ref).join(";"), 48), usd(r.costUsd)]);
  const budget =
    q.budgetUsd == null
      ? ""
      : q.withinBudget
        ? ` (within the ${usd(q.budgetUsd)} budget)`
        : ` (over the ${usd(q.budgetUsd)} budget: only the first ${q.placeable} rows fit)`;
  return [
    table([["SKU", "ROW", "REVIEW", "REFERENCES", "COST"], ...rows]),
    "",
    `total for ${q.total} rows: ${usd(q.totalUsd)}${budget}`,
    ...(q.recipe ? [`recipe: ${q.recipe}`] : []),
    ...(q.photos.unused.length ? [`photos no row names: ${q.photos.unused.join(", ")}`] : []),
    "nothing was created (--quote)",
  ].join("\n");
}

export const status = command({
  name: "batch status",
  args: ["ID"],
  summary: "Where a batch stands: counts by state, cost, and each shoot with its error.",
  options: { json: { type: "boolean", help: "Print the API's answer (BatchStatus) as JSON" } },
  async run([id], o) {
    const s = await ok(connect().GET("/api/batches/{id}", { params: { path: { id } } }));
    if (o.json) json(s);
    else out(statusText(s));
    return EXIT.ok;
  },
});

function statusText(s: Schemas["BatchStatus"]): string {
  const quoted = s.shoots.reduce((sum, r) => sum + r.quoteUsd, 0);
  const budget = s.budget && `budget ${usd(s.budget.capUsd)}, committed ${usd(s.budget.committedUsd)}${s.budget.stopped ? `, ${s.budget.held} held` : ""}`;
  return [
    `batch ${s.id}: ${s.status}, ${s.total} shoots, cost ${usd(s.costUsd)} of ${usd(quoted)} quoted`,
    `created ${s.createdAt}${s.completedAt ? `, completed ${s.completedAt}` : ""}`,
    [s.recipe && `recipe ${s.recipe}`, `review ${s.review ? s.review.join(";") || "none" : "per row"}`, budget].filter(Boolean).join(" · "),
    countsLine(s.counts.byState),
    "",
    table([["SKU", "ROW", "STATE", "STAGE", "SHOOT", "NOTE"], ...s.shoots.map((r) => [r.sku, r.index + 1, r.state, r.stage, r.id, r.error ?? r.waiting])]),
  ].join("\n");
}

export const report = command({
  name: "batch report",
  args: ["ID"],
  summary: "The batch's report, one row per SKU with signed URLs of the hero, frames and reel, on stdout.",
  details: ["atelier batch report ID > report.csv"],
  options: { format: { type: "string", value: "csv|json", help: "csv (default; UTF-8 with BOM, opens in a spreadsheet) or json" } },
  async run([id], o) {
    const format = o.format ?? "csv";
    if (format !== "csv" && format !== "json") throw usageError(`--format is csv or json, not ${format}`);
    const body = await ok(connect().GET("/api/batches/{id}/report", { params: { path: { id }, query: { format } }, parseAs: "stream" }));
    if (body) await streamOut(body);
    return EXIT.ok;
  },
});

export const retry = command({
  name: "batch retry",
  args: ["ID"],
  summary: "Place again the rows the queue gave up on or the budget held, and give failed shoots a new attempt.",
  details: ["atelier batch retry ID --budget 500   # raise the batch budget first, so held rows can be placed"],
  options: { budget: { type: "string", value: "USD", help: "A new batch budget, set before held rows are queued again" } },
  async run([id], o) {
    const budgetUsd = o.budget === undefined ? undefined : Number(o.budget);
    if (budgetUsd !== undefined && !(budgetUsd > 0)) throw usageError(`--budget is a positive number of USD, not ${o.budget}`);
    const body = budgetUsd === undefined ? {} : { budgetUsd };
    const { retried } = await ok(connect().POST("/api/batches/{id}/retry", { params: { path: { id } }, body }));
    out(retried.length ? retried.map((r) => `row ${r.index + 1}: ${r.shootId}`).join("\n") : "nothing to retry");
    return EXIT.ok;
  },
});
