import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  BASE_URL_ENV_VAR,
  DEFAULT_RETRIES,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  EventStoreClient,
  EventStoreError,
  backoffDelay,
} from "../client/index.ts";
import type { ConsumerDetails, Event, EventStoreConfig, Schema } from "../client/index.ts";
import { rejection } from "./utils.ts";

// --- fake servers -----------------------------------------------------------

interface Captured {
  method: string;
  path: string;
  query: string;
  headers: Headers;
  body: unknown;
}

type Handler = (request: Request, captured: Captured, index: number) => Response | Promise<Response>;

/** A real HTTP server on a free port that records every request it receives. */
function fakeServer(handler: Handler) {
  const requests: Captured[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url);
      const text = await request.text();
      const captured: Captured = {
        method: request.method,
        path: url.pathname,
        query: url.search,
        headers: request.headers,
        body: text === "" ? undefined : JSON.parse(text),
      };
      requests.push(captured);
      return handler(request, captured, requests.length - 1);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    [Symbol.dispose]: () => server.stop(true),
  };
}

/** The URL of a port that was just listening and is now closed. */
function closedPortUrl(): string {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const url = `http://127.0.0.1:${server.port}`;
  server.stop(true);
  return url;
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

/** A client with fast retries; the fake servers answer at once. */
function clientFor(baseUrl: string, config: EventStoreConfig = {}): EventStoreClient {
  return new EventStoreClient({ baseUrl, retries: 2, retryDelay: 1, timeout: 2_000, ...config });
}

const schema: Schema = {
  eventType: "user.created",
  type: "object",
  $schema: "https://json-schema.org/draft/2020-12/schema",
  properties: { id: { type: "string" } },
  required: ["id"],
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// --- config -----------------------------------------------------------------

describe("config", () => {
  let savedEnv: string | undefined;
  beforeEach(() => {
    savedEnv = process.env[BASE_URL_ENV_VAR];
  });
  afterEach(() => {
    if (savedEnv === undefined) delete process.env[BASE_URL_ENV_VAR];
    else process.env[BASE_URL_ENV_VAR] = savedEnv;
  });

  test("defaults are 30 s timeout, 3 retries, 1 s retry delay", () => {
    expect(DEFAULT_TIMEOUT_MS).toBe(30_000);
    expect(DEFAULT_RETRIES).toBe(3);
    expect(DEFAULT_RETRY_DELAY_MS).toBe(1_000);
  });

  test("falls back to EVENT_STORE_BASE_URL and trims trailing slashes", async () => {
    using server = fakeServer(() => json(200, { status: "healthy", consumers: 0, runningDispatchers: [] }));
    process.env[BASE_URL_ENV_VAR] = `${server.url}//`;
    const client = new EventStoreClient();
    expect(client.baseUrl).toBe(server.url);
    expect(await client.getHealth()).toEqual({ status: "healthy", consumers: 0, runningDispatchers: [] });
    expect(server.requests.map((r) => r.path)).toEqual(["/health"]);
  });

  test("an explicit baseUrl wins over the environment and keeps its path prefix", async () => {
    using server = fakeServer(() => json(200, { topics: [] }));
    process.env[BASE_URL_ENV_VAR] = closedPortUrl();
    const client = new EventStoreClient({ baseUrl: `${server.url}/api/` });
    expect(await client.getTopics()).toEqual([]);
    expect(server.requests.map((r) => r.path)).toEqual(["/api/topics"]);
  });

  test("throws a clear error when there is neither baseUrl nor EVENT_STORE_BASE_URL", () => {
    delete process.env[BASE_URL_ENV_VAR];
    expect(() => new EventStoreClient()).toThrow(
      "EventStoreClient: no server URL; pass { baseUrl } or set EVENT_STORE_BASE_URL",
    );
  });

  test("rejects invalid options once, at construction", () => {
    expect(() => new EventStoreClient({ baseUrl: "not a url" })).toThrow("baseUrl is not a valid URL");
    expect(() => new EventStoreClient({ baseUrl: "http://x", timeout: 0 })).toThrow("timeout");
    expect(() => new EventStoreClient({ baseUrl: "http://x", retries: -1 })).toThrow("retries");
    expect(() => new EventStoreClient({ baseUrl: "http://x", retries: 1.5 })).toThrow("retries");
    expect(() => new EventStoreClient({ baseUrl: "http://x", retryDelay: -1 })).toThrow("retryDelay");
  });

  test("sends the token as a Bearer Authorization header", async () => {
    using server = fakeServer(() => json(200, { topics: ["a"] }));
    await clientFor(server.url, { token: "s3cret" }).getTopics();
    await clientFor(server.url).getTopics();
    expect(server.requests.map((r) => r.headers.get("authorization"))).toEqual(["Bearer s3cret", null]);
  });

  test("uses the configured fetch", async () => {
    using server = fakeServer(() => json(200, { topics: [] }));
    const seen: string[] = [];
    const client = clientFor(server.url, {
      fetch: (input, init) => {
        seen.push(`${init.method} ${input}`);
        return fetch(input, init);
      },
    });
    await client.getTopics();
    expect(seen).toEqual([`GET ${server.url}/topics`]);
  });
});

// --- HTTP mapping -----------------------------------------------------------

describe("HTTP mapping", () => {
  test("getHealth: GET /health", async () => {
    const health = { status: "healthy", consumers: 2, runningDispatchers: ["a", "b"] };
    using server = fakeServer(() => json(200, health));
    expect(await clientFor(server.url).getHealth()).toEqual(health);
    const [request] = server.requests;
    expect(request).toMatchObject({ method: "GET", path: "/health", query: "", body: undefined });
    expect(request?.headers.get("accept")).toBe("application/json");
  });

  test("createTopic: POST /topics {name, schemas}", async () => {
    using server = fakeServer(() => json(201, { message: "Topic 'users' created successfully" }));
    expect(await clientFor(server.url).createTopic("users", [schema])).toBeUndefined();
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request).toMatchObject({ method: "POST", path: "/topics", query: "" });
    expect(request?.body).toEqual({ name: "users", schemas: [schema] });
    expect(request?.headers.get("content-type")).toBe("application/json");
  });

  test("getTopics: GET /topics returns the names", async () => {
    using server = fakeServer(() => json(200, { topics: ["users", "audit"] }));
    expect(await clientFor(server.url).getTopics()).toEqual(["users", "audit"]);
    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([["GET", "/topics", ""]]);
  });

  test("getTopic: GET /topics/{name}, name encoded", async () => {
    const details = { name: "a b/c", sequence: 7, schemas: [schema] };
    using server = fakeServer(() => json(200, details));
    expect(await clientFor(server.url).getTopic("a b/c")).toEqual(details);
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([["GET", "/topics/a%20b%2Fc"]]);
  });

  test("updateTopicSchemas: PUT /topics/{name} {schemas}", async () => {
    using server = fakeServer(() => json(200, { message: "updated" }));
    expect(await clientFor(server.url).updateTopicSchemas("users", [schema])).toBeUndefined();
    expect(server.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ["PUT", "/topics/users", { schemas: [schema] }],
    ]);
  });

  test("publishEvent: POST /events with a one-element array, returns the id", async () => {
    using server = fakeServer(() => json(201, { eventIds: ["users-1"] }));
    const client = clientFor(server.url);
    expect(await client.publishEvent("users", "user.created", { id: "1" })).toBe("users-1");
    expect(
      await client.publishEvent("users", "user.created", { id: "2" }, {
        expectedSequence: 1,
        idempotencyKey: "key-2",
      }),
    ).toBe("users-1");
    expect(server.requests.map((r) => [r.method, r.path, r.query, r.body])).toEqual([
      ["POST", "/events", "", [{ topic: "users", type: "user.created", payload: { id: "1" } }]],
      [
        "POST",
        "/events",
        "",
        [{ topic: "users", type: "user.created", payload: { id: "2" }, expectedSequence: 1 }],
      ],
    ]);
    expect(server.requests[1]?.headers.get("idempotency-key")).toBe("key-2");
  });

  test("publishEvents: POST /events with the batch, returns all ids", async () => {
    using server = fakeServer(() => json(201, { eventIds: ["users-1", "audit-1"] }));
    const ids = await clientFor(server.url).publishEvents(
      [
        { topic: "users", type: "user.created", payload: { id: "1" } },
        { topic: "audit", type: "user.verified", payload: { id: "1", verified: true }, expectedSequence: 0 },
      ],
      { idempotencyKey: "batch-1" },
    );
    expect(ids).toEqual(["users-1", "audit-1"]);
    const [request] = server.requests;
    expect(request?.body).toEqual([
      { topic: "users", type: "user.created", payload: { id: "1" } },
      { topic: "audit", type: "user.verified", payload: { id: "1", verified: true }, expectedSequence: 0 },
    ]);
    expect(request?.headers.get("idempotency-key")).toBe("batch-1");
  });

  test("getEvents: GET /topics/{topic}/events with only the given query params", async () => {
    const events: Event[] = [
      { id: "users-6", timestamp: "2025-01-15T10:30:00.000Z", type: "user.created", payload: { id: "6" } },
    ];
    using server = fakeServer(() => json(200, { events }));
    const client = clientFor(server.url);
    expect(await client.getEvents("users")).toEqual(events);
    await client.getEvents("users", { sinceEventId: "users-5", date: "2025-01-15", limit: 10 });
    await client.getEvents("my topic", { limit: 3 });
    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ["GET", "/topics/users/events", ""],
      ["GET", "/topics/users/events", "?sinceEventId=users-5&date=2025-01-15&limit=10"],
      ["GET", "/topics/my%20topic/events", "?limit=3"],
    ]);
  });

  test("registerConsumer: POST /consumers/register, returns the id", async () => {
    using server = fakeServer(() => json(201, { consumerId: "c-1", secret: "whsec_AAAA" }));
    const client = clientFor(server.url);
    const topics = { users: null, audit: "audit-5" };
    expect(await client.registerConsumer({ callback: "http://hook.test/in", topics })).toBe("c-1");
    expect(
      await client.registerConsumerWithSecret({ callback: "http://hook.test/in", topics, secret: "whsec_AAAA" }),
    ).toEqual({ consumerId: "c-1", secret: "whsec_AAAA" });
    expect(server.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ["POST", "/consumers/register", { callback: "http://hook.test/in", topics }],
      ["POST", "/consumers/register", { callback: "http://hook.test/in", topics, secret: "whsec_AAAA" }],
    ]);
  });

  test("getConsumers: GET /consumers returns the list", async () => {
    const consumers = [{ id: "c-1", callback: "http://hook.test/in", topics: { users: "users-10" } }];
    using server = fakeServer(() => json(200, { consumers }));
    expect(await clientFor(server.url).getConsumers()).toEqual(consumers);
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([["GET", "/consumers"]]);
  });

  test("getConsumer: GET /consumers/{id}, id encoded", async () => {
    const details: ConsumerDetails = {
      id: "c/1",
      callback: "http://hook.test/in",
      topics: { users: "users-10" },
      status: "retrying",
      lag: { users: 3 },
      attempts: 2,
      lastError: "HTTP 500",
      nextAttemptAt: "2025-01-15T10:30:00.000Z",
    };
    using server = fakeServer(() => json(200, details));
    expect(await clientFor(server.url).getConsumer("c/1")).toEqual(details);
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([["GET", "/consumers/c%2F1"]]);
  });

  test("unregisterConsumer: DELETE /consumers/{id}", async () => {
    using server = fakeServer(() => json(200, { message: "Consumer c-1 unregistered" }));
    expect(await clientFor(server.url).unregisterConsumer("c-1")).toBeUndefined();
    expect(server.requests.map((r) => [r.method, r.path, r.body])).toEqual([["DELETE", "/consumers/c-1", undefined]]);
  });

  test("resumeConsumer: POST /consumers/{id}/resume, empty answers accepted", async () => {
    using server = fakeServer(() => new Response(null, { status: 204 }));
    expect(await clientFor(server.url).resumeConsumer("c 1")).toBeUndefined();
    expect(server.requests.map((r) => [r.method, r.path, r.body])).toEqual([["POST", "/consumers/c%201/resume", undefined]]);
  });
});

