import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Store, startStore } from "./consumer-harness.ts";
import { rawRequest } from "./raw-http.ts";
import { ON_DISK, fileTest, tempDir } from "./utils.ts";

const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
/** `{"a":{"a":…{}…}}`: `levels` objects inside each other. */
const nestedObject = (levels: number) => '{"a":'.repeat(levels - 1) + "{}" + "}".repeat(levels - 1);

/** A store with topic "t" for a describe's tests: started before them, stopped after; and its directory. */
function storeWithTopic(): { current: () => Store; dirPath: string } {
  using dir = tempDir();
  let store: Store;
  beforeAll(async () => {
    store = await startStore(dir.path);
    await store.createTopic("t");
  });
  afterAll(() => store.server.stop());
  return { current: () => store, dirPath: dir.path };
}

describe("nesting is refused before anything parses it", () => {
  const { current, dirPath } = storeWithTopic();

  const send = async (method: string, path: string, body: string) => {
    const response = await fetch(`${current().url}${path}`, { method, body, headers: { "content-type": "application/json" } });
    return { status: response.status, body: await response.json() };
  };

  const DEEP = deep(50_000);
  const ROUTES: [string, string, string][] = [
    ["POST", "/topics", `{"name":"deep","schemas":[{"eventType":"e","type":"object","properties":{"x":${DEEP}}}]}`],
    ["PUT", "/topics/t", `{"schemas":[{"eventType":"e","type":"object","default":${DEEP}}]}`],
    ["POST", "/events", `[{"topic":"t","type":"e","payload":{"x":${DEEP}}}]`],
    ["POST", "/consumers/register", `{"callback":"http://127.0.0.1:9/hook","topics":{"t":${DEEP}}}`],
    ["POST", "/consumers/any/resume", DEEP],
    ["DELETE", "/consumers/any", DEEP],
  ];
  for (const [method, path, body] of ROUTES) {
    test(`${method} ${path} with 50 000 levels: 400 NESTING_TOO_DEEP`, async () => {
      expect(await send(method, path, body)).toEqual({
        status: 400,
        body: { error: "JSON is nested deeper than the limit of 64 levels", code: "NESTING_TOO_DEEP", maxDepth: 64 },
      });
    });
  }

  test("64 levels are accepted and 65 refused (an event's payload counts from the body's outer array)", async () => {
    // [ { "payload": { "a": <61 objects> } } ] is 64 levels.
    const at = (levels: number) => `[{"topic":"t","type":"e","payload":{"n":1,"a":${nestedObject(levels - 3)}}}]`;
    expect((await send("POST", "/events", at(64))).status).toBe(201);
    expect(await send("POST", "/events", at(65))).toMatchObject({ status: 400, body: { code: "NESTING_TOO_DEEP" } });
    expect((await current().api("GET", "/topics/t/events")).body.events.length).toBe(1);
  });

  test("a refused schema writes nothing: no topic, no file", async () => {
    expect((await current().api("GET", "/topics")).body).toEqual({ topics: ["t"] });
    if (ON_DISK) expect(readdirSync(join(dirPath, "config", "topics")).sort()).toEqual(["t.json"]);
  });
});

