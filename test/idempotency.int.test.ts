import { describe, expect, test } from "bun:test";
import { readdirSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { SIMPLE_SCHEMA, createTestApp, fileTest, tempDir, type TestApp } from "./utils.ts";

const batch = (n: number, topic = "t") => [{ topic, type: "e", payload: { n } }];

async function publish(store: TestApp, body: unknown, key?: string) {
  const res = await store.request("POST", "/events", body, key === undefined ? {} : { "idempotency-key": key });
  return { status: res.status, body: await res.json(), replayed: res.headers.get("idempotent-replayed") };
}

async function storeWithTopic(dir: string, options: Partial<Parameters<typeof createTestApp>[0]> = {}): Promise<TestApp> {
  const store = await createTestApp({ dir, ...options });
  await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
  await store.request("POST", "/topics", { name: "u", schemas: [SIMPLE_SCHEMA] });
  return store;
}

function keySegments(dataDir: string): string[] {
  const root = join(dataDir, "idempotency");
  return readdirSync(root).flatMap((date) => readdirSync(join(root, date)).map((file) => join(root, date, file)));
}

describe("Idempotency-Key", () => {
  test("a replay answers the same ids with Idempotent-Replayed: true and stores nothing", async () => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    const first = await publish(store, [...batch(1), ...batch(2, "u")], "order-42");
    expect(first).toEqual({ status: 201, body: { eventIds: ["t-1", "u-1"] }, replayed: null });
    const again = await publish(store, [...batch(1), ...batch(2, "u")], "order-42");
    expect(again).toEqual({ status: 201, body: { eventIds: ["t-1", "u-1"] }, replayed: "true" });
    expect([store.log.head("t"), store.log.head("u")]).toEqual([1, 1]);
    // The same body in other JSON spacing is the same batch.
    const spaced = await store.request("POST", "/events", '[ {"topic":"t", "type":"e", "payload":{ "n": 1 }}, {"topic":"u","type":"e","payload":{"n":2}} ]', { "idempotency-key": "order-42" });
    expect(spaced.status).toBe(201);
    expect(spaced.headers.get("idempotent-replayed")).toBe("true");
  });

  test("the same key with another body → 409 IDEMPOTENCY_KEY_REUSED, nothing stored", async () => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    await publish(store, batch(1), "k");
    const reused = await publish(store, batch(2), "k");
    expect(reused).toEqual({
      status: 409,
      body: { error: "Idempotency-Key 'k' was already used for a different batch", code: "IDEMPOTENCY_KEY_REUSED" },
      replayed: null,
    });
    expect(store.log.head("t")).toBe(1);
  });

  test("keys survive a restart", async () => {
    using dir = tempDir();
    let store = await storeWithTopic(dir.path);
    await publish(store, batch(1), "before-restart");
    await publish(store, batch(2));
    store = await store.reopen();
    expect(await publish(store, batch(1), "before-restart")).toEqual({ status: 201, body: { eventIds: ["t-1"] }, replayed: "true" });
    expect((await publish(store, batch(9), "before-restart")).status).toBe(409);
    expect(store.log.head("t")).toBe(2);
    await store[Symbol.asyncDispose]();
  });

  test("racing requests with one key store exactly one batch", async () => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    const results = await Promise.all(Array.from({ length: 20 }, () => publish(store, [...batch(1), ...batch(2)], "race")));
    expect(new Set(results.map((r) => JSON.stringify(r.body)))).toEqual(new Set([JSON.stringify({ eventIds: ["t-1", "t-2"] })]));
    expect(results.filter((r) => r.replayed === null)).toHaveLength(1);
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(store.log.head("t")).toBe(2);
  });

  test("a refused request does not use up its key", async () => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    expect((await publish(store, [{ topic: "t", type: "e", payload: { n: "x" } }], "k")).status).toBe(400);
    expect((await publish(store, [{ topic: "t", type: "e", payload: { n: 1 }, expectedSequence: 5 }], "k")).status).toBe(409);
    expect(await publish(store, batch(1), "k")).toEqual({ status: 201, body: { eventIds: ["t-1"] }, replayed: null });
  });

  test.each([
    ["256 characters", "k".repeat(256)],
    ["a non-ASCII character", "clé"],
    ["a control character", "a\tb"],
  ])("a key of %s → 400 INVALID_IDEMPOTENCY_KEY", async (_, key) => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    const res = await store.app.handle(
      new Request("http://localhost/events", { method: "POST", body: JSON.stringify(batch(1)), headers: [["idempotency-key", key]] }),
    );
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("INVALID_IDEMPOTENCY_KEY");
    expect(store.log.head("t")).toBe(0);
  });

  test("a 255-character key of printable ASCII is accepted", async () => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    const key = `${" !~azAZ09".repeat(28)}abc`;
    expect(key.length).toBe(255);
    expect((await publish(store, batch(1), key)).status).toBe(201);
    expect((await publish(store, batch(1), key)).replayed).toBe("true");
  });

  test("a key is forgotten after IDEMPOTENCY_TTL_HOURS, and not before", async () => {
    using dir = tempDir();
    let now = Date.parse("2025-01-15T00:00:00.000Z");
    const ttlMs = 24 * 3_600_000;
    await using store = await storeWithTopic(dir.path, { clock: () => now });
    await publish(store, batch(1), "k");
    now += ttlMs - 1;
    expect((await publish(store, batch(1), "k")).replayed).toBe("true");
    now += 2;
    expect(await publish(store, batch(1), "k")).toEqual({ status: 201, body: { eventIds: ["t-2"] }, replayed: null });
  });

  fileTest("key segments of days wholly past the TTL are deleted at start-up; the rest still replays", async () => {
    using dir = tempDir();
    let now = Date.parse("2025-01-10T12:00:00.000Z");
    let store = await storeWithTopic(dir.path, { clock: () => now });
    await publish(store, batch(1), "a");
    now = Date.parse("2025-01-12T12:00:00.000Z");
    await publish(store, batch(2), "b");
    now = Date.parse("2025-01-14T12:00:00.000Z");
    await publish(store, batch(3), "c");
    expect(readdirSync(join(store.dataDir, "idempotency")).sort()).toEqual(["2025-01-10", "2025-01-12", "2025-01-14"]);
    now = Date.parse("2025-01-14T13:00:00.000Z");
    store = await store.reopen();
    expect(readdirSync(join(store.dataDir, "idempotency"))).toEqual(["2025-01-14"]);
    expect(await publish(store, batch(3), "c")).toEqual({ status: 201, body: { eventIds: ["t-3"] }, replayed: "true" });
    expect(await publish(store, batch(2), "b")).toEqual({ status: 201, body: { eventIds: ["t-4"] }, replayed: null });
    expect((await (await store.request("GET", "/topics/t/events")).json()).events.map((e: { id: string }) => e.id)).toEqual(["t-1", "t-2", "t-3", "t-4"]);
    await store[Symbol.asyncDispose]();
  });

  fileTest("a key is committed with its batch: a crash that loses the key's part loses the batch", async () => {
    using dir = tempDir();
    let store = await storeWithTopic(dir.path);
    await publish(store, batch(1), "first");
    const [segment] = keySegments(store.dataDir);
    const keysSize = statSync(segment!).size;
    await publish(store, batch(2), "second");
    await store[Symbol.asyncDispose]();
    truncateSync(segment!, keysSize);
    store = await store.reopen();
    expect(store.log.head("t")).toBe(1);
    expect(await publish(store, batch(2), "second")).toEqual({ status: 201, body: { eventIds: ["t-2"] }, replayed: null });
    expect((await publish(store, batch(1), "first")).replayed).toBe("true");
    await store[Symbol.asyncDispose]();
  });
});