// --- errors and retries -----------------------------------------------------

describe("errors and retries", () => {
  test("backoffDelay doubles from retryDelay and is capped at 30 s", () => {
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, 1_000))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffDelay(5, 1_000)).toBe(30_000);
    expect(backoffDelay(40, 1_000)).toBe(30_000);
    expect(backoffDelay(3, 10, 50)).toBe(50);
  });

  test("a 4xx is sent once and throws EventStoreError with the server's message, code and body", async () => {
    const body = { error: "Topic 'nope' not found", code: "TOPIC_NOT_FOUND", topic: "nope" };
    using server = fakeServer(() => json(404, body));
    const error = await rejection(clientFor(server.url, { retries: 3 }).getTopic("nope"));
    expect(server.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(EventStoreError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: "EventStoreError",
      message: "Topic 'nope' not found",
      status: 404,
      code: "TOPIC_NOT_FOUND",
      body,
    });
  });

  test("a 4xx without a JSON body gets code HTTP_<status> and no body", async () => {
    using server = fakeServer(() => new Response("bad", { status: 400 }));
    const error = await rejection(clientFor(server.url).getTopics());
    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({
      message: "GET /topics failed with HTTP 400",
      status: 400,
      code: "HTTP_400",
      body: undefined,
    });
  });

  test("a 5xx is sent retries + 1 times, then thrown", async () => {
    using server = fakeServer(() => json(503, { error: "Failed to store event", code: "WRITE_FAILED" }));
    const error = await rejection(clientFor(server.url, { retries: 2 }).getTopics());
    expect(server.requests).toHaveLength(3);
    expect(error).toMatchObject({ status: 503, code: "WRITE_FAILED", message: "Failed to store event" });
  });

  test("a 5xx followed by a success resolves", async () => {
    using server = fakeServer((_, __, index) => (index === 0 ? json(500, {}) : json(200, { topics: ["x"] })));
    expect(await clientFor(server.url).getTopics()).toEqual(["x"]);
    expect(server.requests).toHaveLength(2);
  });

  test("a network error is retried, then thrown with status 0 and code NETWORK_ERROR", async () => {
    let attempts = 0;
    const client = clientFor(closedPortUrl(), {
      retries: 2,
      fetch: (input, init) => {
        attempts++;
        return fetch(input, init);
      },
    });
    const error = await rejection(client.getHealth());
    expect(attempts).toBe(3);
    expect(error).toBeInstanceOf(EventStoreError);
    expect(error).toMatchObject({ status: 0, code: "NETWORK_ERROR", body: undefined });
    expect((error as EventStoreError).cause).toBeInstanceOf(Error);
  });

  test("the timeout is honoured per attempt: TIMEOUT after retries + 1 attempts", async () => {
    using server = fakeServer(() => new Promise<Response>(() => {}));
    const startedAt = performance.now();
    const error = await rejection(clientFor(server.url, { timeout: 100, retries: 1 }).getHealth());
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(190);
    expect(server.requests).toHaveLength(2);
    expect(error).toBeInstanceOf(EventStoreError);
    expect(error).toMatchObject({
      status: 0,
      code: "TIMEOUT",
      message: "GET /health timed out after 100 ms",
    });
  });
});

