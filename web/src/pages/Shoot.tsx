/**
 * A shoot: stage timeline (live over SSE), in-flight progress, cost per stage, decision history,
 * the pending checkpoint's review view, review links and downloads.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { type ApiError, client, downloadWithKey, ok, okAs } from "../api.ts";
import { decider, STAGE_LABEL, STATUS_LABEL, usd, when } from "../format.ts";
import { followShoot } from "../live.ts";
import { CheckpointReview, type DecideResult } from "../review/CheckpointReview.tsx";
import { ReelView } from "../review/ReelView.tsx";
import type { CheckpointStage, Decision, ShootDetail, Stage } from "../types.ts";
import { latest } from "./Shoots.tsx";
import { PackPanel } from "./PackPanel.tsx";
import { isFinal, STAGES } from "../contract.ts";

export function ShootPage({ id }: { id: string }) {
  const [shoot, setShoot] = useState<ShootDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<"live" | "reconnecting" | "connecting">("connecting");
  // Outlives the checkpoint view: a lost race re-reads the shoot, which replaces that view.
  const [notice, setNotice] = useState<string | null>(null);
  const pending = useRef<number | null>(null);

  const load = useCallback(() => {
    okAs<ShootDetail>(client.GET("/api/shoots/{id}", { params: { path: { id } } }))
      .then((s) => {
        setShoot(s);
        setError(null);
      })
      .catch((e: ApiError) => setError(e.status === 404 ? "This shoot does not exist, or belongs to another account." : e.message));
  }, [id]);

  useEffect(() => {
    load();
    // Every event means the shoot changed: re-read it, coalescing bursts.
    const stop = followShoot(
      id,
      () => {
        if (pending.current) return;
        pending.current = window.setTimeout(() => {
          pending.current = null;
          load();
        }, 150);
      },
      setLive,
    );
    return () => {
      stop();
      if (pending.current) clearTimeout(pending.current);
      pending.current = null;
    };
  }, [id, load]);

  if (error && !shoot)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (!shoot) return <p role="status">Loading the shoot…</p>;

  async function decide(stage: CheckpointStage, d: Decision): Promise<DecideResult> {
    try {
      await ok(client.POST("/api/shoots/{id}/checkpoints/{stage}/decision", { params: { path: { id: shoot!.id, stage } }, body: d }));
      setNotice(null);
      load();
      return { ok: true };
    } catch (err) {
      const e = err as ApiError;
      load();
      if (e.status === 409) {
        const message = `Someone else decided first: ${e.message}. The page now shows the new state.`;
        setNotice(message);
        return { ok: false, message };
      }
      return { ok: false, message: e.message, errors: e.problem?.errors };
    }
  }

  const cp = shoot.checkpoint;
  const reel = latest(shoot.assets, "reel");
  return (
    <section>
      <div class="row between wrap">
        <div>
          <h1>{shoot.brief}</h1>
          <p class="meta">
            <span class={`badge ${shoot.status}`}>{STATUS_LABEL[shoot.status]}</span> at <strong>{STAGE_LABEL[shoot.stage]}</strong>
            {" · "}spent {usd(shoot.costs.totalUsd)}
            {" · "}
            <span aria-live="polite">{live === "live" ? "live" : live === "reconnecting" ? "reconnecting…" : "connecting…"}</span>
          </p>
          {shoot.error && (
            <p role="alert" class="error">
              {shoot.error}
            </p>
          )}
        </div>
        <div class="row">
          <ArchiveButton id={shoot.id} />
          {!isFinal(shoot.status) && <CancelButton id={shoot.id} onDone={load} />}
        </div>
      </div>

      <Timeline shoot={shoot} />
      {notice && (
        <p role="alert" class="error notice">
          {notice}
        </p>
      )}

      {cp && cp.status === "pending" && (
        <section class="panel" aria-labelledby="cp-title">
          <div class="row between wrap">
            <h2 id="cp-title">
              Review: {STAGE_LABEL[cp.stage]} (attempt {cp.attempt})
            </h2>
            <ShareLink shootId={shoot.id} stage={cp.stage} attempt={cp.attempt} />
          </div>
          <CheckpointReview key={`${cp.stage}-${cp.attempt}`} checkpoint={cp} assets={shoot.assets} plan={shoot.plan} decide={(d) => decide(cp.stage, d)} />
        </section>
      )}
      {!cp && !isFinal(shoot.status) && (
        <p class="working" role="status">
          {progress(shoot)}
        </p>
      )}
      {shoot.status === "completed" && reel && (
        <section class="panel" aria-labelledby="reel-title">
          <h2 id="reel-title">Reel</h2>
          <ReelView assets={shoot.assets} />
        </section>
      )}

      <PackPanel shootId={shoot.id} completed={shoot.status === "completed"} changes={shoot.timeline.filter((e) => e.type.startsWith("pack.")).length} />

      <History shoot={shoot} />
      <Downloads shoot={shoot} />
    </section>
  );
}

/** What the running stage is doing, e.g. "Making clips: 3 of 5 done". */
export function progress(shoot: ShootDetail): string {
  const stage = shoot.stage;
  const starts = shoot.timeline.filter(
    (e) => (e.type === "stage.started" || e.type === "checkpoint.resolved") && (e.data as { stage?: string })?.stage === stage,
  );
  const since = starts.length ? starts[starts.length - 1].at : shoot.createdAt;
  const jobs = shoot.jobs.filter((j) => j.stage === stage && j.createdAt >= since);
  if (stage === "clips") {
    const firstRound = !shoot.checkpoints.some((c) => c.stage === "clips");
    const total = firstRound ? (shoot.params.stitch.loop ? 6 : 5) : jobs.length;
    const done = jobs.filter((j) => j.status === "succeeded").length;
    return `Making clips: ${done} of ${total} done`;
  }
  const verb: Record<Stage, string> = {
    plan: "Planning",
    hero: "Making the hero",
    "contact-sheet": "Making the contact sheet",
    frames: "Cutting the frames",
    clips: "Making clips",
    reel: "Stitching the reel",
  };
  if (jobs.length > 1) return `${verb[stage]}: ${jobs.filter((j) => j.status === "succeeded").length} of ${jobs.length} jobs done`;
  return `${verb[stage]}…`;
}

