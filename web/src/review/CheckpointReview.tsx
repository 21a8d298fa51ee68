/**
 * One checkpoint under review: the stage's view, the feedback box and approve / revise, with the
 * keyboard (A approve, R revise, ←/→ between items, Space play/pause). Used on the shoot page with a
 * key and on the review-link page with the reviewer's name.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Asset, Checkpoint, Decision, Plan } from "../types.ts";
import type { Targets, ViewProps } from "./types.ts";
import { ClipsView, StitchSettingsForm } from "./ClipsView.tsx";
import { FramesView } from "./FramesView.tsx";
import { HeroView } from "./HeroView.tsx";
import { PlanView } from "./PlanView.tsx";
import { ReelView } from "./ReelView.tsx";
import { SheetView } from "./SheetView.tsx";
import { flaggedOn, MarksList, MAX_MARKS, QualityPanel } from "./quality.tsx";

export type DecideResult = { ok: true } | { ok: false; message: string; errors?: { field: string; message: string }[] };

// In ./types.ts so the views can name them without importing this module (no cycle).
export type { Targets, ViewProps } from "./types.ts";

const ITEMS: Record<string, number> = { frames: 6, clips: 6 };

export function CheckpointReview(props: {
  checkpoint: Checkpoint;
  assets: Asset[];
  plan: Plan | null;
  decide: (d: Decision, reviewer?: string) => Promise<DecideResult>;
  reviewer?: boolean;
}) {
  const { checkpoint: cp } = props;
  const stage = cp.stage;
  const initialStitch = cp.artifacts.stitch ?? null;
  const [targets, setT] = useState<Targets>({ frames: [], clips: [], stitch: initialStitch, presets: {}, aspectRatio: "", marks: [] });
  const [feedback, setFeedback] = useState("");
  const [name, setName] = useState("");
  const [active, setActive] = useState(0);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<DecideResult | null>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const feedbackRef = useRef<HTMLTextAreaElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const root = useRef<HTMLDivElement>(null);
  const setTargets = (t: Partial<Targets>) => setT((x) => ({ ...x, ...t }));

  const stitchChanged = !!targets.stitch && JSON.stringify(targets.stitch) !== JSON.stringify(initialStitch);

  function build(action: "approve" | "revise", extra: Partial<Decision> = {}): Decision {
    // At clips, approve carries the stitch settings into the reel; at the reel only a revise re-stitches.
    if (action === "approve" && stage === "budget") return { action, ...(targets.budgetUsd !== undefined ? { budgetUsd: targets.budgetUsd } : {}), ...extra };
    if (action === "approve") return { action, ...(stitchChanged && stage === "clips" ? { stitch: targets.stitch! } : {}), ...extra };
    const d: Decision = { action, ...(feedback.trim() ? { feedback: feedback.trim() } : {}), ...extra };
    if (stage === "frames" && targets.frames.length) d.frames = [...targets.frames].sort();
    if ((stage === "clips" || stage === "reel") && targets.clips.length) d.clips = [...targets.clips].sort();
    if ((stage === "clips" || stage === "reel") && stitchChanged) d.stitch = targets.stitch!;
    if ((stage === "plan" || stage === "hero") && Object.keys(targets.presets).length) d.presets = targets.presets as Decision["presets"];
    if ((stage === "hero" || stage === "frames") && targets.aspectRatio) d.aspectRatio = targets.aspectRatio as Decision["aspectRatio"];
    if (targets.marks.length) d.marks = targets.marks.map((m) => ({ ...m, reason: m.reason.trim() }));
    return d;
  }

  async function send(d: Decision) {
    const errs: Record<string, string> = {};
    if (props.reviewer && !name.trim()) errs.reviewer = "Give your name; it is recorded with the decision";
    if (d.action === "revise" && !d.feedback && !d.frames && !d.clips && !d.presets && !d.aspectRatio && !d.stitch && !d.split && !d.marks) {
      errs.feedback = "Say what to change, mark a place, or select what to redo";
    }
    if (d.action === "revise" && d.marks?.some((m) => !m.reason)) errs.marks = "Give each mark a note: what to keep or change there";
    setFieldErr(errs);
    if (errs.reviewer) return nameRef.current?.focus();
    if (errs.feedback) return feedbackRef.current?.focus();
    if (errs.marks) return root.current?.querySelector<HTMLInputElement>(".marks input[aria-invalid='true']")?.focus();
    setBusy(true);
    const r = await props.decide(d, props.reviewer ? name.trim() : undefined);
    setBusy(false);
    setResult(r);
    if (!r.ok && r.errors) setFieldErr(Object.fromEntries(r.errors.map((e) => [e.field.replace(/\[.*$/, ""), e.message])));
  }

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || t.isContentEditable) return;
      const n = ITEMS[stage] ?? 0;
      if (e.key === "a" || e.key === "A") {
        e.preventDefault();
        void send(build("approve"));
      } else if (e.key === "r" || e.key === "R") {
        e.preventDefault();
        feedbackRef.current?.focus();
      } else if (e.key === "ArrowRight" && n) {
        e.preventDefault();
        setActive((i) => (i + 1) % n);
      } else if (e.key === "ArrowLeft" && n) {
        e.preventDefault();
        setActive((i) => (i + n - 1) % n);
      } else if (e.key === " " && t.tagName !== "BUTTON") {
        const v = root.current?.querySelector<HTMLVideoElement>("[data-active='true'] video, video.main");
        if (v) {
          e.preventDefault();
          if (v.paused) void v.play();
          else v.pause();
        }
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  });

  const view: ViewProps = {
    checkpoint: cp,
    assets: props.assets,
    plan: props.plan,
    targets,
    setTargets,
    active,
    setActive,
    limited: !!props.reviewer,
    decide: (d) => void send(build(d.action as "approve", d)),
    addMark: (m) => setT((x) => (x.marks.length >= MAX_MARKS ? x : { ...x, marks: [...x.marks, m] })),
  };
  const View = { plan: PlanView, hero: HeroView, "contact-sheet": SheetView, frames: FramesView, clips: ClipsView, reel: ReelCheckpoint, budget: BudgetView }[
    stage
  ];

  if (result?.ok)
    return (
      <p role="status" class="done">
        Decision sent. {props.reviewer ? `Recorded as ${name.trim()}.` : "The shoot goes on."}
      </p>
    );

  return (
    <div ref={root} class="review">
      <View {...view} />
      <QualityPanel checkpoint={cp} assets={props.assets} />
      <MarksList
        marks={targets.marks}
        assets={props.assets}
        error={fieldErr.marks}
        set={(marks) => {
          setTargets({ marks });
          setFieldErr((x) => ({ ...x, marks: "" }));
        }}
      />
      {cp.artifacts.error && (
        <p role="alert" class="error">
          This stage reported: {cp.artifacts.error}
        </p>
      )}
      <div class="decide">
        {props.reviewer && (
          <>
            <label for="reviewer">Your name</label>
            <input
              id="reviewer"
              ref={nameRef}
              value={name}
              autoComplete="name"
              aria-invalid={!!fieldErr.reviewer}
              aria-describedby={fieldErr.reviewer ? "reviewer-err" : undefined}
              onInput={(e) => {
                setName(e.currentTarget.value);
                setFieldErr((x) => ({ ...x, reviewer: "" }));
              }}
            />
            {fieldErr.reviewer && (
              <p id="reviewer-err" class="field-error">
                {fieldErr.reviewer}
              </p>
            )}
          </>
        )}
        <label for="feedback">Feedback</label>
        <textarea
          id="feedback"
          ref={feedbackRef}
          rows={2}
          maxLength={2000}
          value={feedback}
          aria-invalid={!!fieldErr.feedback}
          aria-describedby={fieldErr.feedback ? "feedback-err" : "keys-hint"}
          onInput={(e) => {
            setFeedback(e.currentTarget.value);
            setFieldErr((x) => ({ ...x, feedback: "" }));
          }}
        />
        {fieldErr.feedback && (
          <p id="feedback-err" class="field-error">
            {fieldErr.feedback}
          </p>
        )}
        <div class="row">
          <button type="button" class="primary" disabled={busy || !!cp.artifacts.error} onClick={() => send(build("approve"))}>
            Approve
          </button>
          {/* The budget checkpoint takes approve with a new cap, or cancel: there is nothing to redo. */}
          {stage !== "budget" && (
            <button type="button" disabled={busy} onClick={() => send(build("revise"))}>
              Revise
            </button>
          )}
        </div>
        <p id="keys-hint" class="hint">
          Keys: A approve · R feedback · ←/→ move · Space play/pause
        </p>
        {result && !result.ok && (
          <p role="alert" class="error">
            {result.message}
          </p>
        )}
      </div>
    </div>
  );
}

