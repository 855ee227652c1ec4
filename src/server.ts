import type { Config } from "./config.ts";
import { type EventStore, type OpenEventStoreOptions, openEventStore } from "./event-store.ts";

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, flushes the log. */
  stop(): Promise<void>;
}

/** Storage, clocks, `fetch`, DNS, error reporting and process metrics; see OpenEventStoreOptions. */
export type StartServerOptions = Omit<OpenEventStoreOptions, "app" | "deliver">;

/**
 * Opens the store (`openEventStore`) and serves it over HTTP. With the
 * file backend the data and config directories are locked to this process
 * until `stop()`.
 */
export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const shutdown = new AbortController();
  let listening: Listening | undefined;
  const store = await openEventStore(config, {
    ...options,
    app: { shutdownSignal: shutdown.signal, clientAddress: (request) => listening?.server.requestIP(request)?.address },
  });
  try {
    listening = listen(store.app, {
      port: config.port,
      hostname: config.host,
      // Bodies are counted by the JSON body parser, which answers 413 in the API's format
      // at any declared size and reads none of it; Bun's own limit (an empty 413) must never
      // be the one that answers.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      idleTimeout: 120,
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const { server, release } = listening;
  const port = server.port ?? config.port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  let stopping: Promise<void> | null = null;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    stop() {
      stopping ??= (async () => {
        const drained = server.stop();
        shutdown.abort();
        await drained;
        await store.close();
        release();
      })();
      return stopping;
    },
  };
}

type Server = ReturnType<typeof Bun.serve>;

interface Listening {
  server: Server;
  /** Drops what `listen` left on the process; call once the server has stopped. */
  release(): void;
}

/**
 * Serves the app through Elysia's `listen`, which registers every route with
 * Bun's native router, so a request is not matched again by the app's own
 * fetch handler (about 6 % more batch throughput, median of 6 paired runs). `listen` also
 * adds a process "beforeExit" listener that holds the app; `release` removes
 * it, so a process that starts many stores (a test suite) does not keep each
 * one alive.
 */
function listen(app: EventStore["app"], options: { port: number; hostname: string; maxRequestBodySize: number; idleTimeout: number }): Listening {
  const earlier = new Set(process.listeners("beforeExit"));
  // No SO_REUSEPORT (Elysia's default): a port another process holds must fail to bind, not be shared.
  app.listen({ ...options, reusePort: false, development: false });
  const added = process.listeners("beforeExit").filter((listener) => !earlier.has(listener));
  return {
    server: app.server!,
    release: () => {
      for (const listener of added) process.off("beforeExit", listener);
    },
  };
}
