/**
 * Client-side names for the API's shapes, from the generated `openapi.gen.ts`: what scripts, tests
 * and the web UI use instead of hand-written interfaces.
 */
import type { components, operations, paths } from "./openapi.gen.ts";

type Schemas = components["schemas"];
export type { components, operations, paths };
export type Shoot = Schemas["Shoot"];
export type ShootSummary = Schemas["ShootSummary"];
export type ShootList = Schemas["ShootList"];
export type ShootCreated = Schemas["ShootCreated"];
export type Checkpoint = Schemas["Checkpoint"];
export type Asset = Schemas["Asset"];
export type Upload = Schemas["Upload"];
export type UploadList = Schemas["UploadList"];
export type Job = Schemas["Job"];
export type Costs = Schemas["Costs"];
export type TimelineEvent = Schemas["TimelineEvent"];
export type ShootEvent = Schemas["ShootEvent"];
export type Problem = Schemas["Problem"];
export type CreateShoot = Schemas["CreateShoot"];
export type Decision = Schemas["Decision"];
export type DecisionAccepted = Schemas["DecisionAccepted"];
