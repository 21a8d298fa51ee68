/** The reel: player with its poster, and downloads. */
import { useRef } from "preact/hooks";
import type { Asset } from "../types.ts";
import { byIds, versionsOf } from "./shared.tsx";
import { type Finding, type Mark, MomentTools } from "./quality.tsx";

export function ReelView({
  assets,
  ids,
  findings,
  onMark,
}: {
  assets: Asset[];
  ids?: string[];
  /** At the reel checkpoint: what the checks flagged on the reel, and the way to mark a moment. */
  findings?: (assetId: string) => Finding[];
  onMark?: (m: Mark) => void;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const chosen = byIds(assets, ids);
  const reels = versionsOf(assets, "reel");
  const reel = chosen.find((a) => a.kind === "reel") ?? reels[reels.length - 1];
  const poster = chosen.find((a) => a.kind === "poster") ?? versionsOf(assets, "poster").find((p) => p.version === reel?.version);
  if (!reel) return <p class="empty">No reel yet.</p>;
  return (
    <div class="reel">
      {/* biome-ignore lint/a11y/useMediaCaption: the reel is silent (clips are generated without audio): there is nothing to caption */}
      <video
        ref={video}
        class="main"
        data-asset={reel.id}
        src={reel.url}
        poster={poster?.url}
        controls
        playsInline
        preload="metadata"
        aria-label={`Reel v${reel.version}`}
      />
      {findings && (
        <MomentTools
          asset={reel}
          findings={findings(reel.id)}
          video={() => video.current}
          onMark={onMark && ((timeRange) => onMark({ asset: reel.id, timeRange, reason: "" }))}
        />
      )}
      <div class="row">
        <a class="button" href={reel.url} download={`reel-v${reel.version}.mp4`}>
          Download reel
        </a>
        {poster && (
          <a class="button" href={poster.url} download={`poster-v${poster.version}.jpg`}>
            Download poster
          </a>
        )}
        {reel.duration && (
          <span class="hint">
            {reel.duration.toFixed(2)} s · {Math.round(reel.bytes / 1024)} KB
          </span>
        )}
      </div>
    </div>
  );
}
