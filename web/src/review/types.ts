/** What CheckpointReview hands each stage view. */
import type { Asset, Checkpoint, Decision, Plan, StitchSettings } from "../types.ts";

export interface Targets {
  frames: number[];
  clips: number[];
  stitch: StitchSettings | null;
  presets: Record<string, string>;
  aspectRatio: string;
  split?: "detect" | "equal";
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
}
