/**
 * The clips checkpoint: a grid of clips that play on hover and scrub with a slider, each selectable
 * for a revise; and the stitch settings for the reel (easing with its plotted curve, clip seconds,
 * fps, transition, loop), sent with approve or revise.
 */
import { useRef, useState } from "preact/hooks";
import type { Asset, StitchSettings } from "../types.ts";
import type { ViewProps } from "./types.ts";
import { CurvePlot } from "./CurvePlot.tsx";
import { byIds, usePresets } from "./shared.tsx";
import { type Finding, type Mark, flaggedOn, MomentTools } from "./quality.tsx";

export function ClipsView(p: ViewProps) {
  const clips = byIds(p.assets, p.checkpoint.artifacts.assets);
  const toggle = (n: number) => p.setTargets({ clips: p.targets.clips.includes(n) ? p.targets.clips.filter((x) => x !== n) : [...p.targets.clips, n] });
  return (
    <div>
      <ul class="grid-clips" aria-label="Clips">
        {clips.map((c) => (
          <ClipTile
            clip={c}
            active={p.active === c.index - 1}
            selected={p.targets.clips.includes(c.index)}
            onToggle={() => toggle(c.index)}
            onFocus={() => p.setActive(c.index - 1)}
            findings={flaggedOn(p.checkpoint, c.id)}
            onMark={(timeRange) => p.addMark({ asset: c.id, timeRange, reason: "" })}
          />
        ))}
      </ul>
      {p.targets.stitch && <StitchSettingsForm value={p.targets.stitch} set={(stitch) => p.setTargets({ stitch })} />}
    </div>
  );
}

function ClipTile({
  clip,
  active,
  selected,
  onToggle,
  onFocus,
  findings,
  onMark,
}: {
  clip: Asset;
  active: boolean;
  selected: boolean;
  onToggle: () => void;
  onFocus: () => void;
  findings: Finding[];
  onMark: (t: NonNullable<Mark["timeRange"]>) => void;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const [t, setT] = useState(0);
  const n = clip.index;
  const dur = clip.duration ?? 5;
  return (
    <li
      class={`item${selected ? " selected" : ""}`}
      data-active={active}
      onMouseEnter={() => {
        onFocus();
        void video.current?.play().catch(() => undefined);
      }}
      onMouseLeave={() => video.current?.pause()}
    >
      <video
        ref={video}
        data-asset={clip.id}
        src={clip.url}
        muted
        loop
        playsInline
        preload="metadata"
        aria-label={`Clip ${n} v${clip.version}, frame ${n} to ${n === 6 ? 1 : n + 1}`}
        onTimeUpdate={(e) => setT(e.currentTarget.currentTime)}
      />
      <label for={`scrub-${n}`} class="visually-hidden">
        Scrub clip {n}
      </label>
      <input
        id={`scrub-${n}`}
        type="range"
        min={0}
        max={dur}
        step={0.04}
        value={t}
        onInput={(e) => {
          const v = Number(e.currentTarget.value);
          if (video.current) {
            video.current.pause();
            video.current.currentTime = v;
          }
          setT(v);
        }}
      />
      <label class="check">
        <input type="checkbox" checked={selected} onChange={onToggle} /> Select clip {n}
      </label>
      <MomentTools asset={clip} findings={findings} video={() => video.current} onMark={onMark} />
    </li>
  );
}

export function StitchSettingsForm({ value, set }: { value: StitchSettings; set: (s: StitchSettings) => void }) {
  const presets = usePresets();
  const custom = typeof value.easing === "object";
  const names = presets?.easings ?? [];
  const frames = Math.round(value.clipSeconds * value.fps);
  const onEasing = (v: string) => {
    if (v === "custom") {
      const from = typeof value.easing === "string" ? presets?.bezierPresets[value.easing] : undefined;
      set({ ...value, easing: { bezier: from ? ([...from] as [number, number, number, number]) : [0.85, 0, 0.15, 1] } });
    } else set({ ...value, easing: v as StitchSettings["easing"] });
  };
  const easingLabel = typeof value.easing === "string" ? value.easing : `cubic-bezier(${value.easing.bezier.join(", ")})`;
  return (
    <fieldset class="stitch">
      <legend>Stitch settings for the reel</legend>
      <div class="stitch-grid">
        <div>
          <label for="easing">Easing</label>
          <select id="easing" value={custom ? "custom" : (value.easing as string)} onChange={(e) => onEasing(e.currentTarget.value)}>
            {names.map((n) => (
              <option value={n}>{n}</option>
            ))}
            <option value="custom">Custom cubic-bezier</option>
          </select>
          {custom && (
            <div class="grid4">
              {(["x1", "y1", "x2", "y2"] as const).map((k, i) => (
                <div>
                  <label for={`bz-${k}`}>{k}</label>
                  <input
                    id={`bz-${k}`}
                    type="number"
                    step={0.01}
                    min={i % 2 ? -1 : 0}
                    max={i % 2 ? 2 : 1}
                    value={(value.easing as { bezier: number[] }).bezier[i]}
                    onInput={(e) => {
                      const b = [...(value.easing as { bezier: [number, number, number, number] }).bezier] as [number, number, number, number];
                      const v = Number(e.currentTarget.value);
                      if (Number.isFinite(v)) {
                        b[i] = i % 2 ? v : Math.min(1, Math.max(0, v));
                        set({ ...value, easing: { bezier: b } });
                      }
                    }}
                  />
                </div>
              ))}
            </div>
          )}
          <label for="clip-seconds">Seconds per clip</label>
          <input
            id="clip-seconds"
            type="number"
            min={0.5}
            max={3}
            step={0.1}
            value={value.clipSeconds}
            onInput={(e) => {
              const v = Number(e.currentTarget.value);
              if (v >= 0.5 && v <= 3) set({ ...value, clipSeconds: v });
            }}
          />
          <label for="fps">Frames per second</label>
          <input
            id="fps"
            type="number"
            min={24}
            max={120}
            step={1}
            value={value.fps}
            onInput={(e) => {
              const v = Number(e.currentTarget.value);
              if (Number.isInteger(v) && v >= 24 && v <= 120) set({ ...value, fps: v });
            }}
          />
          <label for="transition">Transition</label>
          <select
            id="transition"
            value={value.transition}
            onChange={(e) => set({ ...value, transition: e.currentTarget.value as StitchSettings["transition"] })}
          >
            <option value="cut">Hard cut</option>
            <option value="crossfade">Crossfade</option>
            <option value="fadeblack">Fade through black</option>
          </select>
          <label class="check">
            <input type="checkbox" checked={value.loop} onChange={(e) => set({ ...value, loop: e.currentTarget.checked })} /> Loop (adds clip 6 → 1)
          </label>
        </div>
        <figure>
          <CurvePlot spec={value.easing} frames={frames} label={`Easing curve: ${easingLabel}`} onBezier={(bezier) => set({ ...value, easing: { bezier } })} />
          <figcaption>{frames} output frames per clip; each mark is where one samples the clip.</figcaption>
        </figure>
      </div>
    </fieldset>
  );
}
