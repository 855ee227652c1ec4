import { join } from "node:path";
import type { AppDeps } from "../src/app.ts";
import { MemoryData } from "../src/backends/memory/memory-backend.ts";
import { defaultConfig } from "../src/config.ts";
import { openEventStore } from "../src/event-store.ts";
import type { BackendKind } from "../src/store/backend.ts";
import { clusterSettings, TEST_BACKEND } from "./utils.ts";

/** NODE_ID of the store the harness opens: the `dispatcher` of its consumers. */
export const API_HARNESS_NODE_ID = "api-harness";

export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: any;
  json: boolean;
}

/** The whole store (topics, log, consumers) through `app.handle`, for property and fuzz tests. */
export interface ApiHarness {
  dataDir: string;
  configDir: string;
  /** `body`: a string or bytes are sent as they are, anything else as JSON. */
  request(method: string, path: string, body?: unknown, headers?: HeadersInit): Promise<Answer>;
  /** Closes everything and opens it again over the same directories. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface ApiHarnessOptions {
  /** For the log's timestamps. @default Date.now */
  clock?: () => number;
  overrides?: Partial<AppDeps>;
  /** Unexpected errors behind a 5xx. @default console.error */
  reportError?: (error: unknown) => void;
  /** @default TEST_BACKEND */
  backend?: BackendKind;
}

/**
 * The real app and consumer service over `dir`/data and `dir`/config. Webhook
 * calls never answer (until shutdown aborts them), so cursors stay where
 * they were registered and no request leaves the process.
 */
export async function openApiHarness(dir: string, options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const dataDir = join(dir, "data");
  const configDir = join(dir, "config");
  const memoryData = new MemoryData();
  const open = () =>
    openEventStore(
      { ...defaultConfig(), metricsEnabled: false, nodeId: API_HARNESS_NODE_ID, dataDir, configDir, eventLog: options.backend ?? TEST_BACKEND, ...(options.backend === undefined ? clusterSettings(dir) : {}) },
      {
        memoryData,
        report: () => {},
        // As the app alone never did: the fuzz tests count the files in these directories.
        lockDirectories: false,
        ...(options.clock ? { logClock: options.clock } : {}),
        fetch: (_, init) =>
          new Promise<Response>((_resolve, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason))),
        app: { reportError: options.reportError ?? ((error) => console.error("5xx cause:", error)), ...options.overrides },
      },
    );
  let current = await open();
  const close = () => current.close();
  return {
    dataDir,
    configDir,
    async request(method, path, body, headers) {
      const init: RequestInit = { method, ...(headers ? { headers } : {}) };
      if (body !== undefined) init.body = typeof body === "string" || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body);
      const response = await current.app.handle(new Request(`http://localhost${path}`, init));
      const text = await response.text();
      let parsed: unknown = undefined;
      let json = false;
      if (text !== "") {
        try {
          parsed = JSON.parse(text);
          json = true;
        } catch {
          parsed = text;
        }
      }
      return { status: response.status, headers: response.headers, body: parsed, json };
    },
    async restart() {
      await close();
      current = await open();
    },
    close,
  };
}
