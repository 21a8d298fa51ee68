/**
 * A shoot's live events. EventSource cannot send a bearer header, so this reads the SSE stream with
 * fetch and reconnects itself, sending Last-Event-ID so no event is missed or repeated.
 */
import { apiKey } from "./api.ts";
import { isFinalEvent } from "./contract.ts";

export interface LiveEvent {
  id: number;
  type: string;
  data: unknown;
}

export function followShoot(shootId: string, onEvent: (e: LiveEvent) => void, onState?: (s: "live" | "reconnecting") => void): () => void {
  const ctrl = new AbortController();
  let lastId = 0;
  let delay = 500;
  (async () => {
    while (!ctrl.signal.aborted) {
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${apiKey.value}`, accept: "text/event-stream" };
        if (lastId) headers["last-event-id"] = String(lastId);
        const res = await fetch(`/api/shoots/${encodeURIComponent(shootId)}/events`, { headers, signal: ctrl.signal });
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        onState?.("live");
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          for (let cut = buf.indexOf("\n\n"); cut >= 0; cut = buf.indexOf("\n\n")) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const ev = parse(block);
            if (ev) {
              lastId = ev.id || lastId;
              onEvent(ev);
              if (isFinalEvent(ev.type)) return;
            }
          }
        }
      } catch {
        if (ctrl.signal.aborted) return;
      }
      onState?.("reconnecting");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
  return () => ctrl.abort();
}

function parse(block: string): LiveEvent | null {
  let id = 0;
  let type = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "id") id = Number(value) || 0;
    else if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return { id, type, data: JSON.parse(data.join("\n")) };
  } catch {
    return { id, type, data: data.join("\n") };
  }
}
