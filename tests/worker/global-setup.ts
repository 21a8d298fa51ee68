/**
 * Runs in Node before the workerd tests: the provider simulator, on the port vitest.config.ts gave
 * the Worker as its FAL base URL, so jobs that are polled (the workflow's fallback, the watchdog) go
 * over real HTTP to a FAL-speaking server. It cannot deliver webhooks into the in-process Worker, so
 * it drops them, as a lost webhook would be.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startSim } from "../../sim/server.ts";

export default async function setup() {
  const port = Number(process.env.ATELIER_WORKER_TEST_SIM_PORT);
  if (!port) throw new Error("vitest.config.ts sets ATELIER_WORKER_TEST_SIM_PORT for the worker project");
  const stateDir = mkdtempSync(path.join(tmpdir(), "atelier-worker-sim-"));
  const sim = await startSim({ port, host: "127.0.0.1", stateDir, quiet: true, config: { imageDelayMs: 0, falKey: "test-fal-key" } });
  sim.state.faults.merge({ dropWebhooks: true });
  return async () => {
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  };
}