// --- idempotency ------------------------------------------------------------

describe("Idempotency-Key", () => {
  test("one key is reused across the retries of a publish; two publishes use two keys", async () => {
    using server = fakeServer((_, __, index) =>
      index < 2 ? json(500, { error: "boom" }) : json(201, { eventIds: [`users-${index}`] }),
    );
    const client = clientFor(server.url, { retries: 3 });
    expect(await client.publishEvent("users", "user.created", { id: "1" })).toBe("users-2");
    expect(await client.publishEvents([{ topic: "users", type: "user.created", payload: { id: "2" } }])).toEqual([
      "users-3",
    ]);
    const keys = server.requests.map((r) => r.headers.get("idempotency-key") ?? "");
    expect(keys).toHaveLength(4);
    const [first, second, third, fourth] = keys;
    expect(first).toMatch(UUID);
    expect(second).toBe(first!);
    expect(third).toBe(first!);
    expect(fourth).toMatch(UUID);
    expect(fourth).not.toBe(first!);
  });
});

// --- waitForServer / testConnection -------------------------------------------

describe("waitForServer and testConnection", () => {
  test("waitForServer polls until /health answers 200", async () => {
    using server = fakeServer((_, __, index) =>
      index < 2 ? json(503, { error: "starting" }) : json(200, { status: "healthy", consumers: 0, runningDispatchers: [] }),
    );
    const client = clientFor(server.url, { retries: 3 });
    expect(await client.waitForServer({ maxWaitTime: 5_000, pollInterval: 1 })).toBe(true);
    // Each probe is one attempt: the client's own retries are not used.
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([
      ["GET", "/health"],
      ["GET", "/health"],
      ["GET", "/health"],
    ]);
  });

  test("waitForServer returns false on time-out when throwOnTimeout is false", async () => {
    const client = clientFor(closedPortUrl());
    expect(await client.waitForServer({ maxWaitTime: 150, pollInterval: 10, throwOnTimeout: false })).toBe(false);
  });

  test("waitForServer throws EventStoreError TIMEOUT on time-out by default", async () => {
    const baseUrl = closedPortUrl();
    const error = await rejection(clientFor(baseUrl).waitForServer({ maxWaitTime: 150, pollInterval: 10 }));
    expect(error).toBeInstanceOf(EventStoreError);
    expect(error).toMatchObject({
      status: 0,
      code: "TIMEOUT",
      message: `Event Store at ${baseUrl} not ready after 150 ms`,
    });
    expect((error as EventStoreError).cause).toMatchObject({ code: "NETWORK_ERROR" });
  });

  test("testConnection is true on 200, false on an error answer or no server, in one attempt", async () => {
    using up = fakeServer(() => json(200, { status: "healthy", consumers: 0, runningDispatchers: [] }));
    using failing = fakeServer(() => json(500, { error: "down" }));
    expect(await clientFor(up.url).testConnection()).toBe(true);
    expect(await clientFor(failing.url, { retries: 3 }).testConnection()).toBe(false);
    expect(failing.requests).toHaveLength(1);
    expect(await clientFor(closedPortUrl()).testConnection()).toBe(false);
  });
});

