import type { Command } from "commander";
import { EventStoreClient } from "../../client/event-store-client.ts";
import type { OutputFormat } from "./output.ts";

/** Where the CLI's bytes go and come from; main.ts passes the process's, tests their own. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Standard input, for schemas and NDJSON read from `-`. */
  stdin: () => ReadableStream<Uint8Array>;
  /** Whether stderr is a terminal: the progress bar is drawn only then. */
  stderrIsTTY: boolean;
  /** The environment: EVENT_STORE_BASE_URL, EVENT_STORE_TOKEN. */
  env: Record<string, string | undefined>;
}

/** The server the CLI talks to when neither --url nor EVENT_STORE_BASE_URL says. @default "http://localhost:8000" */
export const DEFAULT_CLI_URL = "http://localhost:8000";
/** Variable holding the bearer token when --token is not given. */
export const TOKEN_ENV_VAR = "EVENT_STORE_TOKEN";

export interface GlobalOptions {
  url?: string;
  token?: string;
  output: OutputFormat;
}

export interface CliContext {
  io: CliIO;
  output: OutputFormat;
  client: EventStoreClient;
}

/** The context of a command from the global options (`--url`, `--token`, `--output`). */
export function contextOf(command: Command, io: CliIO): CliContext {
  const options = command.optsWithGlobals() as GlobalOptions;
  const token = options.token ?? io.env[TOKEN_ENV_VAR];
  const client = new EventStoreClient({
    baseUrl: options.url ?? io.env.EVENT_STORE_BASE_URL ?? DEFAULT_CLI_URL,
    // A person waits at the terminal: fail fast on a server that is down, retry a little on 5xx.
    retries: 2,
    retryDelay: 200,
    ...(token === undefined ? {} : { token }),
  });
  return { io, output: options.output, client };
}
