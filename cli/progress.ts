/**
 * A batch's progress while it is watched: on a terminal one bar redrawn in place; in a log or a
 * pipe, a plain line each time the counts change (not one per poll).
 */
import type { Schemas } from "./api.ts";
import { countsLine, usd } from "./format.ts";

type BatchStatus = Schemas["BatchStatus"];

/** Row states that will not change without a person (a retry, a higher budget). */
const SETTLED = { completed: true, failed: true, cancelled: true, expired: true, dead: true, held: true } satisfies Record<
  Schemas["FinalShootStatus"] | "dead" | "held",
  true
>;
const isSettled = (state: string) => Object.hasOwn(SETTLED, state);

export interface Progress {
  update(status: BatchStatus): void;
  /** Leaves the terminal on a fresh line. */
  end(): void;
}

export function progressOn(stream: NodeJS.WriteStream): Progress {
  return stream.isTTY ? bar(stream) : lines(stream);
}

const settledCount = (s: BatchStatus) => Object.entries(s.counts.byState).reduce((n, [state, k]) => n + (isSettled(state) ? k : 0), 0);

function lines(stream: NodeJS.WriteStream): Progress {
  let last = "";
  return {
    update(s) {
      const counts = countsLine(s.counts.byState);
      if (counts === last) return;
      last = counts;
      stream.write(`${settledCount(s)}/${s.total} done · ${counts} · ${usd(s.costUsd)}\n`);
    },
    end() {},
  };
}

function bar(stream: NodeJS.WriteStream, width = 24): Progress {
  let drawn = false;
  return {
    update(s) {
      const done = settledCount(s);
      const filled = s.total ? Math.round((done / s.total) * width) : width;
      const line = `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${s.total} · ${countsLine(s.counts.byState)} · ${usd(s.costUsd)}`;
      // Cut to the terminal's width: a wrapped line cannot be redrawn with \r.
      stream.write(`\r${line.slice(0, (stream.columns || 80) - 1)}\x1b[K`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write("\n");
      drawn = false;
    },
  };
}
