/**
 * Where output goes: stdout carries the result (an id, a table, a report) for a script or a file;
 * stderr carries what a person watches (progress, notes, errors).
 */
import { once } from "node:events";

export const out = (text: string) => process.stdout.write(`${text}\n`);
export const note = (text: string) => process.stderr.write(`${text}\n`);
export const json = (value: unknown) => out(JSON.stringify(value, null, 2));

/** Copies a response body to stdout as it arrives, waiting when a slow reader (a pipe) is full. */
export async function streamOut(body: ReadableStream<Uint8Array>) {
  for await (const chunk of body) if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
}
