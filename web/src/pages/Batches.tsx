/**
 * Batches: a CSV or JSON upload form (the server validates every row before anything is created and
 * names the row and field of each error), the account's batches, and one batch's page with progress
 * bars per state and per stage, each shoot, failures with their reasons, and a retry.
 */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, apiKey, client, ok } from "../api.ts";
import { STAGE_LABEL, STATUS_LABEL, age, usd } from "../format.ts";
import { linkClick, navigate } from "../router.ts";
import type { components } from "../../../src/api/openapi.gen.ts";
import type { CheckpointStage, ProblemBody } from "../types.ts";
import { STAGES } from "../contract.ts";

type BatchStatus = components["schemas"]["BatchStatus"];
type BatchList = components["schemas"]["BatchList"];

const STATE_LABEL: Record<string, string> = { ...STATUS_LABEL, queued: "Queued", dead: "Not placed" };
const STATE_ORDER = ["completed", "awaiting_review", "running", "queued", "failed", "dead", "cancelled", "expired"];

export function BatchesPage() {
  const [list, setList] = useState<BatchList | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    ok(client.GET("/api/batches", { params: { query: { limit: 20 } } }))
      .then(setList)
      .catch((e: ApiError) => setError(e.message));
  }, []);
  return (
    <section>
      <h1>Batches</h1>
      <UploadForm />
      <h2>Your batches</h2>
      {error && (
        <p role="alert" class="error">
          Could not load the batches: {error}
        </p>
      )}
      {!list && !error && <p role="status">Loading batches…</p>}
      {list && list.batches.length === 0 && <p class="empty">No batches yet.</p>}
      {list && list.batches.length > 0 && (
        <ul class="shoot-list" aria-label="Batches">
          {list.batches.map((b) => {
            const done = STATE_ORDER.filter((s) => !["running", "awaiting_review", "queued"].includes(s)).reduce((n, s) => n + (b.counts[s] ?? 0), 0);
            return (
              <li class="batch-row" key={b.id}>
                <a href={`/batches/${b.id}`} onClick={linkClick}>
                  {b.total} shoots, {age(b.createdAt)}
                </a>
                <span class={`badge ${b.status === "completed" ? "completed" : "running"}`}>{b.status === "completed" ? "Completed" : "Open"}</span>
                <span>
                  {done} of {b.total} ended
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** One file, CSV or JSON; the review policy for every row that does not set its own. */
function UploadForm() {
  const [file, setFile] = useState<File | null>(null);
  const [review, setReview] = useState("none");
  const [fileError, setFileError] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<{ field: string; message: string }[]>([]);
  const [submitting, setSubmitting] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setRowErrors([]);
    setFileError(null);
    if (!file) {
      setFileError("Choose a CSV or JSON file of shoots");
      return;
    }
    const text = await file.text();
    const isJson = /\.json$/i.test(file.name) || file.type === "application/json";
    const policy = review === "none" ? [] : review.split(",");
    let init: RequestInit;
    if (isJson) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        setFileError("This file is not valid JSON");
        return;
      }
      // A bare array of shoot specs, or a whole CreateBatch body.
      const body = Array.isArray(parsed) ? { shoots: parsed, review: policy } : { review: policy, ...(parsed as object) };
      init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    } else {
      const form = new FormData();
      form.append("file", new File([text], file.name, { type: "text/csv" }));
      form.append("review", review);
      init = { method: "POST", body: form };
    }
    setSubmitting(true);
    try {
      // openapi-fetch has no way to send one route's JSON and multipart bodies from one call site; the
      // answer is typed from the same generated schema.
      const res = await fetch("/api/batches", { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${apiKey.value}` } });
      const answer = (await res.json()) as components["schemas"]["BatchAccepted"] | ProblemBody;
      if (!res.ok) {
        const p = answer as ProblemBody;
        if (p.errors?.length) setRowErrors(p.errors);
        else setFileError(p.detail || p.title);
        return;
      }
      navigate(`/batches/${(answer as components["schemas"]["BatchAccepted"]).id}`);
    } catch {
      setFileError("The server could not be reached; try again");
    } finally {
      setSubmitting(false);
    }
  }

  return (
    <form class="panel" onSubmit={submit} noValidate aria-labelledby="upload-title">
      <h2 id="upload-title">Upload a batch</h2>
      <p class="hint">
        CSV with a header row (<code>brief,references,pose,background,style,aspectRatio,idempotencyKey</code>; references are upload ids separated by spaces) or
        JSON (an array of shoots). Up to 500 rows; nothing is created unless every row is valid.
      </p>
      <label for="batch-file">Shoots file</label>
      <input
        id="batch-file"
        type="file"
        accept=".csv,.json,text/csv,application/json"
        aria-invalid={fileError ? "true" : undefined}
        aria-describedby={fileError ? "batch-file-error" : undefined}
        onChange={(e) => {
          setFile(e.currentTarget.files?.[0] ?? null);
          setFileError(null);
        }}
      />
      {fileError && (
        <p id="batch-file-error" class="field-error">
          {fileError}
        </p>
      )}
      <label for="batch-review">Review</label>
      <select id="batch-review" value={review} onChange={(e) => setReview(e.currentTarget.value)}>
        <option value="none">None: every stage auto-approved</option>
        <option value="reel">The reel only</option>
        <option value="plan">The plan only</option>
        <option value="plan,hero,contact-sheet,frames,clips,reel">Every stage</option>
      </select>
      {rowErrors.length > 0 && (
        <div role="alert" class="error">
          <p>Nothing was created. Fix these rows and upload again:</p>
          <ul aria-label="Row errors">
            {rowErrors.map((e) => (
              <li key={e.field}>
                <code>{e.field}</code> {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div class="row">
        <button type="submit" class="primary" disabled={submitting}>
          {submitting ? "Uploading…" : "Start batch"}
        </button>
      </div>
    </form>
  );
}

export function BatchPage({ id }: { id: string }) {
  const [batch, setBatch] = useState<BatchStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [retrying, setRetrying] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let stop = false;
    ok(client.GET("/api/batches/{id}", { params: { path: { id } } }))
      .then((b) => {
        if (!stop) {
          setBatch(b);
          setError(null);
        }
      })
      .catch((e: ApiError) => !stop && setError(e.message));
    // Progress is polled while the batch is open: a batch has no single event stream.
    const t = setTimeout(() => setTick((n) => n + 1), 2000);
    return () => {
      stop = true;
      clearTimeout(t);
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
        Started {age(batch.createdAt)} · cost so far {usd(batch.costUsd)}
      </p>
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
                Row {f.index + 1}: {STATE_LABEL[f.state] ?? f.state}: {f.reason ?? "no reason given"}
              </li>
            ))}
          </ul>
          <button type="button" onClick={retry} disabled={retrying}>
            {retrying ? "Retrying…" : "Retry failed shoots"}
          </button>
        </section>
      )}
      <h2>Shoots</h2>
      <ul class="shoot-list" aria-label="Shoots of this batch">
        {batch.shoots.map((s) => (
          <li class="batch-row" key={s.id}>
            {s.state === "queued" || s.state === "dead" ? (
              <span>Row {s.index + 1}</span>
            ) : (
              <a href={`/shoots/${s.id}`} onClick={linkClick}>
                Row {s.index + 1}
              </a>
            )}
            <span class={`badge ${s.state}`}>{STATE_LABEL[s.state] ?? s.state}</span>
            <span>{s.stage ? (STAGE_LABEL[s.stage as CheckpointStage] ?? s.stage) : ""}</span>
            <span class="meta">{s.waiting ?? s.error ?? ""}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Bar({ label, value, max }: { label: string; value: number; max: number }) {
  return (
    <div class="bar-row">
      <span class="bar-label" id={`bar-${label.replace(/\W+/g, "-")}`}>
        {label}
      </span>
      <progress value={value} max={Math.max(1, max)} aria-labelledby={`bar-${label.replace(/\W+/g, "-")}`} />
      <span class="bar-count">
        {value} of {max}
      </span>
    </div>
  );
}