/** The budget checkpoint: what was spent, what the next step costs, and the new cap to go on with. */
function BudgetView(p: ViewProps) {
  const b = p.checkpoint.artifacts.budget;
  if (!b)
    return (
      <p role="alert" class="error">
        This checkpoint carries no budget figures.
      </p>
    );
  const value = p.targets.budgetUsd ?? b.neededUsd;
  return (
    <div class="budget">
      <p>
        Spent so far <strong>${b.spentUsd.toFixed(2)}</strong> of a <strong>${b.capUsd.toFixed(2)}</strong> cap; the next step ({b.before}) costs about{" "}
        <strong>${b.nextUsd.toFixed(2)}</strong>. Approve with a cap of at least ${b.neededUsd.toFixed(2)} to go on, or cancel.
      </p>
      <label for="budget-usd">New budget (USD)</label>
      <input
        id="budget-usd"
        type="number"
        min={b.neededUsd}
        step={0.01}
        value={value}
        onInput={(e) => {
          const v = Number(e.currentTarget.value);
          if (Number.isFinite(v)) p.setTargets({ budgetUsd: v });
        }}
      />
    </div>
  );
}

/** The reel, and its stitch settings: changing them and revising re-stitches the same clips. */
function ReelCheckpoint(p: ViewProps) {
  return (
    <>
      <ReelView assets={p.assets} ids={p.checkpoint.artifacts.assets} findings={(id) => flaggedOn(p.checkpoint, id)} onMark={p.addMark} />
      {p.targets.stitch && <StitchSettingsForm value={p.targets.stitch} set={(stitch) => p.setTargets({ stitch })} />}
    </>
  );
}