function Timeline({ shoot }: { shoot: ShootDetail }) {
  const at = STAGES.indexOf(shoot.stage);
  return (
    <ol class="timeline" aria-label="Stages">
      {STAGES.map((s, i) => {
        const cost = shoot.costs.byStage.filter((c) => c.stage === s).reduce((a, c) => a + c.usd, 0);
        const attempts = shoot.checkpoints.filter((c) => c.stage === s).length;
        const state =
          i < at || shoot.status === "completed"
            ? "done"
            : i === at
              ? shoot.status === "awaiting_review"
                ? "review"
                : isFinal(shoot.status)
                  ? shoot.status
                  : "active"
              : "todo";
        const label = { done: "done", review: "awaiting review", active: "in progress", todo: "not started" }[state as "done"] ?? STATUS_LABEL[state] ?? state;
        return (
          <li class={`step ${state}`} aria-current={i === at ? "step" : undefined}>
            <span class="name">{STAGE_LABEL[s]}</span>
            <span class="state">{label}</span>
            {state === "active" && <span class="state">{progress(shoot)}</span>}
            <span class="cost">
              {usd(cost)}
              {attempts > 1 ? ` · ${attempts} attempts` : ""}
            </span>
          </li>
        );
      })}
    </ol>
  );
}

function History({ shoot }: { shoot: ShootDetail }) {
  const decided = shoot.checkpoints.filter((c) => c.status !== "pending");
  return (
    <section class="panel" aria-labelledby="history-title">
      <h2 id="history-title">Decisions</h2>
      {decided.length === 0 ? (
        <p class="empty">No decisions yet.</p>
      ) : (
        <table class="history">
          <thead>
            <tr>
              <th scope="col">Checkpoint</th>
              <th scope="col">Action</th>
              <th scope="col">Who</th>
              <th scope="col">When</th>
              <th scope="col">Feedback</th>
            </tr>
          </thead>
          <tbody>
            {decided.map((c) => (
              <tr>
                <td>
                  {STAGE_LABEL[c.stage]} #{c.attempt}
                </td>
                <td>{c.status === "auto_approved" ? "approved" : c.status}</td>
                <td>{decider(c.decidedBy)}</td>
                <td>{when(c.decidedAt)}</td>
                <td>{c.feedback ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Downloads({ shoot }: { shoot: ShootDetail }) {
  const own = shoot.assets.filter((a) => a.kind !== "reference");
  if (own.length === 0) return null;
  return (
    <details class="panel">
      <summary>Every asset and version ({own.length})</summary>
      <ul class="downloads">
        {own.map((a) => (
          <li>
            <a href={a.url} download>
              {a.kind}
              {a.index ? ` ${a.index}` : ""} v{a.version}
            </a>{" "}
            <span class="hint">
              {a.mime}, {Math.round(a.bytes / 1024)} KB
            </span>
          </li>
        ))}
      </ul>
    </details>
  );
}

function ArchiveButton({ id }: { id: string }) {
  const [state, setState] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        onClick={() => {
          setState("Preparing…");
          downloadWithKey(`/api/shoots/${id}/archive`, `${id}.zip`).then(
            () => setState(null),
            (e: Error) => setState(e.message),
          );
        }}
      >
        Download approved (zip)
      </button>
      {state && <span role="status">{state}</span>}
    </>
  );
}

function CancelButton({ id, onDone }: { id: string; onDone: () => void }) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming)
    return (
      <button type="button" class="danger" onClick={() => setConfirming(true)}>
        Cancel shoot
      </button>
    );
  return (
    <span class="row">
      <span>Cancel this shoot? It keeps what it made.</span>
      <button type="button" class="danger" onClick={() => ok(client.POST("/api/shoots/{id}/cancel", { params: { path: { id } } })).finally(onDone)}>
        Yes, cancel
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        No
      </button>
    </span>
  );
}

function ShareLink({ shootId, stage, attempt }: { shootId: string; stage: CheckpointStage; attempt: number }) {
  const [link, setLink] = useState<{ url: string; expiresAt: string } | null>(null);
  const [hours, setHours] = useState("72");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setLink(null), [stage, attempt]);
  return (
    <div class="share">
      {!link ? (
        <div class="row">
          <label for="link-hours">Link valid for (hours)</label>
          <input id="link-hours" type="number" min={1} max={720} value={hours} onInput={(e) => setHours(e.currentTarget.value)} class="short" />
          <button
            type="button"
            onClick={() =>
              ok(
                client.POST("/api/shoots/{id}/checkpoints/{stage}/links", {
                  params: { path: { id: shootId, stage } },
                  body: { expiresIn: `${Math.max(1, Math.round(Number(hours) || 72))} hours` },
                }),
              ).then(setLink, (e: Error) => setError(e.message))
            }
          >
            Create review link
          </button>
        </div>
      ) : (
        <div>
          <label for="link-url">Review link (one decision, expires {when(link.expiresAt)})</label>
          <div class="row">
            <input id="link-url" readOnly value={link.url} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" onClick={() => navigator.clipboard?.writeText(link.url)}>
              Copy
            </button>
          </div>
        </div>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </div>
  );
}
