#!/usr/bin/env bun
import { runCli } from "./cli/program.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { DataDirLockedError } from "./fs/data-dir-lock.ts";
import { DirectoryNotWritableError, ensureWritableDirectory } from "./fs/writable-directory.ts";
import { type Logger, createLogger } from "./logging/logger.ts";
import { createProcessMetrics } from "./metrics/store-metrics.ts";
import { startServer } from "./server.ts";
import { VERSION } from "./version.ts";

/**
 * Entry of the binary: the only place that reads the environment and argv,
 * listens and handles signals. `event-store` alone (or `serve`) runs the
 * server; the other commands are the CLI client (src/cli/).
 */
async function main(argv: string[]): Promise<number> {
  return runCli(argv, {
    version: VERSION,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: () => Bun.stdin.stream(),
    stderrIsTTY: process.stderr.isTTY === true,
    env: process.env,
    serve: (flags) => serve(loadConfig(process.env, flags)),
  });
}

async function serve(config: Config): Promise<number> {
  const logger = createLogger({ format: config.logFormat, level: config.logLevel });
  const cluster = config.natsUrls.length > 0;
  if (config.eventLog === "file" && !cluster) {
    ensureWritableDirectory(config.dataDir, "DATA_DIR");
    ensureWritableDirectory(config.configDir, "CONFIG_DIR");
  }
  const server = await startServer(config, {
    ...(config.metricsEnabled ? { processMetrics: createProcessMetrics() } : {}),
    report: (message) => logger.warn(message),
    reportError: (error) => logger.error("unexpected error", { error: describe(error), stack: (error as Error)?.stack }),
  });
  // Handlers first: whoever reads the line below may signal at once.
  const stopped = untilSignal(server, logger);
  // Tools (and the test harness) read the URL from this line: keep `listening on <url> ` in it.
  const where = cluster
    ? `cluster mode: JetStream at ${config.natsUrls.join(",")}, prefix ${config.natsPrefix}, R${config.natsReplicas}`
    : config.eventLog === "file" ? `data: ${config.dataDir}, config: ${config.configDir}` : "EVENT_LOG=memory: nothing survives a restart";
  logger.info(`event-store ${VERSION} listening on ${server.url} (${where})`, {
    url: server.url,
    version: VERSION,
  });
  return stopped;
}

function untilSignal(server: { stop(): Promise<void> }, logger: Logger): Promise<number> {
  const { promise: stopped, resolve } = Promise.withResolvers<number>();
  const shutdown = (signal: string) => {
    logger.info(`${signal}: finishing in-flight requests and flushing`, { signal });
    server.stop().then(
      () => resolve(0),
      (error) => {
        logger.error("shutdown failed", { error: describe(error) });
        resolve(1);
      },
    );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  return stopped;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`event-store: ${startupMessage(error)}`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);

function describe(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

function startupMessage(error: unknown): string {
  if (error instanceof ConfigError || error instanceof DirectoryNotWritableError || error instanceof DataDirLockedError) return error.message;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "EADDRINUSE") return `port is already in use (${(error as Error).message})`;
  if (code === "EACCES" || code === "EROFS" || code === "EPERM") return `cannot write to a data or config directory: ${(error as Error).message}`;
  return (error as Error)?.message ?? String(error);
}
