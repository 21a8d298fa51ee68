/** What CheckpointReview hands each stage view. */
import type { Asset, Checkpoint, Decision, Plan, StitchSettings } from "../types.ts";

type Mark = NonNullable<Decision["marks"]>[number];

export interface Targets {
  frames: number[];
  clips: number[];
  stitch: StitchSettings | null;
  presets: Record<string, string>;
  aspectRatio: string;
  split?: "detect" | "equal";
  /** Places on this checkpoint's outputs, each with a note, sent with revise. */
  marks: Mark[];
  /** Budget checkpoint: the new cap, in USD. */
  budgetUsd?: number;
}

export interface ViewProps {
  checkpoint: Checkpoint;
  assets: Asset[];
  plan: Plan | null;
  targets: Targets;
  setTargets: (t: Partial<Targets>) => void;
  active: number;
  setActive: (i: number) => void;
  /** Review links take no preset or aspect-ratio changes. */
  limited: boolean;
  decide: (d: Decision) => void;
  /** Adds a mark (a box on a still or a moment of a clip), unless there are already as many as the API takes. */
  addMark: (m: Mark) => void;
}
