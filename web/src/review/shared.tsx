/** Pieces the checkpoint views share: asset lookup, the presets, a zoomable viewer, a compare slider. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { client, okAs } from "../api.ts";
import type { Asset, Presets } from "../types.ts";

export function byIds(assets: Asset[], ids: string[] | undefined): Asset[] {
  return (ids ?? []).map((id) => assets.find((a) => a.id === id)).filter((a): a is Asset => !!a);
}

export function versionsOf(assets: Asset[], kind: Asset["kind"], index = 0): Asset[] {
  return assets.filter((a) => a.kind === kind && a.index === index).sort((a, b) => a.version - b.version);
}

let presetsPromise: Promise<Presets> | null = null;
export function usePresets(enabled = true): Presets | null {
  const [p, setP] = useState<Presets | null>(null);
  useEffect(() => {
    if (!enabled) return;
    presetsPromise ??= okAs<Presets>(client.GET("/api/presets"));
    presetsPromise.then(setP, () => {
      presetsPromise = null;
    });
  }, [enabled]);
  return p;
}

export function ZoomViewer({ asset, label, children }: { asset: Asset; label: string; children?: ComponentChildren }) {
  const [zoom, setZoom] = useState(1);
  const id = `zoom-${asset.id}`;
  return (
    <figure class="viewer">
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable viewport takes focus so a keyboard can scroll the zoomed image (axe: scrollable-region-focusable) */}
      <section class="viewport" tabIndex={0} aria-label={`${label}, zoom ${zoom}×`}>
        {/* At 1× the whole image fits the viewport; zooming widens it and the viewport scrolls. */}
        {/* The image and what is drawn over it (findings, marks) share one box, so fractions place them at any zoom. */}
        <div class="still" style={zoom === 1 ? { maxWidth: "100%" } : { width: `${zoom * 100}%`, maxWidth: "none" }}>
          <img
            src={asset.url}
            alt={label}
            style={zoom === 1 ? { display: "block", maxHeight: "70vh", maxWidth: "100%" } : { display: "block", width: "100%", maxWidth: "none" }}
          />
          {children}
        </div>
      </section>
      <figcaption class="row">
        <span>
          {label}
          {asset.width ? ` · ${asset.width}×${asset.height}` : ""}
        </span>
        <label for={id}>Zoom</label>
        <input id={id} type="range" min={1} max={4} step={0.5} value={zoom} onInput={(e) => setZoom(Number(e.currentTarget.value))} />
      </figcaption>
    </figure>
  );
}

/** Previous under current, the current one revealed up to the slider. */
export function CompareSlider({ before, after, beforeLabel, afterLabel }: { before: Asset; after: Asset; beforeLabel: string; afterLabel: string }) {
  const [at, setAt] = useState(50);
  return (
    <figure class="compare">
      <div class="compare-stage">
        <img src={before.url} alt={beforeLabel} />
        <img src={after.url} alt="" aria-hidden="true" class="top" style={{ clipPath: `inset(0 ${100 - at}% 0 0)` }} />
        <span class="divider" style={{ left: `${at}%` }} aria-hidden="true" />
      </div>
      <figcaption>
        <label for="compare-at">
          Reveal {afterLabel} over {beforeLabel}
        </label>
        <input id="compare-at" type="range" min={0} max={100} value={at} onInput={(e) => setAt(Number(e.currentTarget.value))} />
      </figcaption>
    </figure>
  );
}

export function PresetPickers({ value, set }: { value: Record<string, string>; set: (v: Record<string, string>) => void }) {
  const presets = usePresets();
  if (!presets) return null;
  const pick = (k: string, v: string) => {
    const next = { ...value };
    if (v) next[k] = v;
    else delete next[k];
    set(next);
  };
  return (
    <fieldset class="grid3">
      <legend>Change presets (revise)</legend>
      {(["pose", "background", "style"] as const).map((k) => {
        const opts = { pose: presets.poses, background: presets.backgrounds, style: presets.styles }[k];
        return (
          <div>
            <label for={`rev-${k}`}>{k[0].toUpperCase() + k.slice(1)}</label>
            <select id={`rev-${k}`} value={value[k] ?? ""} onChange={(e) => pick(k, e.currentTarget.value)}>
              <option value="">Keep</option>
              {opts.map((o) => (
                <option value={o.id}>{o.id}</option>
              ))}
            </select>
          </div>
        );
      })}
    </fieldset>
  );
}

export function AspectPicker({ value, set }: { value: string; set: (v: string) => void }) {
  const presets = usePresets();
  if (!presets) return null;
  return (
    <div>
      <label for="rev-aspect">New aspect ratio (revise)</label>
      <select id="rev-aspect" value={value} onChange={(e) => set(e.currentTarget.value)}>
        <option value="">Keep</option>
        {presets.aspectRatios.map((a) => (
          <option value={a}>{a}</option>
        ))}
      </select>
    </div>
  );
}
