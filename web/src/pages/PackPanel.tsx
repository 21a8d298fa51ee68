/**
 * A completed shoot's channel pack (issue 20): every video format playing side by side with its
 * pixel size and upscale factor (a warning past 1.5×), the stills per marketplace, a download per
 * channel; and the form that asks for a pack, choosing channels from the default set.
 */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, client, downloadWithKey, ok, okAs } from "../api.ts";
import type { Pack, PackChannel, PackRequest } from "../types.ts";
import { ChannelChecks, useDefaultChannels } from "./ChannelChecks.tsx";

export function PackPanel({ shootId, completed, changes }: { shootId: string; completed: boolean; changes: number }) {
  const [pack, setPack] = useState<Pack | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  // `changes` moves with the shoot's timeline (pack.started, pack.ready…): read the pack again.
  useEffect(() => {
    okAs<Pack>(client.GET("/api/shoots/{id}/pack", { params: { path: { id: shootId } } })).then(
      (p) => setPack(p),
      (e: ApiError) => (e.status === 404 ? setPack(null) : setError(e.message)),
    );
  }, [shootId, changes]);
  // A completed shoot's live stream has ended, so a pack made after it is followed by polling.
  const running = pack?.status === "running";
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => {
      okAs<Pack>(client.GET("/api/shoots/{id}/pack", { params: { path: { id: shootId } } })).then(setPack, () => {});
    }, 2000);
    return () => clearInterval(timer);
  }, [shootId, running]);

  if (pack === undefined && !error) return null;
  if (pack === null && !completed) return null;
  return (
    <section class="panel" aria-labelledby="pack-title">
      <h2 id="pack-title">Channel pack{pack ? ` v${pack.version}` : ""}</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {pack?.status === "running" && (
        <p class="working" role="status">
          Reframing for {pack.channels.map((c) => c.label).join(", ")}…
        </p>
      )}
      {pack?.status === "failed" && (
        <p role="alert" class="error">
          The pack failed: {pack.error}
        </p>
      )}
      {pack?.status === "ready" && <PackFormats shootId={shootId} pack={pack} />}
      {completed && pack?.status !== "running" && <PackForm shootId={shootId} again={!!pack} onStarted={setPack} />}
    </section>
  );
}

function PackFormats({ shootId, pack }: { shootId: string; pack: Pack }) {
  const videos = pack.channels.filter((c) => c.media === "video");
  const stills = pack.channels.filter((c) => c.media === "still");
  return (
    <>
      {videos.length > 0 && (
        <ul class="pack-videos" aria-label="Video formats">
          {videos.map((c) => (
            <li key={c.name}>
              <figure>
                <video
                  src={c.files[0]?.url}
                  style={{ aspectRatio: `${c.width} / ${c.height}` }}
                  autoPlay
                  muted
                  loop
                  playsInline
                  controls
                  aria-label={`${c.label}, ${c.width} × ${c.height}`}
                />
                <ChannelCaption shootId={shootId} channel={c} />
              </figure>
            </li>
          ))}
        </ul>
      )}
      {stills.length > 0 && (
        <ul class="pack-stills" aria-label="Still formats">
          {stills.map((c) => (
            <li key={c.name}>
              <figure>
                <div class="pack-thumbs">
                  {c.files.map((f) => (
                    <img key={f.asset} src={f.url} alt={`${c.label}: ${f.source}`} style={{ aspectRatio: `${c.width} / ${c.height}` }} loading="lazy" />
                  ))}
                </div>
                <ChannelCaption shootId={shootId} channel={c} />
              </figure>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function ChannelCaption({ shootId, channel: c }: { shootId: string; channel: PackChannel }) {
  const [state, setState] = useState<string | null>(null);
  const format = c.media === "video" ? `${c.format.toUpperCase()} H.264` : c.format.toUpperCase();
  return (
    <figcaption>
      <strong>{c.label}</strong>
      <span class="hint">
        {c.width} × {c.height} · {format} · {c.files.length} {c.files.length === 1 ? "file" : "files"}
        {c.upscale ? ` · upscaled ${c.upscale.toFixed(2)}×` : ""}
        {c.files.some((f) => f.filled) ? " · filled" : ""}
      </span>
      {c.warning && <span class="warn">⚠ {c.warning}</span>}
      <button
        type="button"
        onClick={() => {
          setState("Preparing…");
          downloadWithKey(c.download, `${shootId}-${c.name}.zip`).then(
            () => setState(null),
            (e: Error) => setState(e.message),
          );
        }}
      >
        Download {c.label}
      </button>
      {state && <span role="status">{state}</span>}
    </figcaption>
  );
}

function PackForm({ shootId, again, onStarted }: { shootId: string; again: boolean; onStarted: (p: Pack) => void }) {
  const { channels, error: loadError } = useDefaultChannels();
  const [chosen, setChosen] = useState<Set<string> | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Every default channel, until the producer unticks some.
  const picked = chosen ?? new Set(channels.map((c) => c.name));
  const form = (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        setError(null);
        ok(client.POST("/api/shoots/{id}/packs", { params: { path: { id: shootId } }, body: { channels: [...picked] as PackRequest["channels"] } })).then(
          (p) => onStarted(p as Pack),
          (e: ApiError) => setError(e.message),
        );
      }}
    >
      <ChannelChecks legend="Channels" channels={channels} chosen={picked} onChange={setChosen} />
      <button type="submit" class="primary" disabled={picked.size === 0}>
        {again ? "Make a new pack" : "Make channel pack"}
      </button>
      {(error ?? loadError) && (
        <p role="alert" class="error">
          {error ?? loadError}
        </p>
      )}
    </form>
  );
  return again ? (
    <details>
      <summary>Make another pack</summary>
      {form}
    </details>
  ) : (
    form
  );
}
