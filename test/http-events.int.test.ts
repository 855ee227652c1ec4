import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ON_DISK, SIMPLE_SCHEMA, USER_CREATED_SCHEMA, createTestApp, tempDir, type TestApp, expectedHealth } from "./utils.ts";

async function storeWithTopics(dir: string): Promise<TestApp> {
  const store = await createTestApp({ dir });
  await store.request("POST", "/topics", { name: "user-events", schemas: [USER_CREATED_SCHEMA] });
  await store.request("POST", "/topics", { name: "audit-events", schemas: [{ eventType: "user.verified", type: "object" }] });
  return store;
}

const alice = { id: "123", name: "Alice Johnson", email: "alice@example.com" };

async function publish(store: TestApp, count: number, topic = "t"): Promise<string[]> {
  const events = Array.from({ length: count }, (_, n) => ({ topic, type: "e", payload: { n } }));
  const res = await store.request("POST", "/events", events);
  expect(res.status).toBe(201);
  return (await res.json()).eventIds;
}

describe("POST /events", () => {
  test("the spec's example: ids per topic, 201 {eventIds}", async () => {
    using dir = tempDir();
    await using store = await storeWithTopics(dir.path);
    const res = await store.request("POST", "/events", [
      { topic: "user-events", type: "user.created", payload: alice },
      { topic: "audit-events", type: "user.verified", payload: { id: "123", verified: true } },
    ]);
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    expect(await res.json()).toEqual({ eventIds: ["user-events-1", "audit-events-1"] });
    const again = await store.request("POST", "/events", [{ topic: "user-events", type: "user.created", payload: alice }]);
    expect(await again.json()).toEqual({ eventIds: ["user-events-2"] });
  });

  test.each([
    ["not an array", { topic: "user-events", type: "user.created", payload: alice }, "INVALID_REQUEST"],
    ["an empty array", [], "INVALID_REQUEST"],
    ["a missing topic", [{ type: "user.created", payload: alice }], "INVALID_REQUEST"],
    ["a missing type", [{ topic: "user-events", payload: alice }], "INVALID_REQUEST"],
    ["a missing payload", [{ topic: "user-events", type: "user.created" }], "INVALID_REQUEST"],
    ["a payload that is an array", [{ topic: "user-events", type: "user.created", payload: [1] }], "INVALID_REQUEST"],
    ["a payload that is a string", [{ topic: "user-events", type: "user.created", payload: "x" }], "INVALID_REQUEST"],
    ["a payload that is null", [{ topic: "user-events", type: "user.created", payload: null }], "INVALID_REQUEST"],
    ["an item that is not an object", [42], "INVALID_REQUEST"],
    ["a topic that is a number", [{ topic: 1, type: "user.created", payload: alice }], "INVALID_REQUEST"],
    ["a topic that does not exist", [{ topic: "nope", type: "user.created", payload: alice }], "TOPIC_NOT_FOUND"],
    ["an event type without schema", [{ topic: "user-events", type: "user.deleted", payload: alice }], "UNKNOWN_EVENT_TYPE"],
    ["a payload the schema rejects", [{ topic: "user-events", type: "user.created", payload: { id: "1" } }], "SCHEMA_VALIDATION_FAILED"],
    ["a hostile topic name", [{ topic: "../../x", type: "user.created", payload: alice }], "TOPIC_NOT_FOUND"],
  ])("%s → 400 and nothing stored", async (_, body, code) => {
    using dir = tempDir();
    await using store = await storeWithTopics(dir.path);
    const res = await store.request("POST", "/events", body);
    expect(res.status).toBe(400);
    const error = await res.json();
    expect(error.code).toBe(code);
    expect(typeof error.error).toBe("string");
    expect(store.log.head("user-events")).toBe(0);
    if (ON_DISK) expect(readdirSync(join(store.dataDir, "topics"))).toEqual([]);
  });

  test("one invalid event refuses the whole batch, across topics; the message names it", async () => {
    using dir = tempDir();
    await using store = await storeWithTopics(dir.path);
    const res = await store.request("POST", "/events", [
      { topic: "audit-events", type: "user.verified", payload: { ok: true } },
      { topic: "user-events", type: "user.created", payload: alice },
      { topic: "user-events", type: "user.created", payload: { ...alice, email: 5 } },
    ]);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "events[2]: Schema validation failed for 'user.created': payload/email must be string",
      code: "SCHEMA_VALIDATION_FAILED",
    });
    expect(store.log.head("audit-events")).toBe(0);
    expect(store.log.head("user-events")).toBe(0);
  });

  test("malformed JSON → 400 MALFORMED_JSON; invalid UTF-8 → 400", async () => {
    using dir = tempDir();
    await using store = await storeWithTopics(dir.path);
    for (const body of ["{bad", "[", "", "[{\"topic\":}]"]) {
      const res = await store.request("POST", "/events", body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "Request body is not valid JSON", code: "MALFORMED_JSON" });
    }
    const bytes = new Uint8Array([0x5b, 0xff, 0xfe, 0x5d]);
    const res = await store.app.handle(new Request("http://localhost/events", { method: "POST", body: bytes }));
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("MALFORMED_JSON");
  });

  test("a body over MAX_BODY_BYTES → 413, with Content-Length and when chunked", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path, overrides: { maxBodyBytes: 2048 } });
    await store.request("POST", "/topics", { name: "t", schemas: [{ eventType: "e", type: "object" }] });
    const big = JSON.stringify([{ topic: "t", type: "e", payload: { s: "x".repeat(4096) } }]);
    const sized = await store.request("POST", "/events", big);
    expect(sized.status).toBe(413);
    expect(await sized.json()).toEqual({ error: "Request body exceeds the limit of 2048 bytes", code: "PAYLOAD_TOO_LARGE" });
    const chunks = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < chunks.length; i += 512) controller.enqueue(chunks.subarray(i, i + 512));
        controller.close();
      },
    });
    const chunked = await store.app.handle(new Request("http://localhost/events", { method: "POST", body: stream }));
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).code).toBe("PAYLOAD_TOO_LARGE");
    expect(store.log.head("t")).toBe(0);
    const fits = await store.request("POST", "/events", [{ topic: "t", type: "e", payload: { s: "x".repeat(1000) } }]);
    expect(fits.status).toBe(201);
  });

  test("a batch over MAX_BATCH_EVENTS → 400 BATCH_TOO_LARGE", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path, overrides: { maxBatchEvents: 3 } });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    const res = await store.request("POST", "/events", Array.from({ length: 4 }, () => ({ topic: "t", type: "e", payload: { n: 1 } })));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "A batch holds at most 3 events, got 4", code: "BATCH_TOO_LARGE" });
  });

  test("concurrent publishers get dense, unique ids in one topic", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    const results = await Promise.all(Array.from({ length: 50 }, () => publish(store, 3)));
    const sequences = results.flat().map((id) => Number(id.slice(2))).sort((a, b) => a - b);
    expect(sequences).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    for (const ids of results) {
      const [a, b, c] = ids.map((id) => Number(id.slice(2)));
      expect([b! - a!, c! - b!]).toEqual([1, 1]);
    }
  });

  test("stored payloads round-trip exactly, including unicode and escapes", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [{ eventType: "e", type: "object" }] });
    const payload = { text: "line\nbreak \"quoted\" \u2028 tab\t ünï 😀", nested: { a: [1, 2.5, null, true] } };
    await store.request("POST", "/events", [{ topic: "t", type: "e", payload }]);
    const { events } = await (await store.request("GET", "/topics/t/events")).json();
    expect(events[0].payload).toEqual(payload);
  });
});

