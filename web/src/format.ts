/** Display helpers. */
import type { CheckpointStage } from "./types.ts";

export const STAGE_LABEL: Record<CheckpointStage, string> = {
  plan: "Plan",
  hero: "Hero",
  "contact-sheet": "Contact sheet",
  frames: "Frames",
  clips: "Clips",
  reel: "Reel",
  budget: "Budget",
};

export const STATUS_LABEL: Record<string, string> = {
  running: "Running",
  awaiting_review: "Awaiting review",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  expired: "Expired",
};

export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - Date.parse(iso.endsWith("Z") || iso.includes("+") ? iso : `${iso.replace(" ", "T")}Z`)) / 1000);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export const usd = (n: number) => `$${n.toFixed(2)}`;

export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso.endsWith("Z") || iso.includes("+") ? iso : `${iso.replace(" ", "T")}Z`);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** Who decided, for people: API keys, review-link names, the review policy, a timeout. */
export function decider(by: string | null | undefined): string {
  if (!by) return "";
  if (by.startsWith("review:")) return `${by.slice(7)} (review link)`;
  if (by.startsWith("key:")) return "API key";
  if (by === "review-policy") return "automatic (review policy)";
  if (by === "timeout") return "timeout";
  return by;
}
