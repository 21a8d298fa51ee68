/**
 * The provider simulator: one Node server speaking FAL's queue API (/fal), Kling's API (/kling)
 * and Anthropic's Messages API (/anthropic), serving generated media (/files), reference photos
 * (/photos) and test hooks (/__sim). `npm run sim` runs it on 127.0.0.1:8790; tests call startSim({ port: 0 }).
 */
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { ZodError } from "zod";
import { anthropicRoutes } from "./anthropic.ts";
import { configFromEnv, type SimConfig } from "./config.ts";
import type { SimContext } from "./context.ts";
import { falRoutes } from "./fal.ts";
import { DriftLog } from "./drift.ts";
import { FaultInjector, defaultFaults } from "./faults.ts";
import { FileStore } from "./files.ts";
import { loadOrCreateSigningKey } from "./keys.ts";
import { klingRoutes } from "./kling.ts";
import { photoHost, type PhotoHost } from "./photos.ts";
import { RequestLog } from "./requests.ts";
import { JobStore, publicJob } from "./state.ts";
import { WebhookSender } from "./webhooks.ts";

export interface StartSimOptions {
  /** 0 picks a free port. Defaults to SIM_PORT or 8790. */
  port?: number;
  host?: string;
  /** Base for URLs handed out (status_url, files); defaults to the listening address. */
  publicUrl?: string;
  /** Keypair and generated files; defaults to SIM_STATE_DIR or .atelier/sim. */
  stateDir?: string;
  quiet?: boolean;
  /** Overrides for anything else in SimConfig (tests shorten clips, retries, delays). */
  config?: Partial<SimConfig>;
}

/** The simulator's stores, as the request handlers see them, plus test controls. */
export interface SimState extends Pick<SimContext, "config" | "jobs" | "faults" | "drift" | "anthropicRequests" | "files" | "webhooks" | "signingKey"> {
  /** Reference photos at /photos and their request counts. */
  photos: PhotoHost;
  /** Forgets all jobs, stops pending deliveries, restores default faults, zeroes photo counts. */
  reset(): void;
  /** Resolves once no webhook or callback is being delivered. */
  idle(): Promise<void>;
}

export interface SimHandle {
  url: string;
  close(): Promise<void>;
  state: SimState;
}

export function createApp(ctx: SimContext, state: SimState): Hono {
  const app = new Hono();

  app.get("/", (c) =>
    c.json({
      name: "atelier provider simulator",
      fal: `${ctx.baseUrl()}/fal`,
      kling: `${ctx.baseUrl()}/kling`,
      anthropic: `${ctx.baseUrl()}/anthropic`,
      jwks: `${ctx.baseUrl()}/fal/.well-known/jwks.json`,
    }),
  );
  app.get("/health", (c) => c.json({ ok: true }));

  app.route("/fal", falRoutes(ctx));
  app.route("/kling", klingRoutes(ctx));
  app.route("/anthropic", anthropicRoutes(ctx));
  app.route("/photos", state.photos.routes);

  app.on(["GET", "HEAD"], "/files/:name", (c) => ctx.files.respond(c.req.param("name"), c.req.method, c.req.header("range")));

  app.get("/__sim/faults", (c) => c.json(ctx.faults.get()));
  app.get("/__sim/faults/counts", (c) => c.json(ctx.faults.counts));
  app.post("/__sim/faults", async (c) => {
    let patch: unknown;
    try {
      patch = await c.req.json();
    } catch {
      return c.json({ error: "body must be JSON" }, 400);
    }
    try {
      const faults = ctx.faults.merge(patch);
      ctx.log(`faults now ${JSON.stringify(faults)}`);
      return c.json(faults);
    } catch (err) {
      if (err instanceof ZodError) return c.json({ error: "invalid faults", issues: err.issues }, 400);
      throw err;
    }
  });
  app.get("/__sim/drift", (c) => c.json({ config: ctx.faults.get().drift, injected: ctx.drift.all() }));
  app.get("/__sim/photos/requests", (c) => c.json(state.photos.requests()));
  app.get("/__sim/anthropic/requests", (c) => c.json({ requests: ctx.anthropicRequests.all() }));
  app.get("/__sim/jobs", (c) => c.json({ jobs: ctx.jobs.list().map(publicJob) }));
  app.get("/__sim/concurrency", (c) => c.json(ctx.jobs.concurrency()));
  app.get("/__sim/jobs/:id", (c) => {
    const job = ctx.jobs.get(c.req.param("id"));
    return job ? c.json({ ...publicJob(job), output: job.output ?? null }) : c.json({ error: "not found" }, 404);
  });
  app.post("/__sim/reset", (c) => {
    state.reset();
    ctx.log("reset");
    return c.json({ ok: true });
  });

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((err, c) => {
    ctx.log(`error on ${c.req.method} ${new URL(c.req.url).pathname}: ${err.message}`);
    return c.json({ error: "internal error", message: err.message }, 500);
  });
  return app;
}

