/**
 * The frames checkpoint: the contact sheet with the detected boxes drawn over it and the detection's
 * confidence; the six frames, each selectable for a revise. When detection refused, its reason and
 * the ways on: split the sheet into equal cells, or detect again.
 */
import type { Box } from "../types.ts";
import type { ViewProps } from "./types.ts";
import { AspectPicker, byIds, versionsOf } from "./shared.tsx";
import { flaggedOn, StillOverlay } from "./quality.tsx";

export function FramesView(p: ViewProps) {
  const a = p.checkpoint.artifacts;
  const sheets = versionsOf(p.assets, "contact-sheet");
  const sheet = sheets[sheets.length - 1];
  if (a.error) {
    return (
      <div>
        {sheet && <img class="sheet" src={sheet.url} alt={`Contact sheet v${sheet.version}`} />}
        <p role="alert" class="error">
          The grid was not detected: {a.error}
        </p>
        <div class="row">
          <button type="button" onClick={() => p.decide({ action: "revise", split: "equal" })}>
            Equal split
          </button>
          <button type="button" onClick={() => p.decide({ action: "revise", split: "detect" })}>
            Detect the grid again
          </button>
        </div>
      </div>
    );
  }
  const frames = byIds(p.assets, a.assets);
  const boxes = a.boxes as Box[] | undefined;
  const toggle = (n: number) => p.setTargets({ frames: p.targets.frames.includes(n) ? p.targets.frames.filter((x) => x !== n) : [...p.targets.frames, n] });
  return (
    <div>
      {sheet && (
        <figure class="boxed">
          <div class="overlay-stage">
            <img src={sheet.url} alt={`Contact sheet v${sheet.version} with the detected frames outlined`} />
            {sheet.width && sheet.height && boxes && (
              <svg viewBox={`0 0 ${sheet.width} ${sheet.height}`} preserveAspectRatio="none" aria-hidden="true">
                {boxes.map((b, i) => (
                  <g class={p.active === i ? "active" : ""}>
                    <rect x={b.x} y={b.y} width={b.width} height={b.height} />
                    <text x={b.x + b.width - 48} y={b.y + b.height - 20}>
                      {i + 1}
                    </text>
                  </g>
                ))}
              </svg>
            )}
          </div>
          <figcaption>
            Detected {boxes?.length ?? 0} frames{typeof a.confidence === "number" ? `, confidence ${(a.confidence * 100).toFixed(0)}%` : ""}
          </figcaption>
        </figure>
      )}
      <ul class="grid6" aria-label="Frames">
        {frames.map((f) => {
          const n = f.index;
          const on = p.targets.frames.includes(n);
          return (
            // biome-ignore lint/a11y/useKeyWithClickEvents: a click on the tile is a mouse shortcut to show it in the viewer; the checkbox inside is the keyboard path
            <li class={`item${on ? " selected" : ""}`} data-active={p.active === n - 1} onClick={() => p.setActive(n - 1)}>
              <div class="tile-still">
                <img src={f.url} alt={`Frame ${n} v${f.version}`} style={{ display: "block", width: "100%" }} />
                <StillOverlay
                  label={`Frame ${n}`}
                  findings={flaggedOn(p.checkpoint, f.id)}
                  marks={p.targets.marks.filter((m) => m.asset === f.id)}
                  onMark={(region) => p.addMark({ asset: f.id, region, reason: "" })}
                />
              </div>
              <label class="check">
                <input type="checkbox" checked={on} onChange={() => toggle(n)} /> Select frame {n}
              </label>
            </li>
          );
        })}
      </ul>
      <p class="hint">
        {frames[0]?.width ? `Frames are ${frames[0].width}×${frames[0].height}. ` : ""}Drag on a frame to mark a place on it, then say what to keep or change
        there.
      </p>
      {!p.limited && <AspectPicker value={p.targets.aspectRatio} set={(aspectRatio) => p.setTargets({ aspectRatio })} />}
    </div>
  );
}
