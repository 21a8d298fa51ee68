/**
 * The one request behind the preview and the start: `POST /api/batches` as multipart, the sheet in
 * `file`, every photo and zip in `photos`, the settings as fields; `dryRun=true` for the preview.
 */
import { client, ok } from "../../api.ts";
import type { components, paths } from "../../../../src/api/openapi.gen.ts";
import { STAGES } from "../../contract.ts";
import type { Selection } from "./files.ts";

export type BatchQuote = components["schemas"]["BatchQuote"];
export type BatchAccepted = components["schemas"]["BatchAccepted"];
type BatchStatus = components["schemas"]["BatchStatus"];
type Multipart = NonNullable<paths["/api/batches"]["post"]["requestBody"]>["content"]["multipart/form-data"];

export interface Settings {
  /** `none`, stages joined by `;`, or "" for the recipe's own policy. */
  review: string;
  /** `name@version`, or "" for none. */
  recipe: string;
  /** As typed; "" for no batch budget. */
  budgetUsd: string;
}

export const REVIEW_OPTIONS = [
  { value: "none", label: "None: approve automatically" },
  { value: "reel", label: "The reel only" },
  { value: STAGES.join(";"), label: "Every stage" },
] as const;

function batchForm(selection: Selection, settings: Settings, dryRun: boolean): FormData {
  const form = new FormData();
  if (selection.sheet) form.append("file", selection.sheet, selection.sheet.name);
  for (const p of selection.photos) form.append("photos", p, p.name);
  if (settings.review) form.append("review", settings.review);
  if (settings.recipe) form.append("recipe", settings.recipe);
  if (settings.budgetUsd.trim()) form.append("budgetUsd", settings.budgetUsd.trim());
  if (dryRun) form.append("dryRun", "true");
  return form;
}

function post(form: FormData, signal?: AbortSignal) {
  // openapi-fetch types a multipart body as its schema's object; the form is what goes on the wire.
  return ok(client.POST("/api/batches", { body: form as unknown as Multipart, bodySerializer: (b) => b as unknown as FormData, signal }));
}

/** The quote: every row checked, its references resolved, its cost; nothing created. */
export async function quoteBatch(selection: Selection, settings: Settings, signal: AbortSignal): Promise<BatchQuote> {
  const answer = await post(batchForm(selection, settings, true), signal);
  if (!("dryRun" in answer)) throw new Error("the server answered a batch, not a quote");
  return answer;
}

/** Starts the batch: its id (a batch sent before answers as itself, with the same id). */
export async function startBatch(selection: Selection, settings: Settings): Promise<string> {
  const answer = (await post(batchForm(selection, settings, false))) as BatchAccepted | BatchStatus | BatchQuote;
  if ("dryRun" in answer) throw new Error("the server answered a quote, not a batch");
  return answer.id;
}