describe("expectedSequence", () => {
  test("stores when the topic is at the expected sequence; later events of the batch count earlier ones", async () => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    expect((await publish(store, [{ topic: "t", type: "e", payload: { n: 1 }, expectedSequence: 0 }])).body).toEqual({ eventIds: ["t-1"] });
    const res = await publish(store, [
      { topic: "t", type: "e", payload: { n: 2 }, expectedSequence: 1 },
      { topic: "u", type: "e", payload: { n: 3 }, expectedSequence: 0 },
      { topic: "t", type: "e", payload: { n: 4 }, expectedSequence: 2 },
    ]);
    expect(res.body).toEqual({ eventIds: ["t-2", "u-1", "t-3"] });
  });

  test("a mismatch → 409 SEQUENCE_CONFLICT with topic, expected and current sequence; nothing of the batch stored", async () => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    await publish(store, [...batch(1), ...batch(2)]);
    const res = await publish(store, [
      { topic: "u", type: "e", payload: { n: 1 } },
      { topic: "t", type: "e", payload: { n: 3 }, expectedSequence: 1 },
    ]);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      error: "Topic 't' is at sequence 2, expected 1",
      code: "SEQUENCE_CONFLICT",
      topic: "t",
      expectedSequence: 1,
      currentSequence: 2,
    });
    expect([store.log.head("t"), store.log.head("u")]).toEqual([2, 0]);
  });

  test.each([[-1], [1.5], ["1"], [null]])("expectedSequence %p → 400", async (expectedSequence) => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    const res = await publish(store, [{ topic: "t", type: "e", payload: { n: 1 }, expectedSequence }]);
    expect(res.status).toBe(400);
    expect(store.log.head("t")).toBe(0);
  });

  test("16 racing writers: exactly one winner per sequence, the rest 409, no gaps", async () => {
    using dir = tempDir();
    await using store = await storeWithTopic(dir.path);
    const rounds = 10;
    for (let round = 0; round < rounds; round++) {
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, writer) => publish(store, [{ topic: "t", type: "e", payload: { n: writer }, expectedSequence: round }])),
      );
      const winners = results.filter((r) => r.status === 201);
      expect(winners.map((w) => w.body)).toEqual([{ eventIds: [`t-${round + 1}`] }]);
      const losers = results.filter((r) => r.status === 409);
      expect(losers).toHaveLength(15);
      for (const loser of losers) expect([loser.body.code, loser.body.currentSequence]).toEqual(["SEQUENCE_CONFLICT", round + 1]);
    }
    const { events } = await (await store.request("GET", "/topics/t/events")).json();
    expect(events.map((e: { id: string }) => e.id)).toEqual(Array.from({ length: rounds }, (_, i) => `t-${i + 1}`));
  });
});
