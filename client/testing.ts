/**
 * Testing kit: a real Event Store in the test process, on a free port, over
 * temporary directories. Needs Bun (the server is Bun-native).
 *
 * @example
 * ```ts
 * import { startEventStore } from "@event-store-js/server/testing";
 *
 * await using store = await startEventStore();
 * await store.client.createTopic("orders", [{ eventType: "order.placed", type: "object" }]);
 * ```
 *
 * @module
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, defaultConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";
import { EventStoreClient } from "./event-store-client.ts";
import type { EventStoreConfig } from "./types.ts";

/** Client settings for tests: fail fast, retry once. */
export const TEST_CLIENT_CONFIG = { timeout: 5_000, retries: 1, retryDelay: 100 } as const;

export interface StartEventStoreOptions {
  /** Server settings; `port` (0), `host` (127.0.0.1) and the directories are chosen for you unless given. */
  config?: Partial<Config>;
  /** Settings of the returned client. @default TEST_CLIENT_CONFIG */
  client?: Omit<EventStoreConfig, "baseUrl">;
  /** Keep the temporary directories after `stop()`. @default false */
  keepData?: boolean;
}

export interface RunningEventStore extends AsyncDisposable {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  port: number;
  client: EventStoreClient;
  dataDir: string;
  configDir: string;
  /** Stops the server and removes its directories. */
  stop(): Promise<void>;
}

/**
 * Starts the real server in-process on port 0 with temporary directories.
 *
 * @example
 * ```ts
 * const store = await startEventStore({ config: { maxBodyBytes: 4096 } });
 * try {
 *   await store.client.getHealth();
 * } finally {
 *   await store.stop();
 * }
 * ```
 *
 * @example
 * ```ts
 * // Nothing written to disk: the memory backend (EVENT_LOG=memory), for fast tests.
 * await using store = await startEventStore({ config: { eventLog: "memory" } });
 * ```
 */
export async function startEventStore(options: StartEventStoreOptions = {}): Promise<RunningEventStore> {
  const root = await mkdtemp(join(tmpdir(), "event-store-"));
  const config: Config = {
    ...defaultConfig(),
    port: 0,
    host: "127.0.0.1",
    dataDir: join(root, "data"),
    configDir: join(root, "config"),
    ...options.config,
  };
  const server = await startServer(config, { report: () => {} });
  const client = new EventStoreClient({ ...TEST_CLIENT_CONFIG, ...options.client, baseUrl: server.url });
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= server.stop().then(() => (options.keepData ? undefined : rm(root, { recursive: true, force: true })));
    return stopped;
  };
  return {
    url: server.url,
    port: server.port,
    client,
    dataDir: config.dataDir,
    configDir: config.configDir,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Dedicated directories for one test suite, as in the spec's examples:
 * `setup()` creates them, `cleanup()` removes them.
 *
 * @example
 * ```ts
 * const testSetup = new TestSetup("my-test");
 * await testSetup.setup();
 * // start a server with DATA_DIR=testSetup.getDataDir(), CONFIG_DIR=testSetup.getConfigDir()
 * await testSetup.cleanup();
 * ```
 */
export class TestSetup {
  private root: string | null = null;

  constructor(readonly name: string) {}

  async setup(): Promise<void> {
    const safeName = this.name.replace(/[^A-Za-z0-9._-]/g, "_");
    this.root = await mkdtemp(join(tmpdir(), `event-store-${safeName}-`));
    await mkdir(this.getDataDir(), { recursive: true });
    await mkdir(this.getConfigDir(), { recursive: true });
  }

  getDataDir(): string {
    return join(this.requireRoot(), "data");
  }

  getConfigDir(): string {
    return join(this.requireRoot(), "config");
  }

  async cleanup(): Promise<void> {
    if (this.root === null) return;
    await rm(this.root, { recursive: true, force: true });
    this.root = null;
  }

  private requireRoot(): string {
    if (this.root === null) throw new Error(`TestSetup '${this.name}': call setup() first`);
    return this.root;
  }
}
