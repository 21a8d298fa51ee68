/** The plan checkpoint: its fields, and presets to change in a revise. */
import type { ViewProps } from "./types.ts";
import { PresetPickers } from "./shared.tsx";

export function PlanView(p: ViewProps) {
  const plan = p.plan;
  return (
    <div>
      {!plan ? (
        <p class="empty">The plan is not readable here.</p>
      ) : (
        <dl class="plan">
          <dt>Pose</dt>
          <dd>{plan.pose}</dd>
          <dt>Background</dt>
          <dd>{plan.background}</dd>
          <dt>Style</dt>
          <dd>{plan.style}</dd>
          <dt>Wardrobe notes</dt>
          <dd>{plan.wardrobeNotes}</dd>
          {plan.styleDetails && (
            <>
              <dt>Style details</dt>
              <dd>{plan.styleDetails}</dd>
            </>
          )}
          <dt>Shots</dt>
          <dd>
            <ol>
              {plan.shots.map((s) => (
                <li>
                  <strong>{s.name}</strong>: {s.description}
                </li>
              ))}
            </ol>
          </dd>
          <dt>Camera moves</dt>
          <dd>
            <ol>
              {plan.motions.map((m) => (
                <li>
                  <strong>{m.name}</strong>: {m.prompt}
                </li>
              ))}
            </ol>
          </dd>
          <dt>Planner</dt>
          <dd>{plan.planner}</dd>
        </dl>
      )}
      {!p.limited && <PresetPickers value={p.targets.presets} set={(presets) => p.setTargets({ presets })} />}
    </div>
  );
}
