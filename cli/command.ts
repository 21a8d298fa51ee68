/** What a command is (its words, arguments, options, help) and the help text made from it. */
import type { ExitCode } from "./exit.ts";

export interface Option {
  type: "string" | "boolean";
  /** The value's placeholder in the help, e.g. `DIR`. */
  value?: string;
  help: string;
}

type Values<O extends Record<string, Option>> = { [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string };

export interface Command<O extends Record<string, Option> = Record<string, Option>> {
  /** The words that call it: `batch submit`. */
  name: string;
  /** Required arguments, in order, as the help names them. */
  args: string[];
  summary: string;
  /** More help, shown under the usage line. */
  details?: string[];
  options: O;
  run(args: string[], options: Values<O>): Promise<ExitCode>;
}

/** Declares a command with its options' types kept for `run`. */
export const command = <const O extends Record<string, Option>>(c: Command<O>): Command => c as unknown as Command;

export function commandHelp(c: Command): string {
  const options = Object.entries(c.options).map(([name, o]) => [`--${name}${o.value ? ` ${o.value}` : ""}`, o.help]);
  options.push(["-h, --help", "Show this help"]);
  const width = Math.max(...options.map(([flag]) => flag.length));
  return [
    `Usage: atelier ${c.name}${c.args.map((a) => ` ${a}`).join("")} [options]`,
    "",
    c.summary,
    ...(c.details?.length ? ["", ...c.details] : []),
    "",
    "Options:",
    ...options.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`),
  ].join("\n");
}
