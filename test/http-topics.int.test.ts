import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ON_DISK, SIMPLE_SCHEMA, USER_CREATED_SCHEMA, createTestApp, fileTest, tempDir } from "./utils.ts";

describe("POST /topics", () => {
  test("creates a topic: 201 with the spec's message, persisted as a config file", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const res = await store.request("POST", "/topics", { name: "user-events", schemas: [USER_CREATED_SCHEMA] });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ message: "Topic 'user-events' created successfully" });
    if (!ON_DISK) return;
    const stored = JSON.parse(readFileSync(join(store.configDir, "topics", "user-events.json"), "utf8"));
    expect(stored.name).toBe("user-events");
    expect(stored.schemas).toEqual([USER_CREATED_SCHEMA]);
  });

  test("an existing topic is refused with 400 TOPIC_EXISTS and keeps its schemas", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    const res = await store.request("POST", "/topics", { name: "t", schemas: [USER_CREATED_SCHEMA] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "Topic 't' already exists", code: "TOPIC_EXISTS" });
    expect((await (await store.request("GET", "/topics/t")).json()).schemas).toEqual([SIMPLE_SCHEMA]);
  });

  test.each([
    ["missing name", { schemas: [] }],
    ["missing schemas", { name: "t" }],
    ["schemas not an array", { name: "t", schemas: {} }],
    ["name not a string", { name: 5, schemas: [] }],
    ["body is an array", [1]],
    ["body is a JSON string", '"x"'],
  ])("%s → 400 INVALID_REQUEST", async (_, body) => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const res = await store.request("POST", "/topics", body);
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("INVALID_REQUEST");
  });

  test.each([
    ["..", ".."],
    [".", "."],
    ["dot-dot slash", "../evil"],
    ["slash", "a/b"],
    ["backslash", "a\\b"],
    ["empty", ""],
    ["129 characters", "a".repeat(129)],
    ["leading dot", ".hidden"],
    ["leading dash", "-x"],
    ["space", "a b"],
    ["NUL byte", "a\u0000b"],
    ["unicode", "tópico"],
  ])("topic name %s → 400 INVALID_TOPIC_NAME and nothing written", async (_, name) => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const res = await store.request("POST", "/topics", { name, schemas: [SIMPLE_SCHEMA] });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("INVALID_TOPIC_NAME");
    expect(store.registry.names()).toEqual([]);
    if (!ON_DISK) return;
    expect(readdirSync(join(store.configDir, "topics"))).toEqual([]);
    expect(readdirSync(dir.path).sort()).toEqual(["config", "data"]);
    expect(readdirSync(join(store.dataDir, "topics"))).toEqual([]);
  });

  test("a 128-character name with dots, dashes and underscores is accepted", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const name = `A1._-${"x".repeat(123)}`;
    expect(name.length).toBe(128);
    expect((await store.request("POST", "/topics", { name, schemas: [] })).status).toBe(201);
    expect(await (await store.request("GET", "/topics")).json()).toEqual({ topics: [name] });
  });

  test.each([
    ["a schema that is not valid JSON Schema", [{ eventType: "e", type: "object", properties: 3 }]],
    ["a schema type other than object", [{ eventType: "e", type: "string" }]],
    ["a schema without eventType", [{ type: "object" }]],
    ["an empty eventType", [{ eventType: "", type: "object" }]],
    ["an unknown $schema draft", [{ eventType: "e", $schema: "https://example.com/my-draft", type: "object" }]],
    ["an unresolvable $ref", [{ eventType: "e", type: "object", properties: { a: { $ref: "https://example.com/x.json" } } }]],
    ["a schema that is not an object", ["not a schema"]],
  ])("%s → 400 INVALID_SCHEMA and no topic", async (_, schemas) => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const res = await store.request("POST", "/topics", { name: "t", schemas });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("INVALID_SCHEMA");
    expect((await store.request("GET", "/topics/t")).status).toBe(404);
    expect(existsSync(join(store.configDir, "topics", "t.json"))).toBe(false);
  });

  test("a duplicate eventType in one topic → 400 INVALID_SCHEMA", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const res = await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA, SIMPLE_SCHEMA] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "schemas[1]: duplicate eventType 'e'", code: "INVALID_SCHEMA" });
  });

  test("draft-07 schemas are compiled with the draft-07 rules", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const schema = {
      eventType: "e",
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { n: { type: "integer" }, email: { type: "string", format: "email" } },
      required: ["n"],
    };
    expect((await store.request("POST", "/topics", { name: "t", schemas: [schema] })).status).toBe(201);
    const ok = await store.request("POST", "/events", [{ topic: "t", type: "e", payload: { n: 1, email: "a@b.co" } }]);
    expect(ok.status).toBe(201);
    const bad = await store.request("POST", "/events", [{ topic: "t", type: "e", payload: { n: 1, email: "nope" } }]);
    expect(bad.status).toBe(400);
    expect((await bad.json()).code).toBe("SCHEMA_VALIDATION_FAILED");
  });
});

