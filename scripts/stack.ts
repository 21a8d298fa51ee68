/**
 * The local stack: `wrangler dev` (Worker, Workflows, Queues, D1, R2), two media service processes
 * (the local stand-in for the container pool: the Worker spreads media jobs over them) and the
 * provider simulator, each its own process group so it can be stopped (or SIGKILLed, in the
 * durability tests) and started again on the same persisted state.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..");
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** The media pool's local processes, each with its own port and state directory. */
export const MEDIA_PROCESSES = ["media-1", "media-2"] as const;
export type MediaProcess = (typeof MEDIA_PROCESSES)[number];
/** One process of the stack. */
export type ProcessName = "worker" | "sim" | MediaProcess;
/** A process, or "media": every media process at once (the whole pool down, as with one service before). */
export type ServiceName = ProcessName | "media";

function processes(names: ServiceName[]): ProcessName[] {
  return [...new Set(names.flatMap((n) => (n === "media" ? [...MEDIA_PROCESSES] : [n])))];
}

export interface StackOptions {
  /** Where D1/R2/Workflow state, the dev key and service state live. */
  stateDir: string;
  /** `media` is the first media process; the second listens on `media2` (default: worker + 3). */
  ports: { worker: number; media: number; sim: number; media2?: number };
  /** Run against the simulator (default) or real providers configured in .dev.vars. */
  simulate: boolean;
  /** Extra Worker vars, e.g. shorter timeouts in tests. */
  vars?: Record<string, string>;
  /** Extra environment for the simulator, e.g. shorter clips in tests. */
  simEnv?: Record<string, string>;
  log?: (name: ProcessName, line: string) => void;
  /** Pass log lines on unredacted (tests that check no secret reaches a log line need the raw lines). */
  rawLogs?: boolean;
  /** How often to fire the Worker's cron trigger (wrangler dev does not fire crons itself). */
  cronEveryMs?: number;
}

export interface DevIdentity {
  accountId: string;
  apiKey: string;
  signingSecret: string;
}

export class Stack {
  readonly procs = new Map<ProcessName, ChildProcess>();
  identity!: DevIdentity;
  private cron?: NodeJS.Timeout;
  constructor(readonly opts: StackOptions) {}

  get url() {
    return `http://127.0.0.1:${this.opts.ports.worker}`;
  }
  get simUrl() {
    return `http://127.0.0.1:${this.opts.ports.sim}`;
  }
  /** The first media process (the pool's URLs are `mediaUrls`). */
  get mediaUrl() {
    return this.mediaUrlOf("media-1");
  }
  get mediaUrls() {
    return MEDIA_PROCESSES.map((p) => this.mediaUrlOf(p));
  }
  mediaUrlOf(name: MediaProcess) {
    const { ports } = this.opts;
    return `http://127.0.0.1:${name === "media-1" ? ports.media : (ports.media2 ?? ports.worker + 3)}`;
  }

  /** Builds the UI if it has never been built, applies migrations and makes sure the local account and API key exist. */
  prepare(): DevIdentity {
    const { stateDir } = this.opts;
    // wrangler dev refuses to start without the assets directory (a fresh clone running a bench or chaos first).
    if (!existsSync(path.join(ROOT, "web/dist/index.html"))) {
      const built = spawnSync("npm", ["run", "build:web"], { cwd: ROOT, stdio: "inherit" });
      if (built.status !== 0) throw new Error("npm run build:web failed");
    }
    mkdirSync(stateDir, { recursive: true });
    wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", this.persistDir]);
    const file = path.join(stateDir, "dev-identity.json");
    let id: DevIdentity | null = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null;
    if (!id) {
      id = {
        accountId: `acct_local_${randomBytes(4).toString("hex")}`,
        apiKey: `atl_${randomBytes(24).toString("base64url")}`,
        signingSecret: randomBytes(32).toString("base64url"),
      };
      writeFileSync(file, JSON.stringify(id, null, 2), { mode: 0o600 });
    }
    const hash = createHash("sha256").update(id.apiKey).digest("hex");
    // Idempotent: a restart keeps the same account and key.
    wrangler([
      "d1",
      "execute",
      "DB",
      "--local",
      "--persist-to",
      this.persistDir,
      "--command",
      `INSERT OR IGNORE INTO accounts (id, name) VALUES ('${id.accountId}', 'Local studio'); ` +
        `INSERT OR IGNORE INTO api_keys (id, account_id, name, key_hash, prefix) VALUES ('key_${id.accountId}', '${id.accountId}', 'local', '${hash}', '${id.apiKey.slice(0, 8)}');`,
    ]);
    this.identity = id;
    return id;
  }

  get persistDir() {
    return path.join(this.opts.stateDir, "wrangler");
  }

  async start(names: ServiceName[] = ["sim", "media", "worker"]): Promise<void> {
    const procs = processes(names);
    for (const name of procs) this.spawn(name);
    await Promise.all(procs.map((n) => this.waitHealthy(n)));
    // Production fires the watchdog cron every minute; locally we fire it ourselves.
    this.cron ??= setInterval(() => {
      if (!this.procs.has("worker")) return;
      fetch(`${this.url}/__scheduled?cron=*+*+*+*+*`, { signal: AbortSignal.timeout(30_000) }).catch(() => undefined);
    }, this.opts.cronEveryMs ?? 60_000);
    this.cron.unref();
  }

