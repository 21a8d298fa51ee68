/** The shoot list: status, stage, thumbnail, age, cost; filter by status; cursor paging. */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, client, ok, okAs } from "../api.ts";
import { age, STAGE_LABEL, STATUS_LABEL, usd } from "../format.ts";
import { linkClick } from "../router.ts";
import type { Asset, ShootDetail, ShootSummary } from "../types.ts";
import { SHOOT_STATUSES } from "../contract.ts";

export function ShootsPage() {
  const [status, setStatus] = useState("");
  const [flaggedOnly, setFlaggedOnly] = useState(false);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<{ shoots: ShootSummary[]; nextCursor: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    setPage(null);
    setError(null);
    ok(
      client.GET("/api/shoots", {
        params: {
          query: {
            limit: 20,
            ...(status ? { status: status as ShootSummary["status"] } : {}),
            ...(flaggedOnly ? { flagged: "true" as const } : {}),
            ...(cursor ? { cursor } : {}),
          },
        },
      }),
    )
      .then(setPage)
      .catch((e: ApiError) => setError(e.message));
  }, [status, flaggedOnly, cursor]);

  return (
    <section>
      <div class="row between">
        <h1>Shoots</h1>
        <a class="button primary" href="/new" onClick={linkClick}>
          New shoot
        </a>
      </div>
      <label for="status-filter">Status</label>
      <select
        id="status-filter"
        value={status}
        onChange={(e) => {
          setStatus(e.currentTarget.value);
          setCursors([null]);
        }}
      >
        <option value="">All</option>
        {SHOOT_STATUSES.map((s) => (
          <option value={s}>{STATUS_LABEL[s]}</option>
        ))}
      </select>
      <label class="check">
        <input
          type="checkbox"
          checked={flaggedOnly}
          onChange={(e) => {
            setFlaggedOnly(e.currentTarget.checked);
            setCursors([null]);
          }}
        />{" "}
        Flagged only
      </label>
      {error && (
        <p role="alert" class="error">
          Could not load the shoots: {error}
        </p>
      )}
      {!page && !error && <p role="status">Loading shoots…</p>}
      {page && page.shoots.length === 0 && (
        <p class="empty">{status || flaggedOnly ? "No shoots match these filters." : "No shoots yet. Start one with New shoot."}</p>
      )}
      {page && page.shoots.length > 0 && (
        <ul class="shoot-list" aria-label="Shoots">
          {page.shoots.map((s) => (
            <ShootRow key={s.id} shoot={s} />
          ))}
        </ul>
      )}
      <div class="row">
        {cursors.length > 1 && (
          <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
        )}
        {page?.nextCursor && (
          <button type="button" onClick={() => setCursors([...cursors, page.nextCursor])}>
            Next page
          </button>
        )}
      </div>
    </section>
  );
}

/** The list answer has no assets or costs, so each row reads its shoot for the thumbnail and spend. */
function ShootRow({ shoot }: { shoot: ShootSummary }) {
  const [detail, setDetail] = useState<ShootDetail | null>(null);
  useEffect(() => {
    okAs<ShootDetail>(client.GET("/api/shoots/{id}", { params: { path: { id: shoot.id } } }))
      .then(setDetail)
      .catch(() => undefined);
  }, [shoot.id, shoot.updatedAt]);
  const thumb = detail && (latest(detail.assets, "poster") ?? latest(detail.assets, "hero"));
  return (
    <li class="shoot-row">
      <a href={`/shoots/${shoot.id}`} onClick={linkClick}>
        <span class="thumb">{thumb ? <img src={thumb.url} alt="" loading="lazy" /> : null}</span>
        <span class="brief">{shoot.brief}</span>
      </a>
      <span class={`badge ${shoot.status}`}>{STATUS_LABEL[shoot.status]}</span>
      <span>
        {STAGE_LABEL[shoot.stage]}
        {shoot.flagged > 0 && (
          <span class="flag-badge" title="The latest quality check flagged something">
            {" "}
            · {shoot.flagged} flagged
          </span>
        )}
      </span>
      <span>{age(shoot.createdAt)}</span>
      <span>{detail ? usd(detail.costs.totalUsd) : "…"}</span>
    </li>
  );
}

export function latest(assets: Asset[], kind: Asset["kind"], index?: number): Asset | undefined {
  return assets.filter((a) => a.kind === kind && (index === undefined || a.index === index)).sort((a, b) => b.version - a.version)[0];
}
