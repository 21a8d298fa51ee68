/**
 * The quality gate in a checkpoint view: the checks' findings drawn on the stills (outlined boxes) and
 * listed with their reasons (a clip's or the reel's moment as a button that seeks its player), and the
 * reviewer's marks: a box dragged on a still, or a moment of a clip, each with a note, sent with revise.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { components } from "../../../src/api/openapi.gen.ts";
import type { Asset, Checkpoint } from "../types.ts";

export type Finding = components["schemas"]["Finding"];
export type Mark = components["schemas"]["Mark"];
export type Quality = components["schemas"]["Quality"];
type Region = NonNullable<Mark["region"]>;
type TimeRange = NonNullable<Mark["timeRange"]>;

/** The API takes up to 20 marks on a decision. */
export const MAX_MARKS = 20;

export const qualityOf = (cp: Checkpoint): Quality | undefined => cp.artifacts.quality;
export const flaggedOn = (cp: Checkpoint, assetId: string): Finding[] =>
  (qualityOf(cp)?.findings ?? []).filter((f) => f.verdict === "flag" && f.asset === assetId);

const r1 = (n: number) => (Math.round(n * 10) / 10).toFixed(1);
export const momentText = (t: TimeRange) => `${r1(t.from)}–${r1(t.to)} s`;

/** Where a box sits, in words: "upper left", "centre", "lower right"… */
export function placeWords(r: Region): string {
  const cx = r.x + r.w / 2;
  const cy = r.y + r.h / 2;
  const v = cy < 1 / 3 ? "upper" : cy > 2 / 3 ? "lower" : "";
  const h = cx < 1 / 3 ? "left" : cx > 2 / 3 ? "right" : "";
  return [v, h].filter(Boolean).join(" ") || "centre";
}

export function assetLabel(assets: Asset[], id: string): string {
  const a = assets.find((x) => x.id === id);
  if (!a) return "Output";
  const kind = {
    hero: "Hero",
    "contact-sheet": "Contact sheet",
    frame: "Frame",
    clip: "Clip",
    reel: "Reel",
    poster: "Poster",
    plan: "Plan",
    reference: "Reference",
    pack: `Pack ${a.channel ?? ""}`,
  }[a.kind];
  return `${kind}${a.kind === "frame" || a.kind === "clip" ? ` ${a.index}` : ""} v${a.version}`;
}

export function markLabel(assets: Asset[], m: Mark): string {
  const where = m.region ? `box at the ${placeWords(m.region)}` : m.timeRange ? momentText(m.timeRange) : "whole";
  return `${assetLabel(assets, m.asset)}, ${where}`;
}

/** "Checks: 2 flagged" or "Checks passed", items fixed automatically, and a judge that gave no review. */
export function QualityPanel({ checkpoint, assets }: { checkpoint: Checkpoint; assets: Asset[] }) {
  const q = qualityOf(checkpoint);
  if (!q) return null;
  const flags = q.findings.filter((f) => f.verdict === "flag");
  const judgeFailed = q.judge && q.judge.status !== "answered";
  return (
    <section class={`quality${flags.length ? " flagged" : ""}`} aria-labelledby="quality-title">
      <h3 id="quality-title">{flags.length ? `Checks: ${flags.length} flagged` : q.error ? "Checks did not run" : "Checks passed"}</h3>
      {flags.length > 0 && (
        <ul class="findings" aria-label="Flagged findings">
          {flags.map((f) => (
            <li>
              <strong>Flagged:</strong> {f.reason}{" "}
              <span class="hint">
                ({assetLabel(assets, f.asset)}
                {f.region ? `, ${placeWords(f.region)}` : ""} · {f.check}, score {f.score.toFixed(2)} against {f.threshold.toFixed(2)})
              </span>
              {f.timeRange && <SeekButton assetId={f.asset} range={f.timeRange} reason={f.reason} />}
            </li>
          ))}
        </ul>
      )}
      {q.autoFixed && q.autoFixed.length > 0 && <p>Fixed automatically: {q.autoFixed.join(", ")}.</p>}
      {q.skipped.length > 0 && (
        <p class="hint">Not checked: {q.skipped.map((s) => `${s.check} on ${assetLabel(assets, s.asset)} (${s.reason})`).join("; ")}.</p>
      )}
      {q.error && <p class="error">The checks failed: {q.error}</p>}
      {judgeFailed && (
        <p class="hint">
          The vision judge gave no review ({q.judge!.status}
          {q.judge!.reason ? `: ${q.judge!.reason}` : ""}); the measured checks stand.
        </p>
      )}
    </section>
  );
}

