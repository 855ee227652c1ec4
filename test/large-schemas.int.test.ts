import { describe, expect, test } from "bun:test";
import { SIMPLE_SCHEMA, createTestApp, tempDir } from "./utils.ts";

/** An event schema of `count` string properties of at most 4 characters: 1 000 of them make a validator kept on the schema worker. */
function wideSchema(eventType: string, count: number) {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) properties[`p${i}`] = { type: "string", maxLength: 4 };
  return { eventType, type: "object", properties, required: ["p0"] };
}

async function answer(response: Response) {
  return { status: response.status, body: await response.json() };
}

describe("topics with very large schemas (validated on the schema worker)", () => {
  test("a 1 000-property schema: created, publishes checked against it, batches refused at their first bad event, and kept across a restart", async () => {
    using dir = tempDir();
    let store = await createTestApp({ dir: dir.path });
    try {
      expect(await answer(await store.request("POST", "/topics", { name: "wide", schemas: [wideSchema("w", 1000), SIMPLE_SCHEMA] }))).toEqual({
        status: 201,
        body: { message: "Topic 'wide' created successfully" },
      });
      await store.request("POST", "/topics", { name: "small", schemas: [SIMPLE_SCHEMA] });
      const good = { topic: "wide", type: "w", payload: { p0: "a", p999: "b" } };
      expect(await answer(await store.request("POST", "/events", [good, { topic: "small", type: "e", payload: { n: 1 } }, good]))).toEqual({
        status: 201,
        body: { eventIds: ["wide-1", "small-1", "wide-2"] },
      });
      // The worker's failure comes first in the batch: it is the one answered, though a later event fails here at once.
      const refused = await store.request("POST", "/events", [good, { topic: "wide", type: "w", payload: { p0: "toolong" } }, { topic: "small", type: "e", payload: {} }]);
      expect(await answer(refused)).toEqual({
        status: 400,
        body: { error: "events[1]: Schema validation failed for 'w': payload/p0 must NOT have more than 4 characters", code: "SCHEMA_VALIDATION_FAILED" },
      });
      const missing = await store.request("POST", "/events", [{ topic: "small", type: "e", payload: { n: 2 } }, { topic: "wide", type: "w", payload: { p1: "x" } }]);
      expect(await answer(missing)).toEqual({
        status: 400,
        body: { error: "events[1]: Schema validation failed for 'w': payload must have required property 'p0'", code: "SCHEMA_VALIDATION_FAILED" },
      });
      expect([store.log.head("wide"), store.log.head("small")]).toEqual([2, 1]);

      store = await store.reopen();
      expect(await answer(await store.request("POST", "/events", [{ topic: "wide", type: "w", payload: { p5: "12345" } }]))).toEqual({
        status: 400,
        body: { error: "events[0]: Schema validation failed for 'w': payload must have required property 'p0'", code: "SCHEMA_VALIDATION_FAILED" },
      });
      expect(await answer(await store.request("POST", "/events", [good]))).toEqual({ status: 201, body: { eventIds: ["wide-3"] } });
    } finally {
      await store.store.close();
    }
  });

  test("PUT replaces a large schema with another: publishes follow the new one", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    await store.request("POST", "/topics", { name: "wide", schemas: [wideSchema("w", 1000)] });
    const wider = { ...wideSchema("w", 1200), required: ["p1100"] };
    expect((await store.request("PUT", "/topics/wide", { schemas: [wider] })).status).toBe(200);
    expect(await answer(await store.request("POST", "/events", [{ topic: "wide", type: "w", payload: { p0: "a" } }]))).toEqual({
      status: 400,
      body: { error: "events[0]: Schema validation failed for 'w': payload must have required property 'p1100'", code: "SCHEMA_VALIDATION_FAILED" },
    });
  });

  test("a schema too large for ajv to compile → 400 INVALID_SCHEMA saying so, and no topic", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    expect(await answer(await store.request("POST", "/topics", { name: "huge", schemas: [SIMPLE_SCHEMA, wideSchema("h", 6000)] }))).toEqual({
      status: 400,
      body: { error: "schemas[1] (h) is not a valid JSON Schema: it is too large to compile", code: "INVALID_SCHEMA" },
    });
    expect((await store.request("GET", "/topics/huge")).status).toBe(404);
  });
});
