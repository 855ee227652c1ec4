#!/usr/bin/env bun
import { ConfigError, helpText, loadConfig } from "./config.ts";
import { DataDirLockedError } from "./fs/data-dir-lock.ts";
import { DirectoryNotWritableError, ensureWritableDirectory } from "./fs/writable-directory.ts";
import { startServer } from "./server.ts";
import { VERSION } from "./version.ts";

/** CLI entry: the only place that reads the environment and argv, listens and handles signals. */
async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(helpText());
    return 0;
  }
  if (argv.includes("--version") || argv.includes("-v")) {
    console.log(VERSION);
    return 0;
  }
  const config = loadConfig(process.env, argv);
  if (config.eventLog === "file") {
    ensureWritableDirectory(config.dataDir, "DATA_DIR");
    ensureWritableDirectory(config.configDir, "CONFIG_DIR");
  }
  const server = await startServer(config);
  const where = config.eventLog === "file" ? `data: ${config.dataDir}, config: ${config.configDir}` : "EVENT_LOG=memory: nothing survives a restart";
  console.log(`event-store ${VERSION} listening on ${server.url} (${where})`);

  const { promise: stopped, resolve } = Promise.withResolvers<number>();
  const shutdown = (signal: string) => {
    console.log(`${signal}: finishing in-flight requests and flushing`);
    server.stop().then(
      () => resolve(0),
      (error) => {
        console.error("shutdown failed:", error);
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

function startupMessage(error: unknown): string {
  if (error instanceof ConfigError || error instanceof DirectoryNotWritableError || error instanceof DataDirLockedError) return error.message;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "EADDRINUSE") return `port is already in use (${(error as Error).message})`;
  if (code === "EACCES" || code === "EROFS" || code === "EPERM") return `cannot write to a data or config directory: ${(error as Error).message}`;
  return (error as Error)?.message ?? String(error);
}
