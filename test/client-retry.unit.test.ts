import { describe, expect, test } from "bun:test";
import {
  EventStoreClient,
  EventStoreError,
  MIN_RETRY_AFTER_JITTER_MS,
  parseRetryAfter,
  retryAfterDelay,
} from "../client/index.ts";
import type { EventStoreConfig, FetchFn } from "../client/index.ts";
import { startEventStore } from "../client/testing.ts";
import { rejection } from "./utils.ts";

interface Seen {
  method: string;
  path: string;
  idempotencyKey: string | null;
  at: number;
}

/** A real server answering the i-th request with `answers[i]` (the last one from then on), recording each. */
function scriptedServer(answers: (() => Response)[]) {
  const seen: Seen[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      await request.arrayBuffer();
      seen.push({
        method: request.method,
        path: new URL(request.url).pathname,
        idempotencyKey: request.headers.get("idempotency-key"),
        at: performance.now(),
      });
      return answers[Math.min(seen.length - 1, answers.length - 1)]!();
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, seen, [Symbol.dispose]: () => server.stop(true) };
}

const limited = (retryAfter?: string) => () =>
  Response.json({ error: "Too many requests", code: "RATE_LIMITED" }, { status: 429, headers: retryAfter === undefined ? {} : { "retry-after": retryAfter } });
const unavailable = (retryAfter: string) => () =>
  Response.json({ error: "No quorum", code: "UNAVAILABLE" }, { status: 503, headers: { "retry-after": retryAfter } });
const ok = (body: unknown) => () => Response.json(body, { status: 200 });

function clientFor(url: string, config: EventStoreConfig = {}) {
  return new EventStoreClient({ baseUrl: url, retries: 3, retryDelay: 1, timeout: 5_000, ...config });
}

describe("Retry-After", () => {
  test("parseRetryAfter reads delay-seconds and HTTP dates, never negative", () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:27:58 GMT");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now)).toBe(2000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now)).toBe(0);
    expect([parseRetryAfter(null, now), parseRetryAfter("soon", now), parseRetryAfter("-1", now), parseRetryAfter("1.5", now)]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test("retryAfterDelay adds up to 20 % (at least up to 100 ms) of jitter, and refuses waits over the cap", () => {
    expect(retryAfterDelay(1000, 30_000, () => 0)).toBe(1000);
    expect(retryAfterDelay(1000, 30_000, () => 0.5)).toBe(1100);
    expect(retryAfterDelay(10_000, 30_000, () => 1)).toBe(12_000);
    expect(retryAfterDelay(0, 30_000, () => 1)).toBe(MIN_RETRY_AFTER_JITTER_MS);
    expect(retryAfterDelay(30_000, 30_000, () => 0)).toBe(30_000);
    expect(retryAfterDelay(30_001, 30_000, () => 0)).toBeUndefined();
  });

  test("a read answered 429 waits Retry-After, then succeeds", async () => {
    using server = scriptedServer([limited("1"), ok({ topics: ["a"] })]);
    const started = performance.now();
    expect(await clientFor(server.url).getTopics()).toEqual(["a"]);
    expect(server.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /topics", "GET /topics"]);
    const waited = server.seen[1]!.at - server.seen[0]!.at;
    expect(waited).toBeGreaterThanOrEqual(1000);
    // 1 s plus at most 20 % jitter, plus scheduling slack on a busy machine.
    expect(waited).toBeLessThan(1200 + 500);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  test("a publish answered 429 is retried with the same Idempotency-Key", async () => {
    using server = scriptedServer([limited("0"), limited("0"), () => Response.json({ eventIds: ["t-1"] }, { status: 201 })]);
    expect(await clientFor(server.url).publishEvent("t", "e", { n: 1 })).toBe("t-1");
    expect(server.seen).toHaveLength(3);
    const keys = new Set(server.seen.map((s) => s.idempotencyKey));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("a request that is not safe to repeat (createTopic) is not retried after a 429", async () => {
    using server = scriptedServer([limited("0"), ok({})]);
    const error = await rejection(clientFor(server.url).createTopic("t", [{ eventType: "e" }]));
    expect(error).toBeInstanceOf(EventStoreError);
    expect([(error as EventStoreError).status, (error as EventStoreError).code, (error as EventStoreError).retryAfterMs]).toEqual([429, "RATE_LIMITED", 0]);
    expect(server.seen).toHaveLength(1);
  });

  test("a 429 without Retry-After falls back to the backoff", async () => {
    using server = scriptedServer([limited(), ok({ topics: [] })]);
    expect(await clientFor(server.url).getTopics()).toEqual([]);
    expect(server.seen).toHaveLength(2);
  });

  test("a 503 with Retry-After is retried after it; bounded by retries", async () => {
    using server = scriptedServer([unavailable("0")]);
    const error = (await rejection(clientFor(server.url, { retries: 2 }).getHealth())) as EventStoreError;
    expect([error.status, error.code, error.retryAfterMs]).toEqual([503, "UNAVAILABLE", 0]);
    expect(server.seen).toHaveLength(3);
  });

  test("a Retry-After longer than maxRetryDelay is not waited for: thrown at once", async () => {
    using server = scriptedServer([unavailable("2"), ok({ topics: [] })]);
    const started = performance.now();
    const error = (await rejection(clientFor(server.url, { maxRetryDelay: 1000 }).getTopics())) as EventStoreError;
    expect([error.status, error.retryAfterMs]).toEqual([503, 2000]);
    expect(server.seen).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("against the real server's rate limit: RATE_LIMITED with its Retry-After (60 s, over the 30 s cap) thrown at once", async () => {
    await using store = await startEventStore({ config: { rateLimitPerMinute: 1 } });
    expect(await store.client.getTopics()).toEqual([]);
    const error = (await rejection(store.client.getTopics())) as EventStoreError;
    expect([error.status, error.code, error.retryAfterMs]).toEqual([429, "RATE_LIMITED", 60_000]);
  });
});

describe("a custom fetch (the transport)", () => {
  test("every attempt goes through it, with the full URL and the request's method, headers and body", async () => {
    using server = scriptedServer([ok({ topics: ["x"] })]);
    const calls: { url: string; method: string | undefined; authorization: string | null }[] = [];
    const proxy: FetchFn = (url, init) => {
      calls.push({ url, method: init.method, authorization: new Headers(init.headers).get("authorization") });
      // A proxy: the client's base URL is not where the request really goes.
      return fetch(url.replace("http://events.invalid", server.url), init);
    };
    const client = new EventStoreClient({ baseUrl: "http://events.invalid", token: "t0k", fetch: proxy });
    expect(await client.getTopics()).toEqual(["x"]);
    expect(calls).toEqual([{ url: "http://events.invalid/topics", method: "GET", authorization: "Bearer t0k" }]);
    expect(server.seen.map((s) => s.path)).toEqual(["/topics"]);
  });
});
