/** The reel: player with its poster, and downloads. */
import type { Asset } from "../types.ts";
import { byIds, versionsOf } from "./shared.tsx";

export function ReelView({ assets, ids }: { assets: Asset[]; ids?: string[] }) {
  const chosen = byIds(assets, ids);
  const reels = versionsOf(assets, "reel");
  const reel = chosen.find((a) => a.kind === "reel") ?? reels[reels.length - 1];
  const poster = chosen.find((a) => a.kind === "poster") ?? versionsOf(assets, "poster").find((p) => p.version === reel?.version);
  if (!reel) return <p class="empty">No reel yet.</p>;
  return (
    <div class="reel">
      {/* biome-ignore lint/a11y/useMediaCaption: the reel is silent (clips are generated without audio): there is nothing to caption */}
      <video class="main" src={reel.url} poster={poster?.url} controls playsInline preload="metadata" aria-label={`Reel v${reel.version}`} />
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
