/**
 * Locates ffmpeg/ffprobe and runs them (and any other program: runProcess), for the media service,
 * the simulator, the benchmarks and the tests. Always spawns with argument arrays (never a shell), so
 * URLs and file names from job bodies can never become commands.
 *
 * Lookup order: FFMPEG_PATH / FFPROBE_PATH, then `ffmpeg` / `ffprobe` on PATH (Debian's package in
 * the Docker image, the system binary in development), then the static binaries shipped by
 * @ffmpeg-installer/@ffprobe-installer (FFmpeg 4.1, dev-only fallback: no xfade, so we never use it).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

export type Tool = "ffmpeg" | "ffprobe";

const cache = new Map<Tool, string>();

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function fromPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function fromInstaller(tool: Tool): string | undefined {
  try {
    // The installers are CommonJS devDependencies; absent in the production image, hence try/catch.
    const require = createRequire(import.meta.url);
    const mod = require(tool === "ffmpeg" ? "@ffmpeg-installer/ffmpeg" : "@ffprobe-installer/ffprobe") as { path?: string };
    return mod.path && isExecutable(mod.path) ? mod.path : undefined;
  } catch {
    return undefined;
  }
}

/** Absolute path of the tool, or throws an error that says how to fix it. */
export function toolPath(tool: Tool): string {
  const cached = cache.get(tool);
  if (cached) return cached;
  const override = process.env[tool === "ffmpeg" ? "FFMPEG_PATH" : "FFPROBE_PATH"];
  const found = override || fromPath(tool) || fromInstaller(tool);
  if (!found) {
    throw new Error(`${tool} not found: install FFmpeg (apt-get install ffmpeg), or set ${tool === "ffmpeg" ? "FFMPEG_PATH" : "FFPROBE_PATH"}`);
  }
  cache.set(tool, found);
  return found;
}

export const ffmpegPath = (): string => toolPath("ffmpeg");
export const ffprobePath = (): string => toolPath("ffprobe");

/** Failure of a finished ffmpeg/ffprobe process, with the useful tail of stderr. */
export class ToolError extends Error {
  // Plain fields, not parameter properties: Node's type stripping (used in the image) rejects those.
  readonly code: number | null;
  readonly stderr: string;
  constructor(message: string, code: number | null, stderr: string) {
    super(message);
    this.name = "ToolError";
    this.code = code;
    this.stderr = stderr;
  }
}

/** Last meaningful stderr lines: ffmpeg prints the actual reason at the end. */
export function stderrTail(stderr: string, lines = 4): string {
  return stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(" | ");
}

export interface RunOptions {
  input?: Buffer;
  timeoutMs?: number;
  maxStdoutBytes?: number;
  /** Kills the process (SIGKILL) and rejects when aborted. */
  signal?: AbortSignal;
}

/**
 * Runs a program to completion and collects its output (for small outputs: probes, version,
 * posters, one-shot encodes). Rejects with a ToolError naming `label` (default: the program's
 * file name) on a non-zero exit, a timeout or an abort.
 */
export function runProcess(bin: string, args: string[], opts: RunOptions & { label?: string } = {}): Promise<{ stdout: Buffer; stderr: string }> {
  const label = opts.label ?? path.basename(bin);
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new ToolError(`${label} aborted`, null, ""));
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
      reject(err);
      return;
    }
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = "";
    const max = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          child.kill("SIGKILL");
          reject(new ToolError(`${label} timed out after ${opts.timeoutMs} ms`, null, stderr));
        }, opts.timeoutMs)
      : undefined;
    const abort = () => {
      child.kill("SIGKILL");
      reject(new ToolError(`${label} aborted`, null, stderr));
    };
    opts.signal?.addEventListener("abort", abort, { once: true });
    const settle = () => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", abort);
    };
    child.stdout?.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > max) {
        child.kill("SIGKILL");
        return;
      }
      out.push(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      // Keep only the tail: ffmpeg can be chatty and only the end explains a failure.
      stderr = (stderr + chunk.toString("utf8")).slice(-16_384);
    });
    child.stdin?.on("error", () => {}); // EPIPE when the tool exits before reading all input
    child.on("error", (err) => {
      settle();
      reject(err);
    });
    child.on("close", (code, signal) => {
      settle();
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else
        reject(new ToolError(`${label} ${signal && code === null ? `killed by ${signal}` : `exited with code ${code}`}: ${stderrTail(stderr)}`, code, stderr));
    });
    if (opts.input) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs ffmpeg or ffprobe to completion (see runProcess). */
export function runTool(tool: Tool, args: string[], opts: RunOptions = {}): Promise<{ stdout: Buffer; stderr: string }> {
  let bin: string;
  try {
    bin = toolPath(tool);
  } catch (err) {
    return Promise.reject(err);
  }
  return runProcess(bin, args, { ...opts, label: tool });
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves when the process exits with 0, rejects with a ToolError otherwise. */
  done: Promise<void>;
  stderr: () => string;
  kill: () => void;
}

/** Starts a long-running tool whose stdin/stdout the caller streams (decoders, the reel encoder). */
export function spawnTool(tool: Tool, args: string[], stdin: "pipe" | "ignore" = "ignore"): Spawned {
  const child = spawn(toolPath(tool), args, { stdio: [stdin, "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-16_384);
  });
  child.stdout!.on("error", () => {});
  child.stdin?.on("error", () => {}); // surfaced through `done` instead
  let exited = false;
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", (err) => {
      exited = true;
      reject(err);
    });
    child.on("close", (code, signal) => {
      exited = true;
      if (code === 0) resolve();
      else reject(new ToolError(`${tool} ${signal ? `killed by ${signal}` : `exited with code ${code}`}: ${stderrTail(stderr)}`, code, stderr));
    });
  });
  done.catch(() => {}); // callers await it when they care; never an unhandled rejection
  return {
    child,
    done,
    stderr: () => stderr,
    kill: () => {
      if (!exited) child.kill("SIGKILL");
    },
  };
}