describe("GET /topics and GET /topics/{topic}", () => {
  test("lists names sorted as {topics: [...]}; an empty store lists none", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    expect(await (await store.request("GET", "/topics")).json()).toEqual({ topics: [] });
    for (const name of ["b", "a", "c"]) await store.request("POST", "/topics", { name, schemas: [] });
    expect(await (await store.request("GET", "/topics")).json()).toEqual({ topics: ["a", "b", "c"] });
  });

  test("details: name, sequence (last id's number) and schemas", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "user-events", schemas: [USER_CREATED_SCHEMA] });
    const empty = await (await store.request("GET", "/topics/user-events")).json();
    expect(empty.name).toBe("user-events");
    expect(empty.sequence).toBe(0);
    expect(empty.schemas).toEqual([USER_CREATED_SCHEMA]);
    const payload = { id: "1", name: "A", email: "a@x" };
    await store.request("POST", "/events", [1, 2, 3].map(() => ({ topic: "user-events", type: "user.created", payload })));
    expect((await (await store.request("GET", "/topics/user-events")).json()).sequence).toBe(3);
  });

  test("unknown topic → 404 TOPIC_NOT_FOUND with the spec's message", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const res = await store.request("GET", "/topics/non-existent");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Topic 'non-existent' not found", code: "TOPIC_NOT_FOUND" });
  });

  test("a hostile name in the path → 400 INVALID_TOPIC_NAME", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    for (const path of ["/topics/..%2F..%2Fetc", "/topics/a%5Cb", "/topics/%00", "/topics/..%2F/events"]) {
      const res = await store.request("GET", path);
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe("INVALID_TOPIC_NAME");
    }
  });

  fileTest("topics survive a restart; a corrupt config file is skipped without taking others down", async () => {
    using dir = tempDir();
    let store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "good", schemas: [SIMPLE_SCHEMA] });
    await store.request("POST", "/topics", { name: "bad", schemas: [SIMPLE_SCHEMA] });
    await store.request("POST", "/events", [{ topic: "good", type: "e", payload: { n: 1 } }]);
    writeFileSync(join(store.configDir, "topics", "bad.json"), "{ not json");
    store = await store.reopen();
    expect(store.registry.loadFailures.map((f) => f.file)).toEqual(["bad.json"]);
    expect(await (await store.request("GET", "/topics")).json()).toEqual({ topics: ["good"] });
    expect((await (await store.request("GET", "/topics/good")).json()).sequence).toBe(1);
    await store[Symbol.asyncDispose]();
  });
});

describe("PUT /topics/{topic}", () => {
  test("adds an event type and changes an existing one; publishes use the new set", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    const relaxed = { eventType: "e", type: "object" };
    const added = { eventType: "f", type: "object", required: ["x"] };
    const res = await store.request("PUT", "/topics/t", { schemas: [relaxed, added] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.schemas).toEqual([relaxed, added]);
    expect(body.name).toBe("t");
    const published = await store.request("POST", "/events", [
      { topic: "t", type: "e", payload: {} },
      { topic: "t", type: "f", payload: { x: 1 } },
    ]);
    expect(await published.json()).toEqual({ eventIds: ["t-1", "t-2"] });
    if (!ON_DISK) return;
    const stored = JSON.parse(readFileSync(join(store.configDir, "topics", "t.json"), "utf8"));
    expect(stored.schemas).toEqual([relaxed, added]);
  });

  test("removing an existing event type → 400 SCHEMA_REMOVED and the old set stays", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    const res = await store.request("PUT", "/topics/t", { schemas: [{ eventType: "other", type: "object" }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "Schemas may only be added or changed, not removed; missing event types: e",
      code: "SCHEMA_REMOVED",
    });
    expect((await (await store.request("GET", "/topics/t")).json()).schemas).toEqual([SIMPLE_SCHEMA]);
  });

  test("unknown topic → 404; invalid schema → 400 INVALID_SCHEMA; missing schemas → 400", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    expect((await store.request("PUT", "/topics/nope", { schemas: [] })).status).toBe(404);
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    const invalid = await store.request("PUT", "/topics/t", { schemas: [SIMPLE_SCHEMA, { eventType: "x", type: "object", required: 5 }] });
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).code).toBe("INVALID_SCHEMA");
    const missing = await store.request("PUT", "/topics/t", {});
    expect(missing.status).toBe(400);
    expect((await missing.json()).code).toBe("INVALID_REQUEST");
  });
});