  private spawn(name: ProcessName) {
    const { ports, stateDir } = this.opts;
    const node = process.execPath;
    let args: string[];
    let env: NodeJS.ProcessEnv = { ...process.env };
    if (name === "sim") {
      args = ["--import", "tsx", "sim/server.ts"];
      env = { ...env, SIM_PORT: String(ports.sim), SIM_STATE_DIR: path.join(stateDir, "sim"), ...this.opts.simEnv };
    } else if (name !== "worker") {
      args = ["--import", "tsx", "container/server.ts"];
      // The first keeps the single service's state directory, so an existing .atelier/dev still replays its jobs.
      const dir = name === "media-1" ? "media" : name;
      env = { ...env, MEDIA_PORT: new URL(this.mediaUrlOf(name)).port, MEDIA_STATE_DIR: path.join(stateDir, dir) };
    } else {
      args = [
        WRANGLER,
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(ports.worker),
        "--persist-to",
        this.persistDir,
        "--show-interactive-dev-session=false",
        "--inspector-port",
        "0",
        "--test-scheduled",
        ...varArgs(this.workerVars()),
      ];
    }
    const child = spawn(node, args, { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const log = this.opts.log;
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        for (const line of chunk.split("\n")) if (line.trim()) log?.(name, this.opts.rawLogs ? line : redact(line, this.identity));
      });
    }
    // In production the media service is a container on a machine of its own; here it yields the CPU
    // to the Worker runtime (its FFmpeg children inherit this), so the API and the workflows stay
    // responsive while a reel encodes. The simulator keeps its priority: it answers the Worker's
    // submits and task reads, and sends the webhooks whose arrival bench:batch measures from.
    if (name !== "worker" && child.pid) {
      try {
        os.setPriority(child.pid, 10);
      } catch {
        /* not permitted here: run at the same priority */
      }
    }
    this.procs.set(name, child);
  }

  /** The Worker's vars: local URLs for the media service, and the simulator unless real keys are used. */
  private workerVars(): Record<string, string> {
    const sim = this.simUrl;
    return {
      PUBLIC_URL: this.url,
      MEDIA_SERVICE_URL: this.mediaUrls.join(","),
      SIGNING_SECRET: this.identity.signingSecret,
      ...(this.opts.simulate
        ? {
            FAL_KEY: "sim-fal-key",
            FAL_QUEUE_URL: `${sim}/fal`,
            FAL_JWKS_URL: `${sim}/fal/.well-known/jwks.json`,
            KLING_BASE_URL: `${sim}/kling`,
            KLING_ACCESS_KEY: "sim-access",
            KLING_SECRET_KEY: "sim-secret",
            ANTHROPIC_BASE_URL: `${sim}/anthropic`,
            ANTHROPIC_API_KEY: "sim-anthropic-key",
          }
        : {}),
      ...this.opts.vars,
    };
  }

  async waitHealthy(name: ProcessName, timeoutMs = 120_000): Promise<void> {
    const url = name === "worker" ? `${this.url}/api/health` : name === "sim" ? `${this.simUrl}/__sim/faults` : `${this.mediaUrlOf(name)}/health`;
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      const child = this.procs.get(name);
      if (child && child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`${name} did not become healthy within ${timeoutMs / 1000}s`);
  }

  /** Kills a service's whole process group (wrangler and its workerd children alike); "media" kills every media process. */
  async kill(name: ServiceName, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (name === "media") {
      await Promise.all(MEDIA_PROCESSES.map((n) => this.kill(n, signal)));
      return;
    }
    const child = this.procs.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* already gone */
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    this.procs.delete(name);
  }

  async restart(names: ServiceName[]): Promise<void> {
    for (const n of names) await this.kill(n, "SIGKILL");
    await this.start(names);
  }

  async stop(): Promise<void> {
    clearInterval(this.cron);
    await Promise.all([...this.procs.keys()].map((n) => this.kill(n, "SIGTERM")));
    await Promise.all([...this.procs.keys()].map((n) => this.kill(n, "SIGKILL")));
  }
}

/** Runs the project's wrangler CLI to completion (non-interactive), for the stack and `npm run keys`. */
export function runWrangler(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [WRANGLER, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "true" } });
}

function wrangler(args: string[]) {
  const res = runWrangler(args);
  if (res.status !== 0) throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed:\n${res.stdout}\n${res.stderr}`);
}

function varArgs(vars: Record<string, string>): string[] {
  return Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
}

/** Keeps the dev key and signing secret out of logs. */
function redact(line: string, id?: DevIdentity): string {
  if (!id) return line;
  return line.split(id.apiKey).join("atl_***").split(id.signingSecret).join("***");
}

/** True when .dev.vars holds real provider keys: then the simulator is not used. */
export function hasRealKeys(): boolean {
  const file = path.join(ROOT, ".dev.vars");
  return existsSync(file) && /^\s*FAL_KEY\s*=\s*\S+/m.test(readFileSync(file, "utf8"));
}
