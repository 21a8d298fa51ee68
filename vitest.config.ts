import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Three projects: `worker` runs inside workerd (the Worker, the Workflow, D1, R2, Queues),
// `node` runs the media service and the simulator as plain Node, `e2e` drives the whole stack
// (wrangler dev + media service + simulator) as separate processes.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
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
                },
              },
            }),
          ],
          test: {
            name: "worker",
            include: ["tests/worker/**/*.test.ts"],
            // The revise test walks twelve checkpoints: 5-6.3 s at load 14 on the shared 2-core machine.
            testTimeout: 20_000,
            setupFiles: ["./tests/worker/setup.ts"],
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
