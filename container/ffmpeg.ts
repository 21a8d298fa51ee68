/** The FFmpeg version for /health; locating and running the tools is common/ffmpeg.ts. */
import { runTool } from "../common/ffmpeg.ts";

let versionLine: Promise<string> | undefined;

/** First line of `ffmpeg -version`, cached (for /health). */
export function ffmpegVersion(): Promise<string> {
  versionLine ??= runTool("ffmpeg", ["-hide_banner", "-version"], { timeoutMs: 10_000 }).then(({ stdout }) => stdout.toString("utf8").split("\n")[0]!.trim());
  versionLine.catch(() => {
    versionLine = undefined; // retry on the next health check
  });
  return versionLine;
}
