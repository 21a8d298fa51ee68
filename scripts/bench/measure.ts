/**
 * Runs a command and measures its wall time and the peak memory of its whole process tree (the
 * command and every FFmpeg it starts), sampled from /proc every 50 ms.
 *
 * Memory is PSS (proportional set size, /proc/<pid>/smaps_rollup): a page shared by several
 * processes (FFmpeg's libraries, loaded by the encoder and every decoder) counts once in the sum,
 * as it does in the machine's memory. The plain sum of RSS, which counts those pages once per
 * process, is reported beside it.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface Measured {
  ms: number;
  /** Peak of the tree's summed PSS. */
  peakMb: number;
  /** Peak of the tree's summed RSS (shared pages counted once per process). */
  peakRssMb: number;
  /** The single process with the highest PSS at any sample, and that peak. */
  largest: { command: string; mb: number };
  stdout: string;
}

function children(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = map.get(ppid) ?? [];
      list.push(Number(entry));
      map.set(ppid, list);
    } catch {
      /* process ended */
    }
  }
  return map;
}

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

interface Sample {
  pssKb: number;
  rssKb: number;
  processes: Array<{ pid: number; pssKb: number }>;
}

function sampleTree(root: number): Sample {
  const kids = children();
  const sample: Sample = { pssKb: 0, rssKb: 0, processes: [] };
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const pss = field(rollup, "Pss");
      sample.pssKb += pss;
      sample.rssKb += field(rollup, "Rss");
      sample.processes.push({ pid, pssKb: pss });
    } catch {
      /* gone */
    }
    stack.push(...(kids.get(pid) ?? []));
  }
  return sample;
}

function commandOf(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const name = argv[0]?.split("/").pop() ?? "?";
    // For FFmpeg, say whether it is the encoder (reads a pipe, writes libx264) or a decoder.
    if (name === "ffmpeg") return argv.includes("libx264") ? "ffmpeg (x264 encoder)" : "ffmpeg (decoder)";
    return name;
  } catch {
    return "?";
  }
}

export function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let peak = 0;
    let peakRss = 0;
    const largest = { command: "", kb: 0 };
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setInterval(() => {
      const s = sampleTree(child.pid!);
      peak = Math.max(peak, s.pssKb);
      peakRss = Math.max(peakRss, s.rssKb);
      for (const p of s.processes) {
        if (p.pssKb > largest.kb) Object.assign(largest, { kb: p.pssKb, command: commandOf(p.pid) });
      }
    }, 50);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`));
      resolve({
        ms: performance.now() - started,
        peakMb: peak / 1024,
        peakRssMb: peakRss / 1024,
        largest: { command: largest.command, mb: largest.kb / 1024 },
        stdout,
      });
    });
  });
}