describe("a large body is parsed a piece at a time, to the same value", () => {
  const { current } = storeWithTopic();

  // The densest nesting the depth limit allows, filling most of MAX_BODY_BYTES, around members that
  // JSON.parse treats specially: a repeated key, index-like keys it orders first, an own __proto__, escapes.
  const densest = Array.from({ length: 8000 }, () => deep(60)).join(",");
  const body = `[{"topic":"t","type":"e","payload":{"n":1,"dup":"first","b":[${densest}],"10":"ten","2":"two","__proto__":{"x":[1]},"s":"\\u00e9\\/\\n","dup":"last"}}]`;

  test("a 1 MiB payload is stored as JSON.stringify of what JSON.parse makes of it, byte for byte", async () => {
    expect(body.length).toBeGreaterThan(900_000);
    const sent = await fetch(`${current().url}/events`, { method: "POST", body, headers: { "content-type": "application/json" } });
    expect({ status: sent.status, body: await sent.json() }).toEqual({ status: 201, body: { eventIds: ["t-1"] } });
    const read = await (await fetch(`${current().url}/topics/t/events`)).text();
    const expected = JSON.stringify(JSON.parse(body)[0].payload);
    expect(expected.startsWith('{"2":"two","10":"ten","n":1,"dup":"last","b":[[[[')).toBe(true);
    expect(read).toContain(`,"payload":${expected}}`);
    expect(Object.getPrototypeOf(JSON.parse(read).events[0].payload)).toBe(Object.prototype);
  });

  test("a large body broken anywhere is 400 MALFORMED_JSON and stores nothing", async () => {
    for (const broken of [body.replace('"dup":"last"', '"dup":"last",'), body.replace("]]],[[[", "]]],,[[["), body.slice(0, -1), `${body} x`, body.replace('"10":', "10:")]) {
      const answer = await fetch(`${current().url}/events`, { method: "POST", body: broken, headers: { "content-type": "application/json" } });
      expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 400, body: { error: "Request body is not valid JSON", code: "MALFORMED_JSON" } });
    }
    expect((await current().api("GET", "/topics/t")).body.sequence).toBe(1);
  });
});

describe("stored size follows request size", () => {
  fileTest("topic and consumer documents are stored compactly, close to the request's size", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path);
    const body = `{"name":"n","schemas":[{"eventType":"e","type":"object","properties":{"x":${nestedObject(60)}}}]}`;
    const created = await fetch(`${store.url}/topics`, { method: "POST", body });
    expect(created.status).toBe(201);
    const stored = readFileSync(join(dir.path, "config", "topics", "n.json"), "utf8");
    expect(stored).toBe(`${JSON.stringify(JSON.parse(stored))}\n`);
    expect(stored.length).toBeLessThan(body.length + 100);

    await store.register("http://127.0.0.1:9/hook", { n: null });
    const consumers = readFileSync(join(dir.path, "data", "consumers.json"), "utf8");
    expect(consumers).toBe(`${JSON.stringify(JSON.parse(consumers))}\n`);
  });

  test("MAX_SCHEMA_BYTES: a larger topic document is 400 SCHEMA_TOO_LARGE and changes nothing", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path, { maxSchemaBytes: 2048 });
    const schema = (description: string) => [{ eventType: "e", type: "object", description }];
    expect((await store.api("POST", "/topics", { name: "s", schemas: schema("small") })).status).toBe(201);
    const before = ON_DISK ? readFileSync(join(dir.path, "config", "topics", "s.json"), "utf8") : "";

    const big = await store.api("POST", "/topics", { name: "b", schemas: schema("x".repeat(2100)) });
    expect(big.status).toBe(400);
    expect(big.body.code).toBe("SCHEMA_TOO_LARGE");
    expect(big.body.limitBytes).toBe(2048);
    if (ON_DISK) expect(existsSync(join(dir.path, "config", "topics", "b.json"))).toBe(false);

    const grown = await store.api("PUT", "/topics/s", { schemas: schema("x".repeat(2100)) });
    expect(grown.status).toBe(400);
    expect(grown.body.code).toBe("SCHEMA_TOO_LARGE");
    if (ON_DISK) expect(readFileSync(join(dir.path, "config", "topics", "s.json"), "utf8")).toBe(before);
    expect((await store.api("GET", "/topics")).body).toEqual({ topics: ["s"] });
  });

  test("a schema too large for the validator to compile is 400 INVALID_SCHEMA, and its generated code is not written to the log", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path);
    const errors = spyOn(console, "error");
    try {
      const properties = Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`p${i}`, { type: "string" }]));
      const answer = await store.api("POST", "/topics", { name: "wide", schemas: [{ eventType: "e", type: "object", properties }] });
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe("INVALID_SCHEMA");
      expect(errors).toHaveBeenCalledTimes(0);
    } finally {
      errors.mockRestore();
    }
  }, 30_000);

  fileTest("a stored topic file nested past MAX_JSON_DEPTH is reported and skipped at start-up", async () => {
    using dir = tempDir();
    let store = await startStore(dir.path, { maxJsonDepth: 200 });
    const body = `{"name":"d","schemas":[{"eventType":"e","type":"object","properties":{"x":${nestedObject(100)}}}]}`;
    expect((await fetch(`${store.url}/topics`, { method: "POST", body })).status).toBe(201);
    await store.server.stop();
    store = await startStore(dir.path);
    try {
      expect((await store.api("GET", "/topics")).body).toEqual({ topics: [] });
      expect(store.reports).toEqual([
        `topic config ${join(dir.path, "config", "topics", "d.json")} could not be loaded and is skipped: JSON is nested deeper than the limit of 64 levels`,
      ]);
    } finally {
      await store.server.stop();
    }
  });
});

