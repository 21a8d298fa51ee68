/** The API's lists as the UI uses them: from the enums of the generated OpenAPI types, never retyped. */
import { finalShootStatusValues, shootStatusValues, stageValues } from "../../src/api/openapi.gen.ts";
import type { ShootStatus, Stage } from "./types.ts";

export const STAGES: readonly Stage[] = stageValues;
export const SHOOT_STATUSES: readonly ShootStatus[] = shootStatusValues;
export const isFinal = (status: string) => (finalShootStatusValues as readonly string[]).includes(status);
/** The event that ends a shoot's live stream: `shoot.<final status>`. */
export const isFinalEvent = (type: string) => type.startsWith("shoot.") && isFinal(type.slice("shoot.".length));