// --- streamEvents -----------------------------------------------------------

/** A fake event log that implements `sinceEventId`, `limit` and the `waitMs` long-poll. */
function eventLogServer(topic: string, historySize: number) {
  const events: Event[] = [];
  const wakers: (() => void)[] = [];
  const held = Promise.withResolvers<void>();
  const clientAborted = Promise.withResolvers<void>();

  const append = () => {
    const n = events.length + 1;
    events.push({ id: `${topic}-${n}`, timestamp: new Date(0).toISOString(), type: "t", payload: { n } });
    for (const wake of wakers.splice(0)) wake();
  };
  for (let i = 0; i < historySize; i++) append();

  const server = fakeServer(async (request) => {
    const params = new URL(request.url).searchParams;
    const since = params.get("sinceEventId");
    const limit = Number(params.get("limit") ?? "1000");
    const waitMs = params.has("waitMs") ? Number(params.get("waitMs")) : 0;
    const start = since === null ? 0 : events.findIndex((e) => e.id === since) + 1;
    let page = events.slice(start, start + limit);
    if (page.length === 0 && waitMs > 0) {
      const woken = Promise.withResolvers<void>();
      wakers.push(woken.resolve);
      const timer = setTimeout(woken.resolve, waitMs);
      request.signal.addEventListener("abort", () => {
        clientAborted.resolve();
        woken.resolve();
      });
      held.resolve();
      await woken.promise;
      clearTimeout(timer);
      page = events.slice(start, start + limit);
    }
    return json(200, { events: page });
  });
  return { ...server, append, held: held.promise, clientAborted: clientAborted.promise };
}

