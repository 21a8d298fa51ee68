/** The hero checkpoint: a large zoomable viewer, every version, and the current beside the previous. */
import { useState } from "preact/hooks";
import type { ViewProps } from "./types.ts";
import { AspectPicker, byIds, CompareSlider, PresetPickers, versionsOf, ZoomViewer } from "./shared.tsx";
import { flaggedOn, PlacePicker, StillOverlay } from "./quality.tsx";

export function HeroView(p: ViewProps) {
  const versions = versionsOf(p.assets, "hero");
  const current = byIds(p.assets, p.checkpoint.artifacts.assets)[0] ?? versions[versions.length - 1];
  const [shown, setShown] = useState(current?.version ?? 1);
  if (!current) return <p class="empty">No hero image yet.</p>;
  const showing = versions.find((v) => v.version === shown) ?? current;
  const previous = versions.filter((v) => v.version < current.version).pop();
  return (
    <div>
      {versions.length > 1 && (
        <fieldset class="row versions" aria-label="Hero versions">
          {versions.map((v) => (
            <button type="button" aria-pressed={v.version === showing.version} onClick={() => setShown(v.version)}>
              v{v.version}
              {v.id === current.id ? " (current)" : ""}
            </button>
          ))}
        </fieldset>
      )}
      <ZoomViewer asset={showing} label={`Hero v${showing.version}`}>
        {/* Findings and marks belong to the version under review; older versions are shown bare. */}
        {showing.id === current.id && (
          <StillOverlay
            label={`Hero v${current.version}`}
            findings={flaggedOn(p.checkpoint, current.id)}
            marks={p.targets.marks.filter((m) => m.asset === current.id)}
            onMark={(region) => p.addMark({ asset: current.id, region, reason: "" })}
          />
        )}
      </ZoomViewer>
      {showing.id === current.id && (
        <>
          <p class="hint">Drag on the picture to mark a place, then say what to keep or change there.</p>
          <PlacePicker id="hero" onMark={(region) => p.addMark({ asset: current.id, region, reason: "" })} />
        </>
      )}
      {previous && (
        <section aria-labelledby="hero-compare">
          <h3 id="hero-compare">Current beside previous</h3>
          <div class="pair">
            <figure>
              <img src={previous.url} alt={`Hero v${previous.version}`} />
              <figcaption>v{previous.version} (previous)</figcaption>
            </figure>
            <figure>
              <img src={current.url} alt={`Hero v${current.version}`} />
              <figcaption>v{current.version} (current)</figcaption>
            </figure>
          </div>
          <CompareSlider before={previous} after={current} beforeLabel={`v${previous.version}`} afterLabel={`v${current.version}`} />
        </section>
      )}
      {!p.limited && (
        <div class="grid2">
          <PresetPickers value={p.targets.presets} set={(presets) => p.setTargets({ presets })} />
          <AspectPicker value={p.targets.aspectRatio} set={(aspectRatio) => p.setTargets({ aspectRatio })} />
        </div>
      )}
    </div>
  );
}
