import { join } from "node:path";
import { type Config, defaultConfig } from "../src/config.ts";
import { MemoryData } from "../src/backends/memory/memory-backend.ts";
import { type RunningServer, type StartServerOptions, startServer } from "../src/server.ts";
import { clusterSettings, TEST_BACKEND } from "./utils.ts";

/** With the memory backend, what a "restart" on the same directory opens again. */
const memoryByDir = new Map<string, MemoryData>();

/** NODE_ID of every store the harness starts: the `dispatcher` of its consumers. */
export const HARNESS_NODE_ID = "harness-node";

export const TOPIC_SCHEMAS = [{ eventType: "e", type: "object", properties: { n: { type: "integer" } }, required: ["n"] }];

export interface ApiAnswer {
  status: number;
  body: any;
}

export interface Store extends AsyncDisposable {
  url: string;
  server: RunningServer;
  /** Messages the server reported (removals, pauses, recovery). */
  reports: string[];
  api(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  createTopic(name: string): Promise<void>;
  /** Publishes `count` events to `topic` in one batch; returns their ids. */
  publish(topic: string, count: number): Promise<string[]>;
  /** Registers a consumer; returns its id and secret. */
  register(callback: string, topics: Record<string, string | null>, secret?: string): Promise<{ consumerId: string; secret: string }>;
}

/** A real in-process server (startServer, port 0) on `dir`/data and `dir`/config. */
export async function startStore(dir: string, overrides: Partial<Config> = {}, options: StartServerOptions = {}): Promise<Store> {
  const reports: string[] = [];
  const config: Config = {
    ...defaultConfig(),
    port: 0,
    host: "127.0.0.1",
    dataDir: join(dir, "data"),
    configDir: join(dir, "config"),
    eventLog: TEST_BACKEND,
    nodeId: HARNESS_NODE_ID,
    ...clusterSettings(dir),
    ...overrides,
  };
  let memoryData = memoryByDir.get(dir);
  if (memoryData === undefined) memoryByDir.set(dir, (memoryData = new MemoryData()));
  const server = await startServer(config, { memoryData, ...options, report: (message) => reports.push(message) });
  const api = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const text = await response.text();
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
  };
  const store: Store = {
    url: server.url,
    server,
    reports,
    api,
    async createTopic(name) {
      const answer = await api("POST", "/topics", { name, schemas: TOPIC_SCHEMAS });
      if (answer.status !== 201) throw new Error(`create topic: ${answer.status} ${JSON.stringify(answer.body)}`);
    },
    async publish(topic, count) {
      const answer = await api("POST", "/events", Array.from({ length: count }, (_, n) => ({ topic, type: "e", payload: { n } })));
      if (answer.status !== 201) throw new Error(`publish: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body.eventIds;
    },
    async register(callback, topics, secret) {
      const answer = await api("POST", "/consumers/register", { callback, topics, ...(secret === undefined ? {} : { secret }) });
      if (answer.status !== 201) throw new Error(`register: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    },
    [Symbol.asyncDispose]: () => server.stop(),
  };
  return store;
}

/** Polls `check` until it holds; for state only visible through the API. Fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** Short retry timing so failure paths finish in milliseconds. */
export const FAST_RETRY = { consumerRetryBaseMs: 10, consumerRetryMaxMs: 40 };

/** A receiver answer: always this status. */
export const status = (code: number, headers?: Record<string, string>) => () => new Response(null, { status: code, ...(headers ? { headers } : {}) });

/** GET /consumers/{id}'s body. */
export async function details(store: Store, id: string): Promise<any> {
  return (await store.api("GET", `/consumers/${id}`)).body;
}

/** Waits until GET /consumers/{id} satisfies `check`; returns that answer. */
export function detailsWhen(store: Store, id: string, check: (body: any) => boolean, what: string): Promise<any> {
  return eventually(async () => {
    const body = await details(store, id);
    return check(body) ? body : undefined;
  }, what);
}

/** Waits until GET /consumers/{id} answers 404; returns that body. */
export function gone(store: Store, id: string): Promise<any> {
  return eventually(async () => {
    const answer = await store.api("GET", `/consumers/${id}`);
    return answer.status === 404 ? answer.body : undefined;
  }, `consumer ${id} to be removed`);
}