/** A moment a check flagged: a button that seeks the asset's player there. */
function SeekButton({ assetId, range, reason }: { assetId: string; range: TimeRange; reason: string }) {
  return (
    <button
      type="button"
      class="link"
      onClick={(e) => {
        const root = (e.currentTarget as HTMLElement).closest(".review") ?? document;
        const v = root.querySelector<HTMLVideoElement>(`video[data-asset="${assetId}"]`);
        if (!v) return;
        v.pause();
        v.currentTime = range.from;
        v.scrollIntoView({ block: "nearest" });
        v.focus();
      }}
    >
      {momentText(range)}: {reason}
    </button>
  );
}

/**
 * What sits over a still: the flagged findings' boxes and the marks, and (when `onMark` is given) a
 * layer that takes a pointer drag as a new box. Place it in a `position: relative` box the size of the image.
 */
export function StillOverlay({ findings, marks, onMark, label }: { findings: Finding[]; marks: Mark[]; onMark?: (r: Region) => void; label: string }) {
  const layer = useRef<HTMLDivElement>(null);
  const start = useRef<{ x: number; y: number } | null>(null);
  const [draft, setDraft] = useState<Region | null>(null);
  const at = (e: PointerEvent) => {
    const b = layer.current!.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (e.clientX - b.left) / b.width)), y: Math.min(1, Math.max(0, (e.clientY - b.top) / b.height)) };
  };
  const boxOf = (a: { x: number; y: number }, b: { x: number; y: number }): Region => ({
    x: Math.min(a.x, b.x),
    y: Math.min(a.y, b.y),
    w: Math.abs(a.x - b.x),
    h: Math.abs(a.y - b.y),
  });
  const style = (r: Region) => ({ left: `${r.x * 100}%`, top: `${r.y * 100}%`, width: `${r.w * 100}%`, height: `${r.h * 100}%` });
  return (
    <div class="still-overlay">
      {findings
        .filter((f) => f.region)
        .map((f) => (
          <div class="finding-box" role="img" aria-label={`Flagged region: ${f.reason}`} title={f.reason} style={style(f.region!)} />
        ))}
      {marks.map(
        (m, i) =>
          m.region && (
            <div class="mark-box" role="img" aria-label={`Mark ${i + 1}${m.reason ? `: ${m.reason}` : ""}`} style={style(m.region)}>
              <span aria-hidden="true">{i + 1}</span>
            </div>
          ),
      )}
      {onMark && (
        <div
          ref={layer}
          class="draw-layer"
          data-testid="draw-layer"
          title={`Drag on ${label} to mark a place`}
          onPointerDown={(e) => {
            if (e.button !== 0) return;
            e.preventDefault();
            layer.current!.setPointerCapture(e.pointerId);
            start.current = at(e);
            setDraft({ ...start.current, w: 0, h: 0 });
          }}
          onPointerMove={(e) => {
            if (start.current) setDraft(boxOf(start.current, at(e)));
          }}
          onPointerUp={(e) => {
            if (!start.current) return;
            const r = boxOf(start.current, at(e));
            start.current = null;
            setDraft(null);
            // A click, not a drag: nothing to mark.
            if (r.w >= 0.02 && r.h >= 0.02) onMark(r);
          }}
          onPointerCancel={() => {
            start.current = null;
            setDraft(null);
          }}
        >
          {draft && <div class="mark-box draft" style={style(draft)} />}
        </div>
      )}
    </div>
  );
}

