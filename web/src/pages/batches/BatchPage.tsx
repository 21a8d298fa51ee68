/**
 * One batch: progress bars per state and per stage, the budget (spent, committed, rows held), each
 * shoot by row and SKU, failures with a retry, and the per-SKU report as a CSV download (fetched
 * with the key, since a plain link cannot send it). Polled while the batch is open.
 */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, client, downloadWithKey, ok } from "../../api.ts";
import type { components } from "../../../../src/api/openapi.gen.ts";
import { SHOOT_STATUSES, STAGES } from "../../contract.ts";
import { STAGE_LABEL, STATUS_LABEL, age, usd } from "../../format.ts";
import { linkClick } from "../../router.ts";
import type { CheckpointStage } from "../../types.ts";

type BatchStatus = components["schemas"]["BatchStatus"];

export const STATE_LABEL: Record<string, string> = { ...STATUS_LABEL, queued: "Queued", dead: "Not placed", held: "Held (budget)" };
export const STATE_ORDER = ["completed", "awaiting_review", "running", "queued", "held", "failed", "dead", "cancelled", "expired"];
const POLL_MS = 2000;

export function BatchPage({ id }: { id: string }) {
  const [batch, setBatch] = useState<BatchStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [retrying, setRetrying] = useState(false);
  const [tick, setTick] = useState(0);
  const [flaggedOnly, setFlaggedOnly] = useState(false);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    ok(client.GET("/api/batches/{id}", { params: { path: { id } } }))
      .then((b) => {
        if (stop) return;
        setBatch(b);
        setError(null);
        // A completed batch no longer changes (a retry asks again itself).
        if (b.status !== "completed") timer = setTimeout(() => setTick((n) => n + 1), POLL_MS);
      })
      .catch((e: ApiError) => {
        if (stop) return;
        setError(e.message);
        timer = setTimeout(() => setTick((n) => n + 1), POLL_MS);
      });
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id, tick]);

  async function retry() {
    setRetrying(true);
    try {
      await ok(client.POST("/api/batches/{id}/retry", { params: { path: { id } }, body: {} }));
      setTick((n) => n + 1);
    } catch (e) {
      setError((e as ApiError).message);
    } finally {
      setRetrying(false);
    }
  }

  if (error && !batch)
    return (
      <p role="alert" class="error">
        Could not load the batch: {error}
      </p>
    );
  if (!batch) return <p role="status">Loading the batch…</p>;
  const by = batch.counts.byState;
  const quote = batch.shoots.reduce((s, r) => s + r.quoteUsd, 0);
  return (
    <section>
      <p>
        <a href="/batches" onClick={linkClick}>
          All batches
        </a>
      </p>
      <div class="row between">
        <h1>Batch of {batch.total} shoots</h1>
        <span class={`badge ${batch.status === "completed" ? "completed" : "running"}`}>{batch.status === "completed" ? "Completed" : "Open"}</span>
      </div>
      <p class="meta">
        Started {age(batch.createdAt)} · cost so far {usd(batch.costUsd)} (quoted {usd(quote)}){batch.recipe && ` · recipe ${batch.recipe}`}
      </p>
      <div class="row batch-actions">
        <ReportButton id={batch.id} />
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {batch.budget && (
        <p class={batch.budget.stopped ? "budget warn" : "budget meta"}>
          Budget {usd(batch.budget.capUsd)}: spent {usd(batch.budget.spentUsd)}, committed {usd(batch.budget.committedUsd)}
          {batch.budget.held > 0 && ` · ${batch.budget.held} ${batch.budget.held === 1 ? "row" : "rows"} held: placing them would pass the budget`}
        </p>
      )}
      <section class="panel" aria-labelledby="progress-title">
        <h2 id="progress-title">Progress</h2>
        {STATE_ORDER.filter((s) => by[s]).map((s) => (
          <Bar key={s} label={STATE_LABEL[s] ?? s} value={by[s]} max={batch.total} />
        ))}
        <h3>By stage</h3>
        {STAGES.map((stage) => {
          const n = Object.values(batch.counts.byStage[stage] ?? {}).reduce((a, b) => a + b, 0);
          return <Bar key={stage} label={`At ${STAGE_LABEL[stage]}`} value={n} max={batch.total} />;
        })}
      </section>
      {batch.failures.length > 0 && (
        <section class="panel" aria-labelledby="failures-title">
          <h2 id="failures-title">Failures</h2>
          <ul>
            {batch.failures.map((f) => (
              <li key={f.shootId}>
                {rowName(f.index, batch.shoots.find((s) => s.index === f.index)?.sku)}: {STATE_LABEL[f.state] ?? f.state}: {f.reason ?? "no reason given"}
              </li>
            ))}
          </ul>
          <button type="button" onClick={retry} disabled={retrying}>
            {retrying ? "Retrying…" : "Retry failed shoots"}
          </button>
        </section>
      )}
      <section class="panel" aria-labelledby="checks-title">
        <h2 id="checks-title">Quality checks</h2>
        <p>
          {batch.counts.flagged} {batch.counts.flagged === 1 ? "shoot" : "shoots"} flagged · {batch.counts.autoFixed}{" "}
          {batch.counts.autoFixed === 1 ? "item" : "items"} fixed automatically
        </p>
      </section>
      <div class="row between">
        <h2>Shoots</h2>
        <label class="check">
          <input type="checkbox" checked={flaggedOnly} onChange={(e) => setFlaggedOnly(e.currentTarget.checked)} /> Flagged only
        </label>
      </div>
      {flaggedOnly && !batch.shoots.some((s) => s.flagged > 0) && <p class="empty">No shoot of this batch is flagged.</p>}
      <ul class="shoot-list" aria-label="Shoots of this batch">
        {batch.shoots
          .filter((s) => !flaggedOnly || s.flagged > 0)
          .map((s) => (
            <li class="batch-row" key={s.id}>
              {/* A row whose state is a shoot's status has a shoot to open; queued, dead and held rows have none. */}
              {(SHOOT_STATUSES as readonly string[]).includes(s.state) ? (
                <a href={`/shoots/${s.id}`} onClick={linkClick}>
                  {rowName(s.index, s.sku)}
                </a>
              ) : (
                <span>{rowName(s.index, s.sku)}</span>
              )}
              <span class={`badge ${s.state}`}>{STATE_LABEL[s.state] ?? s.state}</span>
              <span>{s.stage ? (STAGE_LABEL[s.stage as CheckpointStage] ?? s.stage) : ""}</span>
              <span class="meta">
                {s.flagged > 0 && <span class="flag-badge">{s.flagged} flagged · </span>}
                {s.autoFixed > 0 && `${s.autoFixed} fixed automatically · `}
                quote {usd(s.quoteUsd)}
                {s.state === "held" ? " · not placed: over the batch budget" : s.waiting || s.error ? ` · ${s.waiting ?? s.error}` : ""}
              </span>
            </li>
          ))}
      </ul>
    </section>
  );
}

const rowName = (index: number, sku: string | null | undefined) => (sku ? `Row ${index + 1}: ${sku}` : `Row ${index + 1}`);

function ReportButton({ id }: { id: string }) {
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  return (
    <>
      <button
        type="button"
        disabled={state.busy}
        onClick={() => {
          setState({ busy: true, error: null });
          downloadWithKey(`/api/batches/${id}/report?format=csv`, `${id}-report.csv`).then(
            () => setState({ busy: false, error: null }),
            (e: Error) => setState({ busy: false, error: e.message }),
          );
        }}
      >
        {state.busy ? "Preparing the report…" : "Download report (CSV)"}
      </button>
      {state.error && (
        <span role="alert" class="error">
          The report could not be downloaded: {state.error}
        </span>
      )}
    </>
  );
}

function Bar({ label, value, max }: { label: string; value: number; max: number }) {
  const id = `bar-${label.replace(/\W+/g, "-")}`;
  return (
    <div class="bar-row">
      <span class="bar-label" id={id}>
        {label}
      </span>
      <progress value={value} max={Math.max(1, max)} aria-labelledby={id} />
      <span class="bar-count">
        {value} of {max}
      </span>
    </div>
  );
}
