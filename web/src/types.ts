/**
 * Response shapes the UI reads (SPEC section 6, as src/api/shoots.ts answers them today).
 * To be replaced by the types generated from the OpenAPI document once the contract branch lands.
 */
import type { Decision, Stage, ShootStatus, StitchSettings } from "../../src/domain/shoot.ts";
export type { Decision, Stage, ShootStatus, StitchSettings };

export interface Asset {
  id: string;
  kind: "reference" | "plan" | "hero" | "contact-sheet" | "frame" | "clip" | "reel" | "poster";
  stage?: string | null;
  index: number;
  version: number;
  url: string;
  mime: string;
  bytes: number;
  width: number | null;
  height: number | null;
  duration: number | null;
  createdAt?: string;
}

export interface Box { x: number; y: number; width: number; height: number }
export interface Artifacts {
  assets?: string[];
  error?: string;
  boxes?: Box[];
  confidence?: number;
  stitch?: StitchSettings;
}

export interface Checkpoint {
  stage: Stage;
  attempt: number;
  status: "pending" | "approved" | "revised" | "cancelled" | "expired" | "auto_approved";
  decision?: string | null;
  feedback?: string | null;
  decidedBy?: string | null;
  decidedAt?: string | null;
  artifacts: Artifacts;
  expiresAt: string | null;
  createdAt: string;
}

export interface ShootSummary {
  id: string;
  status: ShootStatus;
  stage: Stage;
  brief: string;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface Job { id: string; type: string; stage: string; attempt: number; status: string; costUsd: number | null; createdAt: string; completedAt: string | null }
export interface TimelineEvent { id: number; type: string; data: Record<string, unknown> | null; at: string }

export interface Plan {
  pose: string;
  background: string;
  style: string;
  wardrobeNotes: string;
  styleDetails: string;
  shots: { name: string; description: string }[];
  motions: { name: string; prompt: string }[];
  planner: string;
}

export interface ShootDetail extends ShootSummary {
  plan: Plan | null;
  params: { review: Stage[]; stitch: StitchSettings; aspectRatio: string | null; presets: Record<string, string> };
  error: string | null;
  checkpoint: Checkpoint | null;
  checkpoints: Checkpoint[];
  assets: Asset[];
  jobs: Job[];
  costs: { totalUsd: number; byStage: { stage: string; attempt: number; usd: number; jobs: number }[] };
  timeline: TimelineEvent[];
}

export interface Option { id: string; description: string }
export interface Presets {
  poses: Option[];
  backgrounds: Option[];
  styles: Option[];
  defaults: { pose: string; background: string; style: string };
  aspectRatios: string[];
  stages: Stage[];
  defaultReview: Stage[];
  easings: string[];
  bezierPresets: Record<string, [number, number, number, number]>;
  defaultStitch: StitchSettings;
}

export interface ReviewPage {
  shoot: { id: string; brief: string; status: ShootStatus; stage: Stage };
  checkpoint: Checkpoint;
  assets: Asset[];
  linkExpiresAt: string;
}

export interface ProblemBody { title: string; status: number; detail: string; errors?: { field: string; message: string }[] }
