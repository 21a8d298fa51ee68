/**
 * Exit codes a script can trust (listed in `atelier --help`), and the error that carries one to
 * main.ts, which prints its message on stderr and exits with its code.
 */
export const EXIT = {
  ok: 0,
  /** The batch ended with shoots that did not complete. */
  failures: 1,
  /** Bad arguments or missing configuration: nothing was sent. */
  usage: 2,
  /** The API refused the request (4xx): the input needs fixing. */
  refused: 3,
  /** The API failed (5xx) or could not be reached: trying again may work. */
  unavailable: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(EXIT.usage, message);
