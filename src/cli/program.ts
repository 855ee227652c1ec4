import { Command, CommanderError, Option } from "commander";
import { EventStoreError } from "../../client/errors.ts";
import { addSettingOptions, settingFlags, settingsHelp } from "../config.ts";
import { completionCommand } from "./completion.ts";
import { consumersCommand } from "./consumers.ts";
import { type CliIO, DEFAULT_CLI_URL, TOKEN_ENV_VAR } from "./context.ts";
import { eventsCommand } from "./events.ts";
import { healthCommand } from "./health.ts";
import { OUTPUT_FORMATS } from "./output.ts";
import { publishCommand } from "./publish.ts";
import { topicsCommand } from "./topics.ts";
import { UsageError } from "./usage-error.ts";

export interface CliDeps extends CliIO {
  version: string;
  /** Runs the server with the given setting flags until it stops; resolves with the exit code. */
  serve(flags: Map<string, string>): Promise<number>;
}

/** Exit codes: 0 success, 1 an API (or network) error, 2 a usage error. */
export const EXIT_OK = 0;
export const EXIT_API_ERROR = 1;
export const EXIT_USAGE = 2;

/**
 * The `event-store` command tree. `serve` is the default command, so the
 * bare binary (and every server flag) runs the server as before; the other
 * commands are a client of a running server, built on EventStoreClient.
 */
export function createProgram(deps: CliDeps, onServeExit: (code: number) => void): Command {
  const program = new Command("event-store")
    .description("A single-binary event store: the server (default) and a command-line client")
    .version(deps.version, "-v, --version", "Print the version and exit")
    .helpOption("-h, --help", "Print this help and exit")
    .addOption(new Option("--url <url>", `server URL (default: $EVENT_STORE_BASE_URL, else ${DEFAULT_CLI_URL})`))
    .addOption(new Option("--token <token>", `bearer token (default: $${TOKEN_ENV_VAR})`))
    .addOption(new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("table"))
    .addHelpText("after", `\n${settingsHelp("Server options (event-store [serve] [options]); each can also be set by the environment variable shown, a flag wins:")}`);

  const serve = addSettingOptions(new Command("serve").description("Run the server (the default command)")).action(async (_options, command: Command) => {
    onServeExit(await deps.serve(settingFlags(command)));
  });
  program.addCommand(serve, { isDefault: true });
  program.addCommand(healthCommand(deps));
  program.addCommand(topicsCommand(deps));
  program.addCommand(publishCommand(deps));
  program.addCommand(eventsCommand(deps));
  program.addCommand(consumersCommand(deps));
  program.addCommand(completionCommand(deps, () => program));
  configureTree(program, deps);
  return program;
}

/** Every command throws instead of exiting, writes through `io`, and shows setting values as `<value>`. */
function configureTree(command: Command, io: CliIO): void {
  command
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .configureHelp({ optionTerm: (option) => option.flags.replace("[value]", "<value>"), sortSubcommands: false });
  for (const child of command.commands) configureTree(child, io);
}

/** Runs one command line; resolves with the exit code. Errors other than usage and API errors are thrown (main.ts reports them). */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  let exitCode = EXIT_OK;
  const program = createProgram(deps, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help" ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      deps.stderr(`event-store: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof EventStoreError) {
      const body = error.body as { error?: unknown; code?: unknown } | undefined;
      const shown = body !== null && typeof body === "object" && typeof body.error === "string" ? body : { error: error.message, code: error.code };
      deps.stderr(`${JSON.stringify(shown)}\n`);
      return EXIT_API_ERROR;
    }
    throw error;
  }
}
