import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AppDeps, createApp } from "../src/app.ts";
import { defaultConfig } from "../src/config.ts";
import { FileEventLog } from "../src/log/file-event-log.ts";
import type { LogStorage } from "../src/log/storage.ts";
import { isValidTopicName } from "../src/topics/topic-name.ts";
import { TopicRegistry } from "../src/topics/topic-registry.ts";

/** A temporary directory removed when the `using` scope ends. */
export function tempDir(prefix = "event-store-test-"): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

export interface TestApp extends AsyncDisposable {
  app: ReturnType<typeof createApp>;
  log: FileEventLog;
  registry: TopicRegistry;
  dataDir: string;
  configDir: string;
  /** Sends one request through `app.handle` (no socket). */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Closes the log and opens a new app on the same directories, as a restart would. */
  reopen(): Promise<TestApp>;
}

export interface TestAppOptions {
  dir: string;
  storage?: LogStorage;
  segmentMaxBytes?: number;
  clock?: () => number;
  overrides?: Partial<AppDeps>;
}

/** The real app over real files in `dir`, driven through `app.handle`. */
export async function createTestApp(options: TestAppOptions): Promise<TestApp> {
  const dataDir = join(options.dir, "data");
  const configDir = join(options.dir, "config");
  const registry = new TopicRegistry({ configDir });
  registry.load();
  const log = await FileEventLog.open({
    dataDir,
    isTopicName: isValidTopicName,
    report: () => {},
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.segmentMaxBytes ? { segmentMaxBytes: options.segmentMaxBytes } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const config = defaultConfig();
  const app = createApp({ ...config, registry, log, reportError: () => {}, ...options.overrides });
  const testApp: TestApp = {
    app,
    log,
    registry,
    dataDir,
    configDir,
    request(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      return app.handle(new Request(`http://localhost${path}`, init));
    },
    async reopen() {
      await log.close();
      return createTestApp(options);
    },
    async [Symbol.asyncDispose]() {
      await log.close();
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