const PLACES: { name: string; region: Region }[] = ["upper", "", "lower"].flatMap((v, row) =>
  ["left", "", "right"].map((h, col) => ({ name: [v, h].filter(Boolean).join(" ") || "centre", region: { x: col / 3, y: row / 3, w: 1 / 3, h: 1 / 3 } })),
);

/** The keyboard way to mark a still: a third of the picture, picked by name. */
export function PlacePicker({ id, onMark }: { id: string; onMark: (r: Region) => void }) {
  const [place, setPlace] = useState("upper left");
  return (
    <div class="row place-picker">
      <label for={`place-${id}`}>Or mark a place</label>
      <select id={`place-${id}`} value={place} onChange={(e) => setPlace(e.currentTarget.value)}>
        {PLACES.map((p) => (
          <option value={p.name}>{p.name}</option>
        ))}
      </select>
      <button type="button" onClick={() => onMark(PLACES.find((p) => p.name === place)!.region)}>
        Add mark
      </button>
    </div>
  );
}

/** A clip's or the reel's flagged moments under its player, and "Mark this moment" (the player's time ± 0.5 s). */
export function MomentTools({
  asset,
  findings,
  video,
  onMark,
}: {
  asset: Asset;
  findings: Finding[];
  video: () => HTMLVideoElement | null;
  onMark?: (t: TimeRange) => void;
}) {
  const timed = findings.filter((f) => f.timeRange);
  const dur = asset.duration ?? 0;
  return (
    <div class="moments">
      {dur > 0 && timed.length > 0 && (
        <div class="moment-track" aria-hidden="true">
          {timed.map((f) => (
            <span
              class="moment-span"
              style={{ left: `${(f.timeRange!.from / dur) * 100}%`, width: `${Math.max(1, ((f.timeRange!.to - f.timeRange!.from) / dur) * 100)}%` }}
            />
          ))}
        </div>
      )}
      {timed.map((f) => (
        <SeekButton assetId={asset.id} range={f.timeRange!} reason={f.reason} />
      ))}
      {onMark && (
        <button
          type="button"
          aria-label={`Mark this moment of ${asset.kind === "clip" ? `clip ${asset.index}` : "the reel"}`}
          onClick={() => {
            const t = video()?.currentTime ?? 0;
            const end = dur > 0 ? dur : t + 0.5;
            onMark({ from: Math.max(0, t - 0.5), to: Math.min(end, t + 0.5) });
          }}
        >
          Mark this moment
        </button>
      )}
    </div>
  );
}

/** The marks so far, each with its note and a remove button; the newest note field takes focus. */
export function MarksList({ marks, assets, set, error }: { marks: Mark[]; assets: Asset[]; set: (m: Mark[]) => void; error?: string }) {
  const list = useRef<HTMLOListElement>(null);
  const count = useRef(marks.length);
  useEffect(() => {
    if (marks.length > count.current) list.current?.querySelector<HTMLInputElement>("li:last-child input")?.focus();
    count.current = marks.length;
  }, [marks.length]);
  if (!marks.length) return null;
  return (
    <section class="marks" aria-labelledby="marks-title">
      <h3 id="marks-title">
        Marks ({marks.length} of {MAX_MARKS})
      </h3>
      <ol ref={list}>
        {marks.map((m, i) => (
          <li>
            <span>{markLabel(assets, m)}</span>
            <label for={`mark-note-${i}`}>Note for mark {i + 1}</label>
            <input
              id={`mark-note-${i}`}
              value={m.reason}
              maxLength={500}
              placeholder="What to keep or change here"
              aria-invalid={!!error && !m.reason.trim()}
              onInput={(e) => set(marks.map((x, j) => (j === i ? { ...x, reason: e.currentTarget.value } : x)))}
            />
            <button type="button" class="link" aria-label={`Remove mark ${i + 1}`} onClick={() => set(marks.filter((_, j) => j !== i))}>
              Remove
            </button>
          </li>
        ))}
      </ol>
      {error && (
        <p id="marks-err" class="field-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
