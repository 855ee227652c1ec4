import { describe, expect, test } from "bun:test";
import type { AppDeps } from "../src/app.ts";
import { ConfigError, loadConfig } from "../src/config.ts";
import { USER_CREATED_SCHEMA, createTestApp, tempDir } from "./utils.ts";

const APP_ORIGIN = "http://app.example:5173";

async function withApp(overrides: Partial<AppDeps>, run: (request: (method: string, path: string, headers?: Record<string, string>, body?: unknown) => Promise<Response>) => Promise<void>) {
  using dir = tempDir();
  await using store = await createTestApp({ dir: dir.path, overrides });
  await run((method, path, headers = {}, body) => store.request(method, path, body, headers));
}

function corsHeaders(response: Response): Record<string, string> {
  const found: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.startsWith("access-control-")) found[name] = value;
  });
  return found;
}

const PREFLIGHT = {
  origin: APP_ORIGIN,
  "access-control-request-method": "POST",
  "access-control-request-headers": "authorization,content-type,idempotency-key",
};

describe("CORS", () => {
  test("unset (the default): no CORS header on any answer, preflight included", async () => {
    await withApp({}, async (request) => {
      expect(corsHeaders(await request("GET", "/topics", { origin: APP_ORIGIN }))).toEqual({});
      const preflight = await request("OPTIONS", "/events", PREFLIGHT);
      expect(corsHeaders(preflight)).toEqual({});
    });
  });

  test("a listed origin: the preflight allows the API's methods and headers, answers expose Retry-After and Idempotent-Replayed", async () => {
    await withApp({ corsOrigins: [APP_ORIGIN, "https://other.example"] }, async (request) => {
      const preflight = await request("OPTIONS", "/events", PREFLIGHT);
      expect(preflight.status).toBe(204);
      expect(corsHeaders(preflight)).toEqual({
        "access-control-allow-origin": APP_ORIGIN,
        "access-control-allow-methods": "GET, POST, PUT, DELETE",
        "access-control-allow-headers": "Authorization, Idempotency-Key, Content-Type",
        "access-control-expose-headers": "Retry-After, Idempotent-Replayed",
        "access-control-max-age": "600",
      });
      const list = await request("GET", "/topics", { origin: APP_ORIGIN });
      expect(list.status).toBe(200);
      expect(corsHeaders(list)).toMatchObject({
        "access-control-allow-origin": APP_ORIGIN,
        "access-control-expose-headers": "Retry-After, Idempotent-Replayed",
      });
      expect(list.headers.get("vary")).toBe("Origin");
    });
  });

  test("an origin not listed gets no Access-Control-Allow-Origin, so the browser refuses the answer", async () => {
    await withApp({ corsOrigins: [APP_ORIGIN] }, async (request) => {
      const response = await request("GET", "/topics", { origin: "http://evil.example" });
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
      expect(response.headers.get("vary")).toBe("Origin");
      expect((await request("OPTIONS", "/events", { ...PREFLIGHT, origin: "http://evil.example" })).headers.get("access-control-allow-origin")).toBeNull();
    });
  });

  test("* allows any origin", async () => {
    await withApp({ corsOrigins: ["*"] }, async (request) => {
      const response = await request("GET", "/health", { origin: "http://anywhere.example" });
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
    });
  });

  test("with AUTH_TOKEN the preflight (which carries no token) passes, and a 401 is readable by the page", async () => {
    await withApp({ corsOrigins: [APP_ORIGIN], authTokens: ["secret"] }, async (request) => {
      expect((await request("OPTIONS", "/events", PREFLIGHT)).status).toBe(204);
      const refused = await request("GET", "/topics", { origin: APP_ORIGIN });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
      expect(await refused.json()).toMatchObject({ code: "UNAUTHORIZED" });
    });
  });

  test("a 429 carries Retry-After, exposed to the page", async () => {
    await withApp({ corsOrigins: [APP_ORIGIN], rateLimitPerMinute: 1 }, async (request) => {
      expect((await request("GET", "/topics", { origin: APP_ORIGIN })).status).toBe(200);
      const limited = await request("GET", "/topics", { origin: APP_ORIGIN });
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("60");
      expect(corsHeaders(limited)).toMatchObject({ "access-control-allow-origin": APP_ORIGIN, "access-control-expose-headers": "Retry-After, Idempotent-Replayed" });
    });
  });

  test("a replayed publish exposes Idempotent-Replayed", async () => {
    await withApp({ corsOrigins: [APP_ORIGIN] }, async (request) => {
      const json = { origin: APP_ORIGIN, "content-type": "application/json" };
      expect((await request("POST", "/topics", json, { name: "users", schemas: [USER_CREATED_SCHEMA] })).status).toBe(201);
      const batch = [{ topic: "users", type: "user.created", payload: { id: "1", name: "Ada", email: "ada@example.com" } }];
      const headers = { ...json, "idempotency-key": "k1" };
      expect((await request("POST", "/events", headers, batch)).status).toBe(201);
      const replay = await request("POST", "/events", headers, batch);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    });
  });
});

describe("CORS_ORIGINS", () => {
  test("unset: none; * or a comma-separated list of origins", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
    expect(loadConfig({ CORS_ORIGINS: " https://a.example , http://localhost:5173," }).corsOrigins).toEqual(["https://a.example", "http://localhost:5173"]);
    expect(loadConfig({}, ["--cors-origins", "https://a.example"]).corsOrigins).toEqual(["https://a.example"]);
  });

  test.each([
    ["", "CORS_ORIGINS is set but holds no origin; unset it to turn CORS off"],
    ["https://a.example/", "CORS_ORIGINS: 'https://a.example/' is not an origin like https://app.example or http://localhost:5173"],
    ["a.example", "CORS_ORIGINS: 'a.example' is not an origin like https://app.example or http://localhost:5173"],
  ])("%p → ConfigError %p", (raw, message) => {
    expect(() => loadConfig({ CORS_ORIGINS: raw })).toThrow(new ConfigError(message));
  });
});
