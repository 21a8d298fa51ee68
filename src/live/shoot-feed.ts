/**
 * ShootFeed: one Durable Object per shoot that serves its live events (Server-Sent Events) to every
 * open tab. One loop reads the shoot's new events from D1 once a second while anyone listens and
 * writes them to each listener from where that listener is, so D1 reads per shoot stay at one a
 * second however many tabs are open (issue 21). The Worker's route checks the key and that the shoot
 * is the account's before it hands the request here.
 */
import { DurableObject } from "cloudflare:workers";
import { db } from "../db/client.ts";
import { eventsSince } from "../db/events.ts";
import { isFinalEvent } from "../domain/events.ts";
import { metered } from "../meter.ts";

/** A stream ends after this; clients reconnect with Last-Event-ID. */
const STREAM_MS = 10 * 60_000;
const POLL_MS = 1000;
/** A comment line after this many idle polls keeps proxies from closing the stream. */
const KEEP_ALIVE_POLLS = 15;
/** Writes a tab may have unread before it is dropped (it reconnects with Last-Event-ID). */
const MAX_BEHIND = 1000;

/** One timeline event as a Server-Sent Event: its id, its type as the event name, a `ShootEvent` as data. */
export function sseEvent(e: { id: number; type: string; data: unknown; createdAt: string }): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ type: e.type, data: e.data, at: e.createdAt })}\n\n`;
}

interface Listener {
  after: number;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  until: number;
}

export interface FeedStats {
  listeners: number;
  /** D1 reads since the object started (the cost test compares it with the listeners served). */
  reads: number;
}

export class ShootFeed extends DurableObject<Env> {
  private readonly listeners = new Set<Listener>();
  private shootId = "";
  private loop: Promise<void> | null = null;
  private reads = 0;
  private readonly encoder = new TextEncoder();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, metered(env));
  }

  /** `GET /?shoot=<id>&after=<event id>`: an event stream from after that id. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    this.shootId = url.searchParams.get("shoot") ?? this.shootId;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const listener: Listener = { after: Number(url.searchParams.get("after")) || 0, writer: writable.getWriter(), until: Date.now() + STREAM_MS };
    this.listeners.add(listener);
    // A tab that goes away closes its side; the next write fails and drops it, this frees it sooner.
    request.signal?.addEventListener("abort", () => this.drop(listener));
    this.loop ??= this.run().finally(() => {
      this.loop = null;
    });
    return new Response(readable, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" } });
  }

  stats(): FeedStats {
    return { listeners: this.listeners.size, reads: this.reads };
  }

  private async run(): Promise<void> {
    let idle = 0;
    while (this.listeners.size > 0) {
      const from = Math.min(...[...this.listeners].map((l) => l.after));
      let batch: Awaited<ReturnType<typeof eventsSince>> = [];
      try {
        this.reads++;
        batch = await eventsSince(db(this.env.DB), this.shootId, from);
      } catch (err) {
        console.warn(JSON.stringify({ msg: "live feed read failed", shoot: this.shootId, error: String(err) }));
      }
      idle = batch.length ? 0 : idle + 1;
      for (const l of [...this.listeners]) {
        let ended = false;
        for (const e of batch.filter((e) => e.id > l.after)) {
          this.send(l, sseEvent(e));
          l.after = e.id;
          ended = isFinalEvent(e.type);
          if (ended) break;
        }
        if (ended || Date.now() >= l.until) this.drop(l);
        else if (idle > 0 && idle % KEEP_ALIVE_POLLS === 0) this.send(l, ": keep-alive\n\n");
      }
      if (this.listeners.size > 0) await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Writes without waiting, so one slow tab never holds up the others; one far behind is dropped. */
  private send(l: Listener, text: string) {
    if ((l.writer.desiredSize ?? 0) < -MAX_BEHIND) return this.drop(l);
    l.writer.write(this.encoder.encode(text)).catch(() => this.drop(l)); // the tab went away
  }

  private drop(l: Listener) {
    if (!this.listeners.delete(l)) return;
    l.writer.close().catch(() => undefined);
  }
}
