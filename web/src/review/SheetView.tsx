/** The contact-sheet checkpoint: the 2×3 sheet, large, every version. */
import { useState } from "preact/hooks";
import type { ViewProps } from "./types.ts";
import { byIds, versionsOf, ZoomViewer } from "./shared.tsx";
import { flaggedOn, PlacePicker, StillOverlay } from "./quality.tsx";

export function SheetView(p: ViewProps) {
  const versions = versionsOf(p.assets, "contact-sheet");
  const current = byIds(p.assets, p.checkpoint.artifacts.assets)[0] ?? versions[versions.length - 1];
  const [shown, setShown] = useState(current?.version ?? 1);
  if (!current) return <p class="empty">No contact sheet yet.</p>;
  const showing = versions.find((v) => v.version === shown) ?? current;
  return (
    <div>
      {versions.length > 1 && (
        <fieldset class="row versions" aria-label="Contact sheet versions">
          {versions.map((v) => (
            <button type="button" aria-pressed={v.version === showing.version} onClick={() => setShown(v.version)}>
              v{v.version}
            </button>
          ))}
        </fieldset>
      )}
      <ZoomViewer asset={showing} label={`Contact sheet v${showing.version}`}>
        {showing.id === current.id && (
          <StillOverlay
            label={`Contact sheet v${current.version}`}
            findings={flaggedOn(p.checkpoint, current.id)}
            marks={p.targets.marks.filter((m) => m.asset === current.id)}
            onMark={(region) => p.addMark({ asset: current.id, region, reason: "" })}
          />
        )}
      </ZoomViewer>
      {showing.id === current.id && <PlacePicker id="sheet" onMark={(region) => p.addMark({ asset: current.id, region, reason: "" })} />}
    </div>
  );
}