describe("GET /topics/{topic}/events", () => {
  test("returns every event with id, timestamp, type and payload", async () => {
    using dir = tempDir();
    await using store = await storeWithTopics(dir.path);
    const before = Date.now();
    await store.request("POST", "/events", [{ topic: "user-events", type: "user.created", payload: alice }]);
    const res = await store.request("GET", "/topics/user-events/events");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const { events } = await res.json();
    expect(events.length).toBe(1);
    expect(events[0].id).toBe("user-events-1");
    expect(events[0].type).toBe("user.created");
    expect(events[0].payload).toEqual(alice);
    expect(Object.keys(events[0])).toEqual(["id", "timestamp", "type", "payload"]);
    const at = Date.parse(events[0].timestamp);
    expect(events[0].timestamp).toBe(new Date(at).toISOString());
    expect(at >= before - 1 && at <= Date.now()).toBe(true);
  });

  test("sinceEventId, limit and both together", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    await publish(store, 30);
    const ids = async (query: string) =>
      (await (await store.request("GET", `/topics/t/events${query}`)).json()).events.map((e: { id: string }) => e.id);
    expect(await ids("?sinceEventId=t-25")).toEqual(["t-26", "t-27", "t-28", "t-29", "t-30"]);
    expect(await ids("?limit=3")).toEqual(["t-1", "t-2", "t-3"]);
    expect(await ids("?sinceEventId=t-5&limit=2")).toEqual(["t-6", "t-7"]);
    expect(await ids("?sinceEventId=t-30")).toEqual([]);
    expect(await ids("?sinceEventId=t-99")).toEqual([]);
    expect(await ids("?sinceEventId=t-0&limit=1")).toEqual(["t-1"]);
    expect(await ids("?limit=1000")).toHaveLength(30);
  });

  test("ids parse from the right: topic 'orders-2' and its events", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "orders-2", schemas: [SIMPLE_SCHEMA] });
    await publish(store, 20, "orders-2");
    const res = await store.request("GET", "/topics/orders-2/events?sinceEventId=orders-2-17");
    expect((await res.json()).events.map((e: { id: string }) => e.id)).toEqual(["orders-2-18", "orders-2-19", "orders-2-20"]);
  });

  test("date selects the events stored on that UTC day", async () => {
    using dir = tempDir();
    let now = Date.parse("2025-01-14T23:59:59.000Z");
    await using store = await createTestApp({ dir: dir.path, clock: () => now });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    await publish(store, 2);
    now = Date.parse("2025-01-15T10:30:00.000Z");
    await publish(store, 3);
    now = Date.parse("2025-01-16T00:00:00.000Z");
    await publish(store, 1);
    const read = async (query: string) => (await (await store.request("GET", `/topics/t/events${query}`)).json()).events;
    const day = await read("?date=2025-01-15");
    expect(day.map((e: { id: string }) => e.id)).toEqual(["t-3", "t-4", "t-5"]);
    expect(day[0].timestamp).toBe("2025-01-15T10:30:00.000Z");
    expect((await read("?date=2025-01-14")).map((e: { id: string }) => e.id)).toEqual(["t-1", "t-2"]);
    expect((await read("?date=2025-01-15&sinceEventId=t-3&limit=1")).map((e: { id: string }) => e.id)).toEqual(["t-4"]);
    expect(await read("?date=2025-01-17")).toEqual([]);
    if (ON_DISK) expect(readdirSync(join(store.dataDir, "topics", "t")).sort()).toEqual(["2025-01-14", "2025-01-15", "2025-01-16"]);
  });

  test.each([
    ["limit=0", "INVALID_LIMIT"],
    ["limit=-1", "INVALID_LIMIT"],
    ["limit=abc", "INVALID_LIMIT"],
    ["limit=1.5", "INVALID_LIMIT"],
    ["limit=", "INVALID_LIMIT"],
    ["sinceEventId=garbage", "INVALID_EVENT_ID"],
    ["sinceEventId=t-", "INVALID_EVENT_ID"],
    ["sinceEventId=t-01", "INVALID_EVENT_ID"],
    ["sinceEventId=other-5", "INVALID_EVENT_ID"],
    ["sinceEventId=-5", "INVALID_EVENT_ID"],
    ["date=2025-02-30", "INVALID_DATE"],
    ["date=2025-13-01", "INVALID_DATE"],
    ["date=15-01-2025", "INVALID_DATE"],
    ["date=2025-1-5", "INVALID_DATE"],
    ["date=today", "INVALID_DATE"],
  ])("%s → 400 %s", async (query, code) => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    const res = await store.request("GET", `/topics/t/events?${query}`);
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe(code);
  });

  test("unknown topic → 404; hostile topic → 400", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const missing = await store.request("GET", "/topics/nope/events");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "Topic 'nope' not found", code: "TOPIC_NOT_FOUND" });
    const hostile = await store.request("GET", "/topics/..%2F..%2Fetc/events");
    expect(hostile.status).toBe(400);
    expect((await hostile.json()).code).toBe("INVALID_TOPIC_NAME");
  });

  test("a limit above the page size is capped at it", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path, overrides: { maxPageSize: 4 } });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    await publish(store, 10);
    expect((await (await store.request("GET", "/topics/t/events?limit=100")).json()).events).toHaveLength(4);
    expect((await (await store.request("GET", "/topics/t/events")).json()).events).toHaveLength(4);
  });

  test("waitMs holds a read until the next publish", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    await publish(store, 1);
    const waiting = store.request("GET", "/topics/t/events?sinceEventId=t-1&waitMs=10000");
    let settled = false;
    waiting.then(() => (settled = true));
    await Bun.sleep(20);
    expect(settled).toBe(false);
    await publish(store, 1);
    const { events } = await (await waiting).json();
    expect(events.map((e: { id: string }) => e.id)).toEqual(["t-2"]);
  });
});