describe("streamEvents", () => {
  test("pages through history, then receives a new event by long-poll, and stops on abort", async () => {
    using log = eventLogServer("orders", 5);
    const controller = new AbortController();
    // Publish only once the client's follow request is being held open.
    void log.held.then(() => log.append());

    const ids: string[] = [];
    for await (const event of clientFor(log.url).streamEvents("orders", {
      pageSize: 2,
      signal: controller.signal,
    })) {
      ids.push(event.id);
      if (ids.length === 6) controller.abort();
    }

    expect(ids).toEqual(["orders-1", "orders-2", "orders-3", "orders-4", "orders-5", "orders-6"]);
    expect(log.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ["GET", "/topics/orders/events", "?limit=2"],
      ["GET", "/topics/orders/events", "?sinceEventId=orders-2&limit=2"],
      ["GET", "/topics/orders/events", "?sinceEventId=orders-4&limit=2"],
      ["GET", "/topics/orders/events", "?sinceEventId=orders-5&limit=2&waitMs=25000"],
    ]);
  });

  test("an abort during a held long-poll ends the stream cleanly and aborts the request", async () => {
    using log = eventLogServer("orders", 3);
    const controller = new AbortController();
    void log.held.then(() => controller.abort());

    const ids: string[] = [];
    for await (const event of clientFor(log.url).streamEvents("orders", {
      sinceEventId: "orders-3",
      signal: controller.signal,
    })) {
      ids.push(event.id);
    }

    expect(ids).toEqual([]);
    await log.clientAborted;
    // The aborted request is not retried.
    expect(log.requests.map((r) => r.query)).toEqual([
      "?sinceEventId=orders-3&limit=1000",
      "?sinceEventId=orders-3&limit=1000&waitMs=25000",
    ]);
  });

  test("a long-poll may outlast the configured timeout by waitMs", async () => {
    using log = eventLogServer("orders", 0);
    const controller = new AbortController();
    // The event arrives 250 ms into the held request: past the 100 ms timeout,
    // within waitMs + timeout.
    void log.held.then(() => setTimeout(log.append, 250));

    const ids: string[] = [];
    const startedAt = performance.now();
    for await (const event of clientFor(log.url, { timeout: 100, retries: 0 }).streamEvents("orders", {
      waitMs: 300,
      signal: controller.signal,
    })) {
      ids.push(event.id);
      controller.abort();
    }
    expect(ids).toEqual(["orders-1"]);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(240);
    expect(log.requests.map((r) => r.query)).toEqual(["?limit=1000", "?limit=1000&waitMs=300"]);
  });

  test("waits pollInterval between empty answers of a server that ignores waitMs", async () => {
    const controller = new AbortController();
    const arrivals: number[] = [];
    using server = fakeServer((request) => {
      if (new URL(request.url).searchParams.has("waitMs")) {
        arrivals.push(performance.now());
        if (arrivals.length === 3) controller.abort();
      }
      return json(200, { events: [] });
    });

    const ids: string[] = [];
    for await (const event of clientFor(server.url).streamEvents("idle", {
      pollInterval: 50,
      signal: controller.signal,
    })) {
      ids.push(event.id);
    }

    expect(ids).toEqual([]);
    expect(arrivals).toHaveLength(3);
    const [a = 0, b = 0, c = 0] = arrivals;
    expect(b - a).toBeGreaterThanOrEqual(45);
    expect(c - b).toBeGreaterThanOrEqual(45);
  });
});
