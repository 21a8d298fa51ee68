/**
 * The media service (docs/contracts.md, "Media service"): a Hono app on @hono/node-server.
 *
 *   GET  /health    → { ok, ffmpeg }
 *   POST /jobs/:id  → runs (or replays) a crop / reframe / stitch / probe job
 *   GET  /jobs/:id  → a finished job's answer, or { status: "running" }
 *
 * Run it with `npm run media` (tsx) or `node --experimental-strip-types container/server.ts`.
 * Env: MEDIA_PORT (8788), MEDIA_HOST (127.0.0.1; 0.0.0.0 in the container image),
 * MEDIA_STATE_DIR (.atelier/media), MEDIA_CONCURRENCY (2), FFMPEG_PATH / FFPROBE_PATH.
 */
import { realpathSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorMessage } from "./errors.ts";
import { ffmpegVersion } from "./ffmpeg.ts";
import { executeJob } from "./handlers.ts";
import { putAnswer } from "./io.ts";
import { JobRegistry } from "./jobs.ts";
import { fingerprint, parseJob } from "./schema.ts";
import type { MediaJobAnswer, MediaJobOutput } from "../src/domain/media-jobs.ts";

export interface MediaServiceOptions {
  port?: number;
  host?: string;
  stateDir?: string;
  concurrency?: number;
  log?: (line: string) => void;
}

export interface MediaService {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_ID = 256;

export function createApp(registry: JobRegistry, log: (line: string) => void = () => {}): Hono {
  const app = new Hono();

  app.get("/health", async (c) => {
    try {
      return c.json({ ok: true, ffmpeg: await ffmpegVersion() });
    } catch (err) {
      return c.json({ ok: false, error: errorMessage(err) }, 503);
    }
  });

  app.post("/jobs/:id", bodyLimit({ maxSize: 1024 * 1024, onError: (c) => c.json({ error: "body is larger than 1 MB" }, 413) }), async (c) => {
    const id = c.req.param("id");
    if (id.length > MAX_ID || [...id].some((ch) => ch.charCodeAt(0) < 0x20)) {
      return c.json({ id, status: "invalid", field: "id", error: `id: must be 1-${MAX_ID} printable characters` }, 400);
    }
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return c.json({ id, status: "invalid", field: "body", error: "body: not valid JSON" }, 400);
    }
    const parsed = parseJob(body);
    if ("invalid" in parsed) {
      return c.json({ id, status: "invalid", field: parsed.invalid.field, error: parsed.invalid.error }, 400);
    }
    const { job } = parsed;
    if (job.id !== undefined && job.id !== id) {
      return c.json({ id, status: "invalid", field: "id", error: `id: the body says "${job.id}" but the URL says "${id}"` }, 400);
    }
    log(`job ${id}: ${job.kind}`);
    const answer = await registry.submit(id, fingerprint(job), async () => {
      const result = await executeJob(id, job);
      // After the outputs, before the reply: once the Worker can see the answer, the job is done
      // wherever it is asked about next (another instance, a redelivery after a lost reply).
      const done: MediaJobAnswer = { id, status: "done", result: result as MediaJobOutput };
      if (job.answer) await putAnswer(job.answer, done);
      return result;
    });
    return c.json(answer.body, answer.httpStatus);
  });

  app.get("/jobs/:id", async (c) => {
    const id = c.req.param("id");
    const state = await registry.status(id);
    if (!state) return c.json({ id, status: "unknown", error: "no finished or running job with this id" }, 404);
    return c.json(state.body, state.httpStatus);
  });

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((err, c) => {
    log(`internal error: ${err.stack ?? err.message}`);
    return c.json({ status: "error", error: err.message }, 500);
  });
  return app;
}

export async function startMediaService(opts: MediaServiceOptions = {}): Promise<MediaService> {
  const port = opts.port ?? Number(process.env.MEDIA_PORT ?? 8788);
  const host = opts.host ?? process.env.MEDIA_HOST ?? "127.0.0.1";
  const stateDir = opts.stateDir ?? process.env.MEDIA_STATE_DIR ?? ".atelier/media";
  const concurrency = opts.concurrency ?? Number(process.env.MEDIA_CONCURRENCY ?? 2);
  const log = opts.log ?? (() => {});
  const registry = new JobRegistry({ stateDir, concurrency, log });
  const app = createApp(registry, log);

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(s as Server)) as Server;
    s.once("error", reject);
  });
  // Stitch jobs can run for minutes on one request: never time the request out server-side.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  const actualPort = (server.address() as AddressInfo).port;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${actualPort}`,
    port: actualPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  // A bug in one job must not take down the others; log it and keep serving.
  process.on("unhandledRejection", (err) => log(`unhandled rejection: ${errorMessage(err)}`));
  process.on("uncaughtException", (err) => log(`uncaught exception: ${err.stack ?? err.message}`));
  startMediaService({ log })
    .then(async (svc) => {
      log(`media service listening on ${svc.url} (ffmpeg: ${await ffmpegVersion().catch((e: unknown) => `unavailable: ${errorMessage(e)}`)})`);
      const stop = () => {
        log("shutting down");
        void svc.close().then(() => process.exit(0));
        setTimeout(() => process.exit(0), 5_000).unref();
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    })
    .catch((err: unknown) => {
      console.error(`media service failed to start: ${errorMessage(err)}`);
      process.exit(1);
    });
}
