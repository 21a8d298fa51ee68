/**
 * The easing curve as SVG: progress through the output clip (x) against source time (y), with a mark
 * where each output frame samples the clip, and draggable handles for a custom cubic-bezier.
 */
import { useRef } from "preact/hooks";
import { resolveEasing, type EasingSpec } from "../../../common/easing.ts";

const W = 320;
const H = 320;
const PAD = 24;
const Y_MIN = -0.3;
const Y_MAX = 1.3;
const sx = (x: number) => PAD + x * (W - 2 * PAD);
const sy = (y: number) => H - PAD - ((y - Y_MIN) / (Y_MAX - Y_MIN)) * (H - 2 * PAD);

export function curvePath(spec: EasingSpec, samples = 120): string {
  const ease = resolveEasing(spec);
  let d = "";
  for (let i = 0; i <= samples; i++) {
    const x = i / samples;
    d += `${i ? "L" : "M"}${sx(x).toFixed(2)},${sy(ease(x)).toFixed(2)}`;
  }
  return d;
}

export function CurvePlot({
  spec,
  frames,
  onBezier,
  label,
}: {
  spec: EasingSpec;
  frames: number;
  onBezier?: (b: [number, number, number, number]) => void;
  label: string;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const ease = resolveEasing(spec);
  const n = Math.max(2, Math.min(frames, 400));
  const marks = Array.from({ length: n }, (_, k) => ease(k / (n - 1)));
  const bez = typeof spec === "object" ? spec.bezier : null;

  const drag = (which: 0 | 1) => (e: PointerEvent) => {
    if (!bez || !onBezier) return;
    const el = e.currentTarget as SVGCircleElement;
    el.setPointerCapture(e.pointerId);
    const move = (ev: PointerEvent) => {
      const r = svg.current!.getBoundingClientRect();
      const x = Math.min(1, Math.max(0, (((ev.clientX - r.left) / r.width) * W - PAD) / (W - 2 * PAD)));
      const y = Math.min(Y_MAX, Math.max(Y_MIN, Y_MIN + ((H - PAD - ((ev.clientY - r.top) / r.height) * H) / (H - 2 * PAD)) * (Y_MAX - Y_MIN)));
      const next = [...bez] as [number, number, number, number];
      next[which * 2] = Math.round(x * 1000) / 1000;
      next[which * 2 + 1] = Math.round(y * 1000) / 1000;
      onBezier(next);
    };
    const up = () => {
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", up);
    };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
  };

  return (
    <svg ref={svg} class="curve-plot" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
      <rect x={sx(0)} y={sy(1)} width={sx(1) - sx(0)} height={sy(0) - sy(1)} class="frame" />
      <line x1={sx(0)} y1={sy(0)} x2={sx(1)} y2={sy(1)} class="diag" />
      {marks.map((y, k) => (
        <line class="mark" x1={sx(0) - 6} x2={sx(0)} y1={sy(y)} y2={sy(y)} data-k={k} />
      ))}
      {marks.map((y, k) => (
        <circle class="sample" cx={sx(k / (n - 1))} cy={sy(y)} r={1.4} />
      ))}
      <path class="curve" d={curvePath(spec)} />
      {bez && (
        <>
          <line class="handle-line" x1={sx(0)} y1={sy(0)} x2={sx(bez[0])} y2={sy(bez[1])} />
          <line class="handle-line" x1={sx(1)} y1={sy(1)} x2={sx(bez[2])} y2={sy(bez[3])} />
          <circle class="handle" cx={sx(bez[0])} cy={sy(bez[1])} r={9} onPointerDown={drag(0)} />
          <circle class="handle" cx={sx(bez[2])} cy={sy(bez[3])} r={9} onPointerDown={drag(1)} />
        </>
      )}
      <text x={sx(0.5)} y={H - 4} class="axis">
        output frame →
      </text>
      <text x={10} y={sy(0.5)} class="axis" transform={`rotate(-90 10 ${sy(0.5)})`}>
        source time →
      </text>
    </svg>
  );
}
