/** The UI's names for the API's shapes: all from the types generated from the OpenAPI document. */
import type { components } from "../../src/api/openapi.gen.ts";

type Schemas = components["schemas"];
export type Stage = Schemas["Stage"];
/** A checkpoint is at a stage, or at `budget` (the shoot is about to pass its cost cap). */
export type CheckpointStage = Schemas["CheckpointStage"];
export type ShootStatus = Schemas["ShootStatus"];
export type StitchSettings = Schemas["ResolvedStitchSettings"];
export type Decision = Schemas["Decision"];
export type ShootSummary = Schemas["ShootSummary"];
export type ShootDetail = Schemas["Shoot"];
export type Plan = Schemas["Plan"];
export type Presets = Schemas["PresetOptions"];
export type ReviewPage = Schemas["ReviewPage"];
export type ProblemBody = Schemas["Problem"];
/** What a view needs of an asset: the shoot page's assets and a review link's alike. */
export type Asset = Schemas["ReviewAsset"];
/** What a view needs of a checkpoint: the shoot page's and a review link's alike. */
export type Checkpoint = ReviewPage["checkpoint"];
export type Artifacts = Checkpoint["artifacts"];
/** A detected frame box on the contact sheet (`artifacts.boxes` at the frames checkpoint). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
/** A channel pack of a completed shoot, each channel with its files (issue 20). */
export type Pack = Schemas["Pack"];
export type PackChannel = Schemas["PackChannel"];
export type ChannelSpec = Schemas["ChannelSpec"];
export type PackRequest = Schemas["PackRequest"];
