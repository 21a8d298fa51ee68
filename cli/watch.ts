/** Following a batch until it completes, and what its end means for the exit code. */
import { ok, type Api, type Schemas } from "./api.ts";
import { CliError, EXIT, type ExitCode } from "./exit.ts";
import { usd } from "./format.ts";
import type { Progress } from "./progress.ts";

type BatchStatus = Schemas["BatchStatus"];

/** Polls the batch every `everyMs` until its status is `completed`, reporting each answer. */
export async function watchBatch(api: Api, id: string, progress: Progress, everyMs = 2000): Promise<BatchStatus> {
  let blips = 0;
  // Ctrl-C stops the watching, not the batch: say so, and how to look again.
  const stop = () => {
    progress.end();
    process.stderr.write(`stopped watching; the batch goes on: atelier batch status ${id}\n`);
    process.exit(130);
  };
  process.once("SIGINT", stop);
  try {
    for (;;) {
      const status = await ok(api.GET("/api/batches/{id}", { params: { path: { id } } })).catch((err: unknown) => {
        // A network blip or a 5xx during a long watch is not the batch failing: give up after a minute of them.
        if (err instanceof CliError && err.code === EXIT.unavailable && ++blips < 30) return null;
        throw err;
      });
      if (status) {
        blips = 0;
        progress.update(status);
        if (status.status === "completed") return status;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  } finally {
    process.off("SIGINT", stop);
    progress.end();
  }
}

/** The rows that did not complete, one line each (SKU, row, state, reason), and the exit code. */
export function outcome(status: BatchStatus): { lines: string[]; code: ExitCode } {
  const failed = status.shoots.filter((s) => s.state !== "completed");
  if (!failed.length) return { lines: [`every shoot completed (${status.total}), cost ${usd(status.costUsd)}`], code: EXIT.ok };
  return {
    lines: [
      `${failed.length} of ${status.total} shoots did not complete (cost so far ${usd(status.costUsd)}):`,
      ...failed.map((s) => `  ${s.sku ?? s.id} (row ${s.index + 1}): ${s.state}${s.stage ? ` at ${s.stage}` : ""}${s.error ? ` — ${s.error}` : ""}`),
      `retry them with: atelier batch retry ${status.id}`,
    ],
    code: EXIT.failures,
  };
}
