/**
 * Batches: a new batch from a sheet and its photos (batches/Intake.tsx: dropped together, previewed
 * with the quote, started only when every row is valid) and the account's batches. One batch's
 * page is batches/BatchPage.tsx.
 */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, client, ok } from "../api.ts";
import type { components } from "../../../src/api/openapi.gen.ts";
import { age } from "../format.ts";
import { linkClick } from "../router.ts";
import { STATE_ORDER } from "./batches/BatchPage.tsx";
import { Intake } from "./batches/Intake.tsx";

type BatchList = components["schemas"]["BatchList"];
const OPEN_STATES = ["running", "awaiting_review", "queued"];

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
      <Intake />
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
            const done = STATE_ORDER.filter((s) => !OPEN_STATES.includes(s)).reduce((n, s) => n + (b.counts[s] ?? 0), 0);
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
