import { afterAll, describe, expect, test } from "bun:test";
import { MemoryData } from "../src/backends/memory/memory-data.ts";
import { MemoryTopicStore } from "../src/backends/memory/memory-stores.ts";
import { VALIDATION_SLICE, validateBatch } from "../src/topics/event-validation.ts";
import { SchemaCompiler } from "../src/topics/schema-compiler.ts";
import { TopicRegistry } from "../src/topics/topic-registry.ts";
import { SIMPLE_SCHEMA, turnsDuring } from "./utils.ts";

const registry = new TopicRegistry({ store: new MemoryTopicStore(new MemoryData()), compiler: new SchemaCompiler() });
await registry.create("t", [SIMPLE_SCHEMA]);
// Over 64 KiB of validator source: kept on the schema worker.
const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, { type: "string", maxLength: 4 }]));
await registry.create("wide", [{ eventType: "w", type: "object", properties: wide }]);
afterAll(() => registry.close());

type Item = { topic: string; type: string; payload: Record<string, unknown> };
const event = (n: unknown): Item => ({ topic: "t", type: "e", payload: { n } });

describe("validateBatch", () => {
  test(`a batch of up to ${VALIDATION_SLICE} events is checked at once, synchronously`, () => {
    const events = validateBatch(registry, Array.from({ length: VALIDATION_SLICE }, (_, i) => event(i)), 10_000);
    expect(Array.isArray(events)).toBe(true);
    expect((events as { payloadJson: string }[])[999]!.payloadJson).toBe('{"n":999}');
  });

  test("a larger batch is checked in slices, the event loop turning between them; the events come back whole and in order", async () => {
    const body = Array.from({ length: 10_000 }, (_, i) => event(i));
    let events: unknown;
    const turns = await turnsDuring(async () => {
      events = await validateBatch(registry, body, 10_000);
    });
    // One turn before the first slice and one before each further slice, at least.
    expect(turns).toBeGreaterThanOrEqual(10);
    expect((events as { topic: string; type: string; payloadJson: string }[]).map((e) => e.payloadJson)).toEqual(body.map((_, i) => `{"n":${i}}`));
  });

  test("a larger batch is refused at its first bad event, whichever slice holds it", async () => {
    const body = Array.from({ length: 5000 }, (_, i) => event(i));
    body[4321] = event("x");
    body[4999] = { topic: "nope", type: "e", payload: { n: 1 } };
    await expect(validateBatch(registry, body, 10_000)).rejects.toMatchObject({
      code: "SCHEMA_VALIDATION_FAILED",
      message: "events[4321]: Schema validation failed for 'e': payload/n must be integer",
    });
    body[4321] = event(1);
    await expect(validateBatch(registry, body, 10_000)).rejects.toMatchObject({ code: "TOPIC_NOT_FOUND", message: "events[4999]: Topic 'nope' does not exist" });
  });

  test("a failure on the schema worker earlier in the batch is answered before a later one found here", async () => {
    const body: Item[] = [event(1), { topic: "wide", type: "w", payload: { p3: "too long" } }, event("x")];
    await expect(validateBatch(registry, body, 10_000)).rejects.toMatchObject({
      code: "SCHEMA_VALIDATION_FAILED",
      message: "events[1]: Schema validation failed for 'w': payload/p3 must NOT have more than 4 characters",
    });
    const sliced = Array.from({ length: 3000 }, (_, i) => event(i));
    sliced[10] = { topic: "wide", type: "w", payload: { p3: "too long" } };
    sliced[2500] = event("x");
    await expect(validateBatch(registry, sliced, 10_000)).rejects.toMatchObject({ message: "events[10]: Schema validation failed for 'w': payload/p3 must NOT have more than 4 characters" });
    sliced[10] = { topic: "wide", type: "w", payload: { p3: "ok" } };
    await expect(validateBatch(registry, sliced, 10_000)).rejects.toMatchObject({ message: "events[2500]: Schema validation failed for 'e': payload/n must be integer" });
  });
});