export async function startSim(opts: StartSimOptions = {}): Promise<SimHandle> {
  const env = configFromEnv();
  const config: SimConfig = {
    ...env,
    ...opts.config,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
    ...(opts.stateDir !== undefined ? { stateDir: path.resolve(opts.stateDir) } : {}),
    ...(opts.quiet !== undefined ? { quiet: opts.quiet } : {}),
  };
  const log = (m: string) => {
    if (!config.quiet) console.log(`[sim] ${m}`);
  };
  const signingKey = await loadOrCreateSigningKey(config.stateDir);
  const files = new FileStore(path.join(config.stateDir, "files"));
  await files.init();
  const faults = new FaultInjector({
    ...defaultFaults({ imageDelayMs: config.imageDelayMs, clipDelayMs: config.clipDelayMs, clipMinMs: config.clipMinMs }),
    ...config.faults,
  });
  const jobs = new JobStore();
  const drift = new DriftLog();
  const anthropicRequests = new RequestLog();
  const webhooks = new WebhookSender({
    retrySeconds: config.webhookRetrySeconds,
    backoffMs: config.webhookBackoffMs,
    maxBackoffMs: config.webhookMaxBackoffMs,
    faults,
    log,
    userAgent: "atelier-sim/1.0",
  });

  let base = "";
  let generation = 0;
  let running = new AbortController();
  const inflight = new Set<Promise<unknown>>();
  const stores = { config, jobs, faults, drift, anthropicRequests, files, webhooks, signingKey };
  const ctx: SimContext = {
    ...stores,
    baseUrl: () => base,
    log,
    generation: () => generation,
    signal: () => running.signal,
    track: (job) => {
      const p = job.catch((err) => log(`job crashed: ${(err as Error).message}`));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    },
  };
  const photos = photoHost();
  const state: SimState = {
    ...stores,
    photos,
    reset() {
      generation++;
      running.abort();
      running = new AbortController();
      webhooks.cancelAll();
      jobs.clear();
      faults.reset();
      drift.clear();
      anthropicRequests.clear();
      photos.reset();
    },
    idle: () => webhooks.idle(),
  };

  const app = createApp(ctx, state);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once("error", reject);
  });
  // Providers sit behind load balancers that keep idle connections for a minute or more. Node's 5 s
  // default closes a pooled connection just as the Worker reuses it, and a POST lost that way is
  // an error no real provider would cause.
  (server as { keepAliveTimeout?: number }).keepAliveTimeout = 65_000;
  (server as { headersTimeout?: number }).headersTimeout = 66_000;
  const { port } = server.address() as AddressInfo;
  const listenHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = `http://${listenHost}:${port}`;
  base = (config.publicUrl ?? url).replace(/\/+$/, "");

  return {
    url,
    state,
    close: async () => {
      generation++;
      running.abort();
      webhooks.cancelAll();
      // Let aborted jobs finish their cleanup (temp folders, killed FFmpeg) before we return.
      await Promise.allSettled([...inflight]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  const sim = await startSim();
  console.log(`[sim] provider simulator listening on ${sim.url} (FAL /fal, Kling /kling, Anthropic /anthropic, files /files, photos /photos)`);
  console.log(`[sim] state in ${sim.state.config.stateDir}; JWKS at ${sim.url}/fal/.well-known/jwks.json`);
  const stop = async () => {
    await sim.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
