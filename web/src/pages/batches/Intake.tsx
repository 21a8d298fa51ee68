/**
 * A new batch from a studio's sheet and photos: dropped together, previewed (the same request with
 * `dryRun=true`, sent again whenever the files or settings change), started only from a preview
 * without problems. The batch's page then shows its progress.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, client, okAs } from "../../api.ts";
import type { components } from "../../../../src/api/openapi.gen.ts";
import { usd } from "../../format.ts";
import { navigate } from "../../router.ts";
import { DropZone } from "./DropZone.tsx";
import { addFiles, EMPTY, isZip, type Selection } from "./files.ts";
import { Preview, type Result } from "./Preview.tsx";
import { quoteBatch, REVIEW_OPTIONS, type Settings, startBatch } from "./request.ts";

type RecipeList = components["schemas"]["RecipeList"];

/** Waits this long after the last change before asking for a preview (typing a budget, several drops). */
const PREVIEW_DELAY_MS = 300;

export function Intake() {
  const [selection, setSelection] = useState<Selection>(EMPTY);
  const [notes, setNotes] = useState<string[]>([]);
  const [settings, setSettings] = useState<Settings>({ review: "none", recipe: "", budgetUsd: "" });
  const [recipes, setRecipes] = useState<RecipeList["recipes"] | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [checking, setChecking] = useState(false);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const thumbs = useThumbnails(selection.photos);

  useEffect(() => {
    okAs<RecipeList>(client.GET("/api/recipes"))
      .then((r) => setRecipes(r.recipes))
      .catch(() => setRecipes([]));
  }, []);

  // Any change of files or settings asks for a new preview; the one before is abandoned.
  useEffect(() => {
    setStartError(null);
    const sheet = selection.sheet;
    if (!sheet) {
      setResult(null);
      setChecking(false);
      return;
    }
    const ctrl = new AbortController();
    setChecking(true);
    const timer = setTimeout(async () => {
      let next: Result;
      try {
        next = { kind: "quote", quote: await quoteBatch(selection, settings, ctrl.signal) };
      } catch (err) {
        if (ctrl.signal.aborted) return;
        next = refusal(err);
      }
      if (ctrl.signal.aborted) return;
      setResult(next);
      setChecking(false);
    }, PREVIEW_DELAY_MS);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [selection, settings]);

  function add(files: File[]) {
    const added = addFiles(selection, files);
    setSelection(added.selection);
    setNotes(added.notes);
  }

  async function start() {
    if (!selection.sheet) return;
    setStarting(true);
    setStartError(null);
    try {
      navigate(`/batches/${await startBatch(selection, settings)}`);
    } catch (err) {
      const r = refusal(err);
      if (r.kind === "failed") setStartError(r.message);
      else setResult(r);
      setStarting(false);
    }
  }

  const canStart = !checking && !starting && result?.kind === "quote";
  const set = (patch: Partial<Settings>) => setSettings((s) => ({ ...s, ...patch }));
  const settingError = (field: string) => (result?.kind === "refused" ? result.errors.find((e) => e.field === field) : undefined);
  const zips = selection.photos.filter(isZip).length;

  return (
    <section class="panel" aria-labelledby="intake-title">
      <h2 id="intake-title">New batch</h2>
      <DropZone onFiles={add} onError={(m) => setNotes([m])} />
      {notes.length > 0 && (
        <div role="alert">
          <ul class="error notes">
            {notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </div>
      )}
      {(selection.sheet || selection.photos.length > 0) && (
        <div class="row between picked">
          <p>
            <strong>Sheet:</strong> {selection.sheet?.name ?? <span class="error">none yet: add a CSV or JSON sheet</span>} · <strong>Photos:</strong>{" "}
            {selection.photos.length - zips} {selection.photos.length - zips === 1 ? "file" : "files"}
            {zips > 0 && `, ${zips} ${zips === 1 ? "zip" : "zips"}`}
            {selection.ignored.length > 0 && <span class="meta block">Left out: {selection.ignored.map((i) => `${i.name} (${i.reason})`).join(", ")}</span>}
          </p>
          <button
            type="button"
            onClick={() => {
              setSelection(EMPTY);
              setNotes([]);
            }}
          >
            Clear files
          </button>
        </div>
      )}

      <div class="grid3">
        <div>
          <label for="batch-review">Review</label>
          <select
            id="batch-review"
            value={settings.review}
            onChange={(e) => set({ review: e.currentTarget.value })}
            {...invalid(settingError("review"), "batch-review")}
          >
            {REVIEW_OPTIONS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
            {settings.recipe && <option value="">As the recipe says</option>}
          </select>
          <FieldMessage id="batch-review" error={settingError("review")} />
        </div>
        <div>
          <label for="batch-recipe">Recipe</label>
          <select
            id="batch-recipe"
            value={settings.recipe}
            disabled={!recipes}
            onChange={(e) => set({ recipe: e.currentTarget.value, ...(!e.currentTarget.value && !settings.review ? { review: "none" } : {}) })}
            {...invalid(settingError("recipe"), "batch-recipe")}
          >
            <option value="">{recipes && recipes.length === 0 ? "No recipes yet" : "None"}</option>
            {recipes?.map((r) => (
              <option key={r.name} value={`${r.name}@${r.version}`}>
                {r.name} (version {r.version})
              </option>
            ))}
          </select>
          <FieldMessage id="batch-recipe" error={settingError("recipe")} />
        </div>
        <div>
          <label for="batch-budget">Batch budget (USD, optional)</label>
          <input
            id="batch-budget"
            type="number"
            inputMode="decimal"
            min="0.01"
            step="0.01"
            placeholder="No limit"
            value={settings.budgetUsd}
            onInput={(e) => set({ budgetUsd: e.currentTarget.value })}
            {...invalid(settingError("budgetUsd"), "batch-budget")}
          />
          <FieldMessage id="batch-budget" error={settingError("budgetUsd")} hint="Rows that would pass it are held, not placed." />
        </div>
      </div>

      <p role="status" class="hint checking">
        {checking ? "Checking the sheet and photos…" : ""}
      </p>
      {result && selection.sheet && (
        <div class={checking ? "stale" : undefined}>
          <Preview result={result} sheetName={selection.sheet.name} thumbs={thumbs} />
        </div>
      )}
      {startError && (
        <p role="alert" class="error">
          The batch was not started: {startError}
        </p>
      )}
      <div class="row">
        <button type="button" class="primary" disabled={!canStart} aria-describedby="start-hint" onClick={start}>
          {starting ? "Starting…" : "Start batch"}
        </button>
        <span id="start-hint" class="hint">
          {!selection.sheet
            ? "Add a sheet and its photos to see the preview."
            : checking
              ? "Waiting for the preview."
              : result?.kind === "quote"
                ? `Starts ${result.quote.total} ${result.quote.total === 1 ? "shoot" : "shoots"} for a quote of ${usd(result.quote.totalUsd)}.`
                : "Fix the problems above to start."}
        </span>
      </div>
    </section>
  );
}

/** What the server's refusal means for the preview: errors by field, beside the rows as the server read them; or a message. */
function refusal(err: unknown): Result {
  if (err instanceof ApiError && err.problem.errors?.length) return { kind: "refused", errors: err.problem.errors, rows: err.problem.rows ?? null };
  return { kind: "failed", message: err instanceof Error ? err.message : String(err) };
}

const invalid = (error: { message: string } | undefined, id: string) => ({
  "aria-invalid": error ? ("true" as const) : undefined,
  "aria-describedby": `${id}-msg`,
});

function FieldMessage({ id, error, hint }: { id: string; error?: { message: string }; hint?: string }) {
  return (
    <p id={`${id}-msg`} class={error ? "field-error" : "hint"}>
      {error ? error.message : (hint ?? "")}
    </p>
  );
}

/** Object URLs of the dropped image files by name, made once per file and revoked when it goes. */
function useThumbnails(photos: File[]): Map<string, string> {
  const made = useRef(new Map<File, string>());
  const byName = new Map<string, string>();
  for (const f of photos) {
    if (isZip(f) || !f.type.startsWith("image/")) continue;
    let url = made.current.get(f);
    if (!url) {
      url = URL.createObjectURL(f);
      made.current.set(f, url);
    }
    byName.set(f.name, url);
  }
  useEffect(() => {
    for (const [f, url] of made.current)
      if (!photos.includes(f)) {
        URL.revokeObjectURL(url);
        made.current.delete(f);
      }
  }, [photos]);
  useEffect(
    () => () => {
      for (const url of made.current.values()) URL.revokeObjectURL(url);
    },
    [],
  );
  return byName;
}
