/**
 * `atelier`: the command line for catalogue batches. Finds the command its words name, parses its
 * options, runs it, and turns what went wrong into an exit code a script can trust.
 */
import { parseArgs } from "node:util";
import * as batch from "./commands/batch.ts";
import * as recipes from "./commands/recipes.ts";
import * as shoots from "./commands/shoots.ts";
import { type Command, commandHelp } from "./command.ts";
import { CliError, EXIT, type ExitCode, usageError } from "./exit.ts";
import { note, out } from "./output.ts";

const COMMANDS: Command[] = [batch.submit, batch.status, batch.report, batch.retry, shoots.list, recipes.list, recipes.create];

function help(commands = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length + c.args.join(" ").length + 1));
  return [
    "Usage: atelier <command> [options]      (atelier <command> --help for its options)",
    "",
    "Commands:",
    ...commands.map((c) => `  ${`${c.name} ${c.args.join(" ")}`.padEnd(width)}  ${c.summary}`),
    "",
    "Environment:",
    "  ATELIER_URL   the service, e.g. http://localhost:8787",
    "  ATELIER_KEY   an API key (sent as a bearer token)",
    "",
    "Exit codes:",
    "  0  done",
    "  1  the batch ended with shoots that did not complete (failed, cancelled, expired, dead or held)",
    "  2  usage or configuration error: nothing was sent",
    "  3  the request was refused (4xx): fix the input (a sheet's problems are named by row)",
    "  4  the service failed (5xx) or could not be reached: trying again may work",
  ].join("\n");
}

async function main(argv: string[]): Promise<ExitCode> {
  // `atelier help batch submit` is `atelier batch submit --help`.
  if (argv[0] === "help") argv = [...argv.slice(1), "--help"];
  const firstOption = argv.findIndex((a) => a.startsWith("-"));
  const words = firstOption === -1 ? argv : argv.slice(0, firstOption);
  const cmd = COMMANDS.find((c) => c.name === words.slice(0, 2).join(" "));
  if (!cmd) {
    // `atelier`, `atelier --help`, `atelier batch`: the commands (of that group).
    const group = COMMANDS.filter((c) => c.name.startsWith(`${words[0]} `));
    const asked = argv.length === 0 || argv.includes("--help") || argv.includes("-h");
    if ((asked && (group.length || !words.length)) || (group.length && argv.length === 1)) {
      out(help(group.length ? group : COMMANDS));
      return EXIT.ok;
    }
    if (group.length && words.length === 1) throw usageError(`atelier ${words[0]} takes a command: ${group.map((c) => c.name).join(", ")}`);
    throw usageError(`unknown command "${words.join(" ") || argv[0]}"; see atelier --help`);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv.slice(2),
      options: { ...Object.fromEntries(Object.entries(cmd.options).map(([k, o]) => [k, { type: o.type }])), help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    });
  } catch (err) {
    throw usageError(`${(err as Error).message}; see atelier ${cmd.name} --help`);
  }
  if (parsed.values.help) {
    out(commandHelp(cmd));
    return EXIT.ok;
  }
  if (parsed.positionals.length !== cmd.args.length) {
    throw usageError(`atelier ${cmd.name} takes ${cmd.args.join(" ") || "no arguments"}; see atelier ${cmd.name} --help`);
  }
  return cmd.run(parsed.positionals, parsed.values as never);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      note(`atelier: ${err.message}`);
      process.exitCode = err.code;
    } else {
      note(`atelier: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = EXIT.unavailable;
    }
  },
);
