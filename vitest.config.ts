import { createServer } from "node:net";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Three projects: `worker` runs inside workerd (the Worker, the Workflow, D1, R2, Queues),
// `node` runs the media service and the simulator as plain Node, `e2e` drives the whole stack
// (wrangler dev + media service + simulator) as separate processes.
/** A port nothing listens on now, so parallel test runs on one machine do not collide. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export default defineConfig(async () => {
  // wrangler.jsonc serves the built UI from web/dist; the worker suite needs the folder, not the build.
  mkdirSync(path.join(import.meta.dirname, "web/dist"), { recursive: true });
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  // The worker project's provider simulator (tests/worker/global-setup.ts) listens here.
  process.env.ATELIER_WORKER_TEST_SIM_PORT ??= String(await freePort());
  const simUrl = `http://127.0.0.1:${process.env.ATELIER_WORKER_TEST_SIM_PORT}`;
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.jsonc" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  SIGNING_SECRET: "test-signing-secret",
                  PUBLIC_URL: "http://atelier.test",
                  FAL_KEY: "test-fal-key",
                  KLING_ACCESS_KEY: "test-access",
                  KLING_SECRET_KEY: "test-secret",
                  FAL_QUEUE_URL: `${simUrl}/fal`,
                  ALLOWED_ORIGINS: "https://studio.example",
                  // Catalogue intake fetches photos the simulator serves on 127.0.0.1 (loopback only;
                  // private and link-local addresses stay refused).
                  REFERENCE_FETCH_ALLOW_LOOPBACK: "true",
                  REFERENCE_FETCH_TIMEOUT: "2 seconds",
                  // Batch tests park hundreds of shoots at once; the room-to-run window has its own test.
                  BATCH_RUNNING_MAX: "0",
                },
              },
            }),
          ],
          test: {
            name: "worker",
            include: ["tests/worker/**/*.test.ts"],
            // The five-checkpoint workflow tests take 5-6 s on a loaded machine (vitest's default is 5 s).
            testTimeout: 30_000,
            setupFiles: ["./tests/worker/setup.ts"],
            globalSetup: ["./tests/worker/global-setup.ts"],
          },
        },
        {
          test: {
            name: "node",
            include: ["tests/node/**/*.test.ts"],
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
        {
          test: {
            name: "e2e",
            include: ["tests/e2e/**/*.test.ts"],
            testTimeout: 900_000,
            hookTimeout: 300_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
