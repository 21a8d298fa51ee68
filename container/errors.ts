/**
 * A problem with what the job was given (corrupt clip, undecodable image, grid not found).
 * The service answers 422 with the message, so it must tell a reviewer what to do; anything else
 * thrown by a job is an internal fault (500) that the queue retries.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

export function isInputError(err: unknown): err is InputError {
  return err instanceof InputError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
