/** The outbound webhook events an account can subscribe to: one definition for the API and the sender. */
export const WEBHOOK_EVENTS = ["checkpoint.pending", "shoot.completed", "shoot.failed", "batch.completed", "pack.ready", "pack.failed"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The JSON body of every delivery (and what is signed). */
export interface WebhookPayload {
  type: WebhookEvent;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: Record<string, unknown>;
}

export interface DeliveryMessage {
  deliveryId: string;
}
