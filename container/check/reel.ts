/**
 * Reel sanity (issue 19): the duration against the expected one, and black or frozen stretches,
 * found by FFmpeg's `blackdetect` and `freezedetect` in one decode of a reduced copy (160 px wide:
 * black and frozen are properties of the whole picture, and the small copy decodes the same frames).
 */
import type { Finding } from "../../src/domain/findings.ts";
import { runTool } from "../../common/ffmpeg.ts";
import { InputError, errorMessage } from "../errors.ts";
import { probeVideo } from "../probe.ts";
import * as P from "./params.ts";

export interface ReelSpec {
  input: string;
  expectedSeconds?: number;
  maxBlackSeconds: number;
  maxFrozenSeconds: number;
}

export interface Stretch {
  from: number;
  to: number;
}

/** Black and frozen stretches at least as long as the given minimums, from FFmpeg's own log lines. */
export async function detectStretches(file: string, label: string, minBlack: number, minFrozen: number): Promise<{ black: Stretch[]; frozen: Stretch[] }> {
  // FFmpeg refuses a zero duration; a stretch must last at least one frame anyway.
  const black = Math.max(0.02, minBlack);
  const frozen = Math.max(0.02, minFrozen);
  let stderr: string;
  try {
    ({ stderr } = await runTool(
      "ffmpeg",
      [
        "-hide_banner",
        "-nostats",
        "-nostdin",
        "-v",
        "info",
        "-i",
        file,
        "-an",
        "-vf",
        `scale=160:-2:flags=area,blackdetect=d=${black}:pix_th=0.10:pic_th=0.98,freezedetect=n=0.003:d=${frozen}`,
        "-f",
        "null",
        "-",
      ],
      { timeoutMs: 600_000 },
    ));
  } catch (err) {
    throw new InputError(`${label} could not be decoded (${errorMessage(err)}); stitch it again`);
  }
  const blacks: Stretch[] = [];
  for (const m of stderr.matchAll(/black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)/g)) blacks.push({ from: Number(m[1]), to: Number(m[2]) });
  const frozens: Stretch[] = [];
  let open: number | undefined;
  for (const m of stderr.matchAll(/freezedetect\.freeze_(start|end):\s*([\d.]+)/g)) {
    if (m[1] === "start") open = Number(m[2]);
    else if (open !== undefined) {
      frozens.push({ from: open, to: Number(m[2]) });
      open = undefined;
    }
  }
  // A freeze still open at the end of the reel ends with it.
  if (open !== undefined) frozens.push({ from: open, to: Number.NaN });
  return { black: blacks, frozen: frozens };
}

const r2 = (v: number) => Number(v.toFixed(2));

export async function checkReel(spec: ReelSpec, file: string, findings: Finding[]): Promise<void> {
  const label = `reel "${spec.input}"`;
  const info = await probeVideo(file, label);
  const duration = info.duration ?? (info.packets && info.fps ? info.packets / info.fps : 0);
  const { black, frozen } = await detectStretches(file, label, spec.maxBlackSeconds, spec.maxFrozenSeconds);
  const before = findings.length;
  if (spec.expectedSeconds !== undefined) {
    const off = Math.abs(duration - spec.expectedSeconds);
    const tolerance = Math.max(P.REEL_DURATION_TOLERANCE.seconds, spec.expectedSeconds * P.REEL_DURATION_TOLERANCE.share);
    if (off > tolerance) {
      findings.push({
        asset: spec.input,
        check: "reel-sanity",
        verdict: "flag",
        score: r2(off),
        threshold: r2(tolerance),
        reason: `the reel runs ${duration.toFixed(2)} s, ${off.toFixed(2)} s ${duration < spec.expectedSeconds ? "short of" : "over"} the expected ${spec.expectedSeconds.toFixed(2)} s`,
      });
    }
  }
  for (const b of black) {
    const len = b.to - b.from;
    findings.push({
      asset: spec.input,
      check: "reel-sanity",
      verdict: "flag",
      score: r2(len),
      threshold: spec.maxBlackSeconds,
      timeRange: { from: r2(b.from), to: r2(b.to) },
      reason: `the reel is black for ${len.toFixed(2)} s at ${b.from.toFixed(2)} s (up to ${spec.maxBlackSeconds} s is expected)`,
    });
  }
  for (const f of frozen) {
    const to = Number.isFinite(f.to) ? f.to : duration;
    const len = to - f.from;
    findings.push({
      asset: spec.input,
      check: "reel-sanity",
      verdict: "flag",
      score: r2(len),
      threshold: spec.maxFrozenSeconds,
      timeRange: { from: r2(f.from), to: r2(Math.max(f.from, to)) },
      reason: `the picture freezes for ${len.toFixed(2)} s at ${f.from.toFixed(2)} s (holds up to ${spec.maxFrozenSeconds} s are expected)`,
    });
  }
  if (findings.length === before) {
    findings.push({
      asset: spec.input,
      check: "reel-sanity",
      verdict: "pass",
      score: spec.expectedSeconds !== undefined ? r2(Math.abs(duration - spec.expectedSeconds)) : 0,
      threshold:
        spec.expectedSeconds !== undefined ? r2(Math.max(P.REEL_DURATION_TOLERANCE.seconds, spec.expectedSeconds * P.REEL_DURATION_TOLERANCE.share)) : 0,
      reason: `the reel runs ${duration.toFixed(2)} s${spec.expectedSeconds !== undefined ? ` (expected ${spec.expectedSeconds.toFixed(2)} s)` : ""} with no black or frozen stretch`,
    });
  }
}
