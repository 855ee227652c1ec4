import { describe, expect, test } from "bun:test";
import { EventStoreClient } from "../client/index.ts";
import { startEventStore } from "../client/testing.ts";
import { bearerToken, createTokenCheck } from "../src/http/auth.ts";
import { SIMPLE_SCHEMA, createTestApp, tempDir, expectedHealth } from "./utils.ts";

const TOKENS = ["s3cret-token-one", "second.token~2"];

/** Every route the app serves (plus an unknown one), each with a body where it takes one. */
const ROUTES: [method: string, path: string, body?: unknown][] = [
  ["GET", "/topics"],
  ["POST", "/topics", { name: "x", schemas: [SIMPLE_SCHEMA] }],
  ["GET", "/topics/t"],
  ["PUT", "/topics/t", { schemas: [SIMPLE_SCHEMA] }],
  ["POST", "/events", [{ topic: "t", type: "e", payload: { n: 1 } }]],
  ["GET", "/topics/t/events"],
  ["GET", "/topics/t/events?sinceEventId=t-1&limit=5"],
  ["POST", "/consumers/register", { callback: "https://example.com/hook", topics: { t: null } }],
  ["GET", "/consumers"],
  ["GET", "/consumers/00000000-0000-4000-8000-000000000000"],
  ["DELETE", "/consumers/00000000-0000-4000-8000-000000000000"],
  ["POST", "/consumers/00000000-0000-4000-8000-000000000000/resume"],
  ["GET", "/swagger"],
  ["GET", "/swagger/json"],
  ["GET", "/no-such-route"],
  ["POST", "/health"],
  ["HEAD", "/health"],
  ["GET", "/health/"],
  ["GET", "/health/../topics"],
  ["OPTIONS", "/topics"],
];

const UNAUTHORIZED = { error: "Missing or invalid bearer token", code: "UNAUTHORIZED" };

describe("AUTH_TOKEN", () => {
  test.each([
    ["no Authorization header", undefined],
    ["a wrong token", "Bearer wrong"],
    ["a prefix of a token", `Bearer ${TOKENS[0]!.slice(0, -1)}`],
    ["a token with a suffix", `Bearer ${TOKENS[0]}x`],
    ["both tokens joined", `Bearer ${TOKENS.join(",")}`],
    ["Basic scheme", `Basic ${TOKENS[0]}`],
    ["the token without scheme", TOKENS[0]],
    ["an empty bearer", "Bearer "],
    ["a token then more words", `Bearer ${TOKENS[0]} extra`],
  ])("%s: every route but GET /health → 401 UNAUTHORIZED with WWW-Authenticate, nothing changes", async (_, authorization) => {
    using dir = tempDir();
    await using app = await createTestApp({ dir: dir.path, overrides: { authTokens: TOKENS } });
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    expect((await app.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] }, { authorization: `Bearer ${TOKENS[0]}` })).status).toBe(201);
    for (const [method, path, body] of ROUTES) {
      const response = await app.request(method, path, body, headers);
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="event-store"');
      if (method !== "HEAD") expect(await response.json()).toEqual(UNAUTHORIZED);
    }
    expect(app.registry.names()).toEqual(["t"]);
    expect(app.log.head("t")).toBe(0);
    const health = await app.request("GET", "/health", undefined, headers);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual(expectedHealth(0, []));
    expect((await app.request("GET", "/health?probe=1", undefined, headers)).status).toBe(200);
  });

  test("any configured token opens every route; the scheme is case-insensitive", async () => {
    using dir = tempDir();
    await using app = await createTestApp({ dir: dir.path, overrides: { authTokens: TOKENS } });
    const as = (authorization: string) => ({ authorization });
    expect((await app.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] }, as(`Bearer ${TOKENS[0]}`))).status).toBe(201);
    expect((await app.request("POST", "/events", [{ topic: "t", type: "e", payload: { n: 1 } }], as(`bearer ${TOKENS[1]}`))).status).toBe(201);
    expect((await app.request("GET", "/topics/t/events", undefined, as(`BEARER  ${TOKENS[1]}`))).status).toBe(200);
    expect((await app.request("GET", "/swagger/json", undefined, as(`Bearer ${TOKENS[0]}`))).status).toBe(200);
    // Authorized requests see the API's own answers, e.g. 404 for an unknown route.
    expect(await (await app.request("GET", "/nope", undefined, as(`Bearer ${TOKENS[0]}`))).json()).toEqual({ error: "Not found", code: "NOT_FOUND" });
  });

  test("without AUTH_TOKEN nothing is required", async () => {
    using dir = tempDir();
    await using app = await createTestApp({ dir: dir.path });
    expect((await app.request("GET", "/topics")).status).toBe(200);
    expect((await app.request("GET", "/topics", undefined, { authorization: "Bearer anything" })).status).toBe(200);
  });

  test("an oversized body without a token is refused with 401 before it is read", async () => {
    using dir = tempDir();
    await using app = await createTestApp({ dir: dir.path, overrides: { authTokens: TOKENS, maxBodyBytes: 1024 } });
    const response = await app.request("POST", "/events", "x".repeat(10_000));
    expect(response.status).toBe(401);
  });

  test("the client sends its token; a client without one gets EventStoreError 401 UNAUTHORIZED (real server)", async () => {
    await using store = await startEventStore({ config: { authTokens: TOKENS }, client: { token: TOKENS[1], retries: 0 } });
    await store.client.createTopic("t", [SIMPLE_SCHEMA]);
    expect(await store.client.publishEvent("t", "e", { n: 1 })).toBe("t-1");
    const anonymous = new EventStoreClient({ baseUrl: store.url, retries: 0 });
    expect(await anonymous.getHealth()).toMatchObject({ status: "healthy" });
    const failure = await anonymous.getTopics().catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: "EventStoreError", status: 401, code: "UNAUTHORIZED" });
    const raw = await fetch(`${store.url}/topics`, { headers: { authorization: "Bearer nope" } });
    expect(raw.status).toBe(401);
    expect(raw.headers.get("www-authenticate")).toBe('Bearer realm="event-store"');
  });
});

describe("token check", () => {
  test("matches exactly one of the tokens, whatever the lengths", () => {
    const check = createTokenCheck(["abc", "a-much-longer-token"]);
    expect(["abc", "a-much-longer-token"].map(check)).toEqual([true, true]);
    expect(["", "ab", "abcd", "ABC", "a-much-longer-toke", "a-much-longer-token ", "abc\u0000"].map(check)).toEqual(Array(7).fill(false));
  });

  test("bearerToken parses `Bearer <token>` only", () => {
    expect(bearerToken("Bearer t0k")).toBe("t0k");
    expect(bearerToken("bearer t0k")).toBe("t0k");
    expect(bearerToken("Bearer   t0k  ")).toBe("t0k");
    for (const header of [null, "", "Bearer", "Bearer ", "Bearert0k", "Basic t0k", "Bearer a b", "t0k"]) expect(bearerToken(header)).toBeNull();
  });
});
