/**
 * The framework reads each route's handler and hooks (global ones included)
 * to decide what to prepare per request: cookies parsed, the query string
 * split, headers copied. A hook that hands its whole context to a function
 * makes it prepare everything, on every route — and with cookies prepared,
 * every Response a handler returns is copied to merge headers into it. This
 * is what the framework infers for each of the app's routes, with every
 * hook on (metrics, CORS, a token, a rate limit).
 */
import { describe, expect, test } from "bun:test";
import { sucrose } from "elysia/sucrose";
import { StoreMetrics } from "../src/metrics/store-metrics.ts";
import { createTestApp, tempDir } from "./utils.ts";

interface RouteLike {
  method: string;
  path: string;
  handler: unknown;
  hooks: Record<string, unknown>;
}

describe("what each route prepares per request", () => {
  test("no route parses cookies; the query only for the read route, headers only for CORS preflights", async () => {
    using dir = tempDir();
    await using harness = await createTestApp({
      dir: dir.path,
      overrides: { metrics: new StoreMetrics(), corsOrigins: ["https://app.example"], authTokens: ["secret"], rateLimitPerMinute: 1_000 },
    });
    const routes = (harness.app as unknown as { routes: RouteLike[] }).routes;
    const prepared = (part: "cookie" | "query" | "headers") =>
      routes.filter((route) => sucrose({ handler: route.handler, ...route.hooks } as Parameters<typeof sucrose>[0])[part]).map((route) => `${route.method} ${route.path}`);

    expect(routes.length).toBeGreaterThan(15);
    expect(prepared("cookie")).toEqual([]);
    expect(prepared("query")).toEqual(["GET /topics/:topic/events"]);
    // A preflight answers from Origin and Access-Control-Request-*; the publish reads its one header itself.
    expect(prepared("headers").sort()).toEqual(["OPTIONS /", "OPTIONS /*"]);
  });
});
