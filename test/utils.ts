import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppDeps } from "../src/app.ts";
import { MemoryData } from "../src/backends/memory/memory-backend.ts";
import { type Config, defaultConfig } from "../src/config.ts";
import { type EventStore, openEventStore } from "../src/event-store.ts";
import { NO_CONSUMERS } from "../src/http/consumer-routes.ts";
import { NO_DELIVERY } from "../src/http/health-routes.ts";
import type { LogStorage } from "../src/log/storage.ts";
import type { BackendKind } from "../src/store/backend.ts";
import type { EventLog } from "../src/store/event-log.ts";
import type { TopicRegistry } from "../src/topics/topic-registry.ts";

/**
 * The backend the HTTP suites run on: `EVENT_LOG=memory bun test` runs them
 * on the memory backend (CI does both). Tests of one backend's own
 * behaviour (files on disk, crashes) pin theirs.
 */
export const TEST_BACKEND: BackendKind = process.env.EVENT_LOG === "memory" ? "memory" : "file";
/**
 * Set by `bun run test:nats` (test/run-with-nats.ts, which starts a real
 * nats-server): the HTTP suites run in cluster mode, over JetStream.
 */
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? "";
/** Whether the suites' backend writes files: assertions about DATA_DIR and CONFIG_DIR contents hold only then. */
export const ON_DISK = TEST_BACKEND === "file" && TEST_NATS_URL === "";

/** Cluster-mode settings under `test:nats`, one stream and bucket prefix per directory (so reopening a directory is a restart); none otherwise. */
export function clusterSettings(dir: string): Partial<Config> {
  if (TEST_NATS_URL === "") return {};
  return { natsUrls: [TEST_NATS_URL], natsReplicas: 1, natsPrefix: `t_${new Bun.CryptoHasher("sha256").update(dir).digest("hex").slice(0, 24)}` };
}
/**
 * A test of what the file backend writes to disk. `bun test` runs it (on the
 * file backend); the reruns of the same suites on memory (`test:memory`) and
 * NATS (`test:nats`) skip it, as there is no disk to look at.
 */
export const fileTest = test.skipIf(!ON_DISK);

/** A temporary directory removed when the `using` scope ends. */
export function tempDir(prefix = "event-store-test-"): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** The log as tests inspect it: `head` answers synchronously (this process is the only writer). */
export interface TestLog extends Omit<EventLog, "head"> {
  head(topic: string): number;
}

export interface TestApp extends AsyncDisposable {
  app: EventStore["app"];
  log: TestLog;
  store: EventStore;
  registry: TopicRegistry;
  dataDir: string;
  configDir: string;
  /** Sends one request through `app.handle` (no socket). */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Closes the store and opens a new app on the same directories (or memory), as a restart would. */
  reopen(): Promise<TestApp>;
}

export interface TestAppOptions {
  dir: string;
  storage?: LogStorage;
  segmentMaxBytes?: number;
  clock?: () => number;
  overrides?: Partial<AppDeps>;
  /** @default TEST_BACKEND (file when `storage` is given) */
  backend?: BackendKind;
}

/** The real app (without consumer delivery) over real files in `dir`, or memory, driven through `app.handle`. */
export async function createTestApp(options: TestAppOptions): Promise<TestApp> {
  return openTestApp(options, new MemoryData());
}

async function openTestApp(options: TestAppOptions, memoryData: MemoryData): Promise<TestApp> {
  const dataDir = join(options.dir, "data");
  const configDir = join(options.dir, "config");
  const eventLog = options.backend ?? (options.storage ? "file" : TEST_BACKEND);
  // No metrics, as the app alone never had: /metrics is tested through the server.
  const config = { ...defaultConfig(), metricsEnabled: false, dataDir, configDir, eventLog, ...clusterSettings(options.dir), ...(options.segmentMaxBytes ? { segmentMaxBytes: options.segmentMaxBytes } : {}) };
  const store = await openEventStore(config, {
    report: () => {},
    memoryData,
    deliver: false,
    // As the app alone never did: harness tests count the files in these directories.
    lockDirectories: false,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.clock ? { logClock: options.clock } : {}),
    app: { consumers: NO_CONSUMERS, delivery: NO_DELIVERY, reportError: () => {}, ...options.overrides },
  });
  const log = store.log as EventLog & { committedHead(topic: string): number };
  const testLog: TestLog = {
    head: (topic) => log.committedHead(topic),
    append: (events, idempotency) => log.append(events, idempotency),
    read: (topic, range) => log.read(topic, range),
    subscribe: (topics, listener, signal) => log.subscribe(topics, listener, signal),
    idempotencyKeyCount: () => log.idempotencyKeyCount(),
    close: () => log.close(),
  };
  const testApp: TestApp = {
    app: store.app,
    log: testLog,
    store,
    registry: store.registry,
    dataDir,
    configDir,
    request(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      return store.app.handle(new Request(`http://localhost${path}`, init));
    },
    async reopen() {
      await store.close();
      return openTestApp(options, memoryData);
    },
    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return testApp;
}

export const USER_CREATED_SCHEMA = {
  eventType: "user.created",
  type: "object",
  $schema: "https://json-schema.org/draft/2020-12/schema",
  properties: { id: { type: "string" }, name: { type: "string" }, email: { type: "string" } },
  required: ["id", "name", "email"],
};

export const SIMPLE_SCHEMA = { eventType: "e", type: "object", properties: { n: { type: "integer" } }, required: ["n"] };

/** Waits until `check` holds, polling; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(5);
  }
}

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

/**
 * The body `GET /health` answers: the spec's three fields, and in cluster
 * mode (TEST_NATS_URL, one nats-server) the node's id and a reachable
 * stream with a leader and no other replicas.
 */
export function expectedHealth(consumers: number, runningDispatchers: string[]): Record<string, unknown> {
  const spec = { status: "healthy", consumers, runningDispatchers };
  if (TEST_NATS_URL === "") return spec;
  return { ...spec, node: expect.any(String), cluster: { reachable: true, stream: { name: expect.stringMatching(/_events$/), leader: expect.any(String), replicas: [] } } };
}

/** The threads of a Linux process as /proc tells them: id, name and nice value. */
export function processThreads(pid: number): { id: number; name: string; nice: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((task) => {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
    // The name is in parentheses and may hold spaces; nice is field 19 of proc_pid_stat(5), index 16 after the name.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { id: Number(task), name: readFileSync(`/proc/${pid}/task/${task}/comm`, "utf8").trim(), nice: Number(fields[16]) };
  });
}

/** The event loop's turns while `work` runs. */
export async function turnsDuring(work: () => unknown): Promise<number> {
  let turns = 0;
  let working = true;
  const spin = () => {
    turns++;
    if (working) setImmediate(spin);
  };
  setImmediate(spin);
  try {
    await work();
  } finally {
    working = false;
  }
  return turns;
}