describe("every error is JSON", () => {
  using dir = tempDir();
  let store: Store;
  let port: number;
  beforeAll(async () => {
    store = await startStore(dir.path, { maxBodyBytes: 64 * 1024, bodyTimeoutMs: 500 });
    port = Number(new URL(store.url).port);
  });
  afterAll(() => store.server.stop());

  const head = (headers: string) => `POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}\r\n`;

  test("a body declared far over the limit (10 GB): 413 PAYLOAD_TOO_LARGE as JSON, unread, connection closed", async () => {
    const answer = await rawRequest(port, { parts: [head("Content-Length: 10000000000\r\n"), "[]"] });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: "Request body exceeds the limit of 65536 bytes", code: "PAYLOAD_TOO_LARGE" });
    expect(answer.closed).toBe(true);
  });

  test("a body sent in full past Bun's old limit (4 MiB): 413 as JSON", async () => {
    const size = 4 * 1024 * 1024;
    const response = await fetch(`${store.url}/events`, { method: "POST", body: "[" + " ".repeat(size) + "]" });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: "Request body exceeds the limit of 65536 bytes", code: "PAYLOAD_TOO_LARGE" });
  });

  test("a chunked body past the limit: 413 as JSON", async () => {
    const chunk = " ".repeat(32 * 1024);
    const chunked = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
    const answer = await rawRequest(port, { parts: [head("Transfer-Encoding: chunked\r\n"), chunked("["), chunked(chunk), chunked(chunk), chunked(chunk), "0\r\n\r\n"] });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).code).toBe("PAYLOAD_TOO_LARGE");
  });

  test("a body that trickles in (1 byte per 100 ms) is cut off at BODY_TIMEOUT_MS: 408 REQUEST_TIMEOUT as JSON, connection closed", async () => {
    const trickle = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 100 : " "));
    const answer = await rawRequest(port, { parts: [head("Content-Length: 100\r\n"), "[", ...trickle] });
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toEqual({ error: "Request body did not arrive within 500 ms", code: "REQUEST_TIMEOUT" });
    expect(answer.headers.connection).toBe("close");
    expect(answer.closed).toBe(true);
    // Cut off at its deadline, not at the 120 s idle timeout nor when the body ends (3 s).
    expect(answer.elapsedMs).toBeLessThan(2_500);
  });

  test("a chunked body that trickles in is cut off the same way", async () => {
    const trickle = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 100 : "1\r\n \r\n"));
    const answer = await rawRequest(port, { parts: [head("Transfer-Encoding: chunked\r\n"), "1\r\n[\r\n", ...trickle] });
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body).code).toBe("REQUEST_TIMEOUT");
    expect(answer.closed).toBe(true);
  });

  // Bun's HTTP parser answers these itself, before any handler runs, and offers no hook to
  // shape the answer: it is a bare 400 and the connection is closed. The server stays healthy.
  for (const [what, headers] of [
    ["two Content-Lengths", "Content-Length: 2\r\nContent-Length: 3\r\n"],
    ["Content-Length with Transfer-Encoding", "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n"],
    ["Content-Length -1", "Content-Length: -1\r\n"],
  ] as const) {
    test(`malformed framing (${what}) is refused with 400 and a closed connection`, async () => {
      const answer = await rawRequest(port, { parts: [head(headers), "[]"] });
      expect(answer).toMatchObject({ status: 400, closed: true });
      expect((await fetch(`${store.url}/health`)).status).toBe(200);
    });
  }
});