describe("GET /health and unknown routes", () => {
  test("health: healthy, no consumers, no dispatchers", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const res = await store.request("GET", "/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(expectedHealth(0, []));
  });

  test("unknown route → 404 JSON", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const res = await store.request("GET", "/nothing/here");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Not found", code: "NOT_FOUND" });
  });
});

describe("hostile bodies", () => {
  test("a payload nested 100 000 deep → 400 NESTING_TOO_DEEP before it is parsed, not a 5xx", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [{ eventType: "e", type: "object" }] });
    const depth = 100_000;
    const body = `[{"topic":"t","type":"e","payload":{"deep":${"[".repeat(depth)}${"]".repeat(depth)}}}]`;
    const res = await store.request("POST", "/events", body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "JSON is nested deeper than the limit of 64 levels", code: "NESTING_TOO_DEEP", maxDepth: 64 });
    expect(store.log.head("t")).toBe(0);
  });

  test("nesting too deep even to parse → 400", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const depth = 400_000;
    for (const path of ["/events", "/topics"]) {
      const res = await store.request("POST", path, `${"[".repeat(depth)}${"]".repeat(depth)}`);
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe("NESTING_TOO_DEEP");
    }
  });
});

test("a schema nested 20 000 deep → 400 NESTING_TOO_DEEP, and no topic", async () => {
  using dir = tempDir();
  await using store = await createTestApp({ dir: dir.path });
  const depth = 20_000;
  const schema = `{"eventType":"e","type":"object"${',"properties":{"a":{"type":"object"'.repeat(depth)}${"}}".repeat(depth)}}`;
  const res = await store.request("POST", "/topics", `{"name":"t","schemas":[${schema}]}`);
  expect(res.status).toBe(400);
  expect((await res.json()).code).toBe("NESTING_TOO_DEEP");
  expect(store.registry.names()).toEqual([]);
});
