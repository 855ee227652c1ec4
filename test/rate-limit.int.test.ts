import { describe, expect, test } from "bun:test";
import http from "node:http";
import { RateLimiter, clientKey } from "../src/http/rate-limit.ts";
import { startStore } from "./consumer-harness.ts";
import { createTestApp, tempDir } from "./utils.ts";

describe("RateLimiter (token bucket)", () => {
  test("a burst of perMinute, then one request per 60/perMinute s; Retry-After is the exact wait, rounded up", () => {
    let now = 0;
    const limiter = new RateLimiter({ perMinute: 6, clock: () => now });
    expect(Array.from({ length: 6 }, () => limiter.take("a"))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(limiter.take("a")).toBe(10); // one token per 10 s
    now += 4_000;
    expect(limiter.take("a")).toBe(6);
    now += 6_000;
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(10);
    expect(limiter.take("b")).toBe(0); // other clients are not affected
  });

  test("refused requests do not push the wait further out", () => {
    let now = 0;
    const limiter = new RateLimiter({ perMinute: 1, clock: () => now });
    expect(limiter.take("a")).toBe(0);
    for (let i = 0; i < 100; i++) expect(limiter.take("a")).toBe(60);
    now += 60_000;
    expect(limiter.take("a")).toBe(0);
  });

  test("memory stays bounded: refilled buckets are swept, and at most maxClients are kept", () => {
    let now = 0;
    const limiter = new RateLimiter({ perMinute: 10, clock: () => now, maxClients: 1000 });
    for (let i = 0; i < 5000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(1000);
    now += 60_000;
    limiter.take("fresh");
    expect(limiter.size).toBe(1);
  });

  test("clientKey: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64, no address → local", () => {
    expect(clientKey("192.0.2.7")).toBe("192.0.2.7");
    expect(clientKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey(undefined)).toBe("local");
  });
});

describe("RATE_LIMIT_PER_MINUTE", () => {
  test("429 RATE_LIMITED with Retry-After once spent; GET /health is exempt; off by default", async () => {
    using dir = tempDir();
    await using app = await createTestApp({ dir: dir.path, overrides: { rateLimitPerMinute: 3 } });
    for (let i = 0; i < 3; i++) expect((await app.request("GET", "/topics")).status).toBe(200);
    const refused = await app.request("POST", "/events", "[]");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("20");
    expect(await refused.json()).toEqual({ error: "Too many requests; retry after 20 s", code: "RATE_LIMITED" });
    for (let i = 0; i < 10; i++) expect((await app.request("GET", "/health")).status).toBe(200);

    using other = tempDir();
    await using unlimited = await createTestApp({ dir: other.path });
    for (let i = 0; i < 200; i++) expect((await unlimited.request("GET", "/topics")).status).toBe(200);
  });

  test("requests refused for a missing token count too, so tokens cannot be guessed faster than the limit", async () => {
    using dir = tempDir();
    await using app = await createTestApp({ dir: dir.path, overrides: { rateLimitPerMinute: 2, authTokens: ["right"] } });
    expect((await app.request("GET", "/topics", undefined, { authorization: "Bearer guess1" })).status).toBe(401);
    expect((await app.request("GET", "/topics", undefined, { authorization: "Bearer guess2" })).status).toBe(401);
    expect((await app.request("GET", "/topics", undefined, { authorization: "Bearer right" })).status).toBe(429);
  });

  test("a real server limits per client address (127.0.0.2 spent, 127.0.0.3 still served); X-Forwarded-For is ignored", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path, { rateLimitPerMinute: 2 });
    const { port } = new URL(store.url);
    const get = (localAddress: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port: Number(port), path: "/topics", localAddress, headers }, (response) => {
            response.resume();
            response.on("end", () => resolve(response.statusCode ?? 0));
          })
          .on("error", reject);
      });
    expect([await get("127.0.0.2"), await get("127.0.0.2"), await get("127.0.0.2")]).toEqual([200, 200, 429]);
    expect(await get("127.0.0.2", { "x-forwarded-for": "198.51.100.9" })).toBe(429);
    expect([await get("127.0.0.3"), await get("127.0.0.3"), await get("127.0.0.3")]).toEqual([200, 200, 429]);
  });
});
