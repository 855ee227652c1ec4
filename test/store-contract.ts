/**
 * The contract every backend must pass: append/read/head semantics, dense
 * ids, atomic multi-topic batches, expectedSequence, idempotency keys,
 * time ranges, subscriptions (by any writer of the backend), and topic and
 * consumer persistence across a reopen when the backend is durable. One
 * file per backend runs it: store-contract.file.int.test.ts,
 * store-contract.memory.int.test.ts, and the JetStream backend's when it
 * lands.
 */
import { describe, expect, test } from "bun:test";
import { IdempotencyKeyReusedError, SequenceConflictError } from "../src/errors.ts";
import type { StoreBackend } from "../src/store/backend.ts";
import { MAX_REMEMBERED_REMOVALS, type StoredConsumer } from "../src/store/consumer-store.ts";
import type { AppendEvent, EventLog } from "../src/store/event-log.ts";

export interface BackendFactory {
  /** A fresh backend (the contract closes it); `clock` drives event timestamps. */
  open(clock?: () => number): Promise<StoreBackend>;
  /** The same store opened again once `open`'s backend is closed, as after a restart; absent when nothing survives. */
  reopen?(clock?: () => number): Promise<StoreBackend>;
  /** A second writer over the same store, open at the same time; absent when a store has one writer. */
  secondWriter?(): Promise<StoreBackend>;
}

const decoder = new TextDecoder();
const event = (topic: string, n: number, expectedSequence?: number): AppendEvent => ({
  topic,
  type: "e",
  payloadJson: JSON.stringify({ n }),
  ...(expectedSequence === undefined ? {} : { expectedSequence }),
});
const parse = (bytes: Uint8Array) => JSON.parse(decoder.decode(bytes));

async function readAll(log: EventLog, topic: string): Promise<any[]> {
  return (await log.read(topic, { after: 0, limit: 1_000_000 })).events.map(parse);
}

const CONSUMER: StoredConsumer = {
  id: "c-1",
  callback: "http://receiver.test/hook",
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  cursors: { t: 0, u: 0 },
  paused: false,
  createdAt: "2025-01-15T10:30:00.000Z",
};

export function storeContract(name: string, factory: BackendFactory): void {
  const withBackend = async (run: (backend: StoreBackend) => Promise<void>, clock?: () => number) => {
    const backend = await factory.open(clock);
    try {
      await run(backend);
    } finally {
      await backend.close();
    }
  };

  describe(`store contract: ${name}`, () => {
    test("append: dense ids per topic, in order; head and read agree; events are the client JSON", () =>
      withBackend(async ({ log }) => {
        expect(await log.head("t")).toBe(0);
        expect((await log.append([event("t", 1), event("t", 2)])).ids).toEqual(["t-1", "t-2"]);
        expect((await log.append([event("u", 1), event("t", 3)])).ids).toEqual(["u-1", "t-3"]);
        expect([await log.head("t"), await log.head("u"), await log.head("none")]).toEqual([3, 1, 0]);
        const events = await readAll(log, "t");
        expect(events.map((e) => e.id)).toEqual(["t-1", "t-2", "t-3"]);
        expect(Object.keys(events[0]!)).toEqual(["id", "timestamp", "type", "payload"]);
        expect(events[2]).toEqual({ id: "t-3", timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), type: "e", payload: { n: 3 } });
      }));

    test("read: after and limit page through; lastSequence is where the next page starts", () =>
      withBackend(async ({ log }) => {
        await log.append(Array.from({ length: 10 }, (_, i) => event("t", i + 1)));
        const page = await log.read("t", { after: 3, limit: 4 });
        expect(page.events.map((e) => parse(e).id)).toEqual(["t-4", "t-5", "t-6", "t-7"]);
        expect(page.lastSequence).toBe(7);
        expect(await log.read("t", { after: 10, limit: 5 })).toEqual({ events: [], lastSequence: 10 });
        expect(await log.read("none", { after: 0, limit: 5 })).toEqual({ events: [], lastSequence: 0 });
      }));

    test("read by time: [fromTime, beforeTime) of the events' timestamps, which never go backwards", () => {
      let now = Date.parse("2025-03-01T23:59:59.000Z");
      return withBackend(
        async ({ log }) => {
          await log.append([event("t", 1), event("t", 2)]);
          now = Date.parse("2025-03-02T00:00:01.000Z");
          await log.append([event("t", 3)]);
          now = Date.parse("2025-03-01T12:00:00.000Z"); // the clock steps back: timestamps do not
          await log.append([event("t", 4)]);
          const day = (date: string) => ({ fromTime: Date.parse(date), beforeTime: Date.parse(date) + 86_400_000 });
          const ids = async (range: object) => (await log.read("t", { after: 0, limit: 100, ...range })).events.map((e) => parse(e).id);
          expect(await ids(day("2025-03-01"))).toEqual(["t-1", "t-2"]);
          expect(await ids(day("2025-03-02"))).toEqual(["t-3", "t-4"]);
          expect(await ids(day("2025-02-28"))).toEqual([]);
          expect(await ids({ ...day("2025-03-02"), limit: 1 })).toEqual(["t-3"]);
          expect(await ids({ after: 3, ...day("2025-03-02") })).toEqual(["t-4"]);
          expect((await readAll(log, "t")).map((e) => e.timestamp)).toEqual([
            "2025-03-01T23:59:59.000Z",
            "2025-03-01T23:59:59.000Z",
            "2025-03-02T00:00:01.000Z",
            "2025-03-02T00:00:01.000Z",
          ]);
        },
        () => now,
      );
    });

    test("a batch across topics is atomic: one conflict refuses all of it and leaves no gap", () =>
      withBackend(async ({ log }) => {
        await log.append([event("t", 1)]);
        const refused = log.append([event("u", 1), event("t", 2, 0)]);
        await expect(refused).rejects.toBeInstanceOf(SequenceConflictError);
        await expect(refused).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT", details: { topic: "t", expectedSequence: 0, currentSequence: 1 } });
        expect([await log.head("t"), await log.head("u")]).toEqual([1, 0]);
        expect((await log.append([event("u", 1), event("t", 2)])).ids).toEqual(["u-1", "t-2"]);
      }));

    test("expectedSequence counts earlier events of the batch", () =>
      withBackend(async ({ log }) => {
        expect((await log.append([event("t", 1, 0), event("t", 2, 1), event("u", 1, 0)])).ids).toEqual(["t-1", "t-2", "u-1"]);
        await expect(log.append([event("t", 3, 2), event("t", 4, 2)])).rejects.toBeInstanceOf(SequenceConflictError);
        expect(await log.head("t")).toBe(2);
      }));

    test("concurrent appends get distinct, dense ids", () =>
      withBackend(async ({ log }) => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append([event("t", i), event("u", i)])));
        const ids = results.flatMap((r) => r.ids.filter((id) => id.startsWith("t-")));
        expect(ids.sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))).toEqual(Array.from({ length: 20 }, (_, i) => `t-${i + 1}`));
        expect((await readAll(log, "u")).map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => `u-${i + 1}`));
      }));

    test("idempotency: a replay stores nothing and answers the first ids; another batch under the key is refused", () =>
      withBackend(async ({ log }) => {
        const first = await log.append([event("t", 1), event("u", 1)], { key: "k", hash: "h1" });
        expect(first).toEqual({ ids: ["t-1", "u-1"], replayed: false });
        expect(await log.append([event("t", 1), event("u", 1)], { key: "k", hash: "h1" })).toEqual({ ids: ["t-1", "u-1"], replayed: true });
        await expect(log.append([event("t", 2)], { key: "k", hash: "h2" })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
        const [a, b] = await Promise.all([log.append([event("t", 9)], { key: "race", hash: "h" }), log.append([event("t", 9)], { key: "race", hash: "h" })]);
        expect(a.ids).toEqual(b.ids);
        expect(await log.head("t")).toBe(2);
      }));

    test("subscribe: told of each commit of the named topics (or all), until the signal aborts", () =>
      withBackend(async ({ log }) => {
        const heardT: [string, number][] = [];
        const heardAll: [string, number][] = [];
        const onlyT = new AbortController();
        const all = new AbortController();
        log.subscribe(["t"], (topic, head) => heardT.push([topic, head]), onlyT.signal);
        log.subscribe(null, (topic, head) => heardAll.push([topic, head]), all.signal);
        await log.append([event("t", 1), event("u", 1)]);
        await log.append([event("t", 2)]);
        onlyT.abort();
        await log.append([event("t", 3)]);
        expect(heardT).toEqual([["t", 1], ["t", 2]]);
        expect(heardAll.filter(([topic]) => topic === "t" || topic === "u")).toEqual([["t", 1], ["u", 1], ["t", 2], ["t", 3]]);
        all.abort();
      }));

    if (factory.secondWriter) {
      const secondWriter = factory.secondWriter;
      test("subscribe sees commits of any writer of the backend", () =>
        withBackend(async ({ log }) => {
          const other = await secondWriter();
          try {
            const heard: number[] = [];
            const subscription = new AbortController();
            log.subscribe(["t"], (_, head) => heard.push(head), subscription.signal);
            await other.log.append([event("t", 1)]);
            await waitUntil(() => heard.length > 0);
            expect(heard).toEqual([1]);
            expect(await log.head("t")).toBe(1);
            subscription.abort();
          } finally {
            await other.close();
          }
        }));
    }

    test("topics: saved documents load back in name order", () =>
      withBackend(async ({ topics }) => {
        const definition = (name: string) => ({ name, schemas: [{ eventType: "e", type: "object" }], createdAt: "2025-01-15T10:30:00.000Z" });
        await topics.save(definition("b"), JSON.stringify(definition("b")));
        await topics.save(definition("a"), JSON.stringify(definition("a")));
        await topics.save({ ...definition("b"), updatedAt: "x" }, JSON.stringify({ ...definition("b"), updatedAt: "x" }));
        const loaded = await topics.load();
        expect(loaded.failures).toEqual([]);
        expect(loaded.definitions).toEqual([definition("a"), { ...definition("b"), updatedAt: "x" }]);
      }));

    test("consumers: registrations, cursors (never backwards), pauses and removals", () =>
      withBackend(async ({ consumers }) => {
        await consumers.add({ ...CONSUMER, cursors: { ...CONSUMER.cursors } });
        await consumers.add({ ...CONSUMER, id: "c-2", cursors: { t: 3 } });
        await consumers.advance("c-1", "t", 7);
        await consumers.advance("c-1", "t", 5);
        await consumers.setPaused("c-1", true);
        await consumers.remove("c-2", { removedAt: "2025-01-15T11:00:00.000Z", reason: "gone" });
        expect(consumers.list()).toEqual([{ ...CONSUMER, cursors: { t: 7, u: 0 }, paused: true }]);
        expect(consumers.get("c-2")).toBeUndefined();
        expect(consumers.removal("c-2")).toEqual({ id: "c-2", callback: CONSUMER.callback, removedAt: "2025-01-15T11:00:00.000Z", reason: "gone" });
      }));

    test(`removals: the latest ${MAX_REMEMBERED_REMOVALS} are remembered, oldest forgotten first (also after a reopen when durable)`, async () => {
      const first = await factory.open();
      const removedAt = (i: number) => `2025-01-15T11:${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}.000Z`;
      const total = MAX_REMEMBERED_REMOVALS + 2;
      for (let i = 0; i < total; i++) {
        await first.consumers.add({ ...CONSUMER, id: `r-${i}`, cursors: { t: 0 } });
        await first.consumers.remove(`r-${i}`, { removedAt: removedAt(i), reason: `reason ${i}` });
      }
      const check = (store: StoreBackend) => {
        expect([store.consumers.removal("r-0"), store.consumers.removal("r-1")]).toEqual([undefined, undefined]);
        expect(store.consumers.removal("r-2")).toEqual({ id: "r-2", callback: CONSUMER.callback, removedAt: removedAt(2), reason: "reason 2" });
        expect(store.consumers.removal(`r-${total - 1}`)?.reason).toBe(`reason ${total - 1}`);
        expect(store.consumers.list()).toEqual([]);
      };
      check(first);
      await first.close();
      if (!factory.reopen) return;
      const second = await factory.reopen();
      try {
        check(second);
      } finally {
        await second.close();
      }
    }, 30_000);

    if (factory.reopen) {
      const reopen = factory.reopen;
      test("what was acknowledged survives a reopen: events, heads, idempotency keys, topics, consumers", async () => {
        const first = await factory.open();
        await first.log.append([event("t", 1), event("u", 1)], { key: "k", hash: "h" });
        await first.log.append([event("t", 2)]);
        const definition = { name: "t", schemas: [{ eventType: "e", type: "object" }], createdAt: "2025-01-15T10:30:00.000Z" };
        await first.topics.save(definition, JSON.stringify(definition));
        await first.consumers.add({ ...CONSUMER, cursors: { ...CONSUMER.cursors } });
        await first.consumers.advance("c-1", "u", 1);
        await first.close();
        const second = await reopen();
        try {
          expect([await second.log.head("t"), await second.log.head("u")]).toEqual([2, 1]);
          expect((await readAll(second.log, "t")).map((e) => e.id)).toEqual(["t-1", "t-2"]);
          expect(await second.log.append([event("t", 1), event("u", 1)], { key: "k", hash: "h" })).toEqual({ ids: ["t-1", "u-1"], replayed: true });
          expect((await second.log.append([event("t", 3)])).ids).toEqual(["t-3"]);
          expect((await second.topics.load()).definitions).toEqual([definition]);
          expect(second.consumers.list()).toEqual([{ ...CONSUMER, cursors: { t: 0, u: 1 } }]);
        } finally {
          await second.close();
        }
      });
    }

    test("after close, appends are refused with SHUTTING_DOWN", async () => {
      const backend = await factory.open();
      await backend.close();
      await expect(backend.log.append([event("t", 1)])).rejects.toMatchObject({ code: "SHUTTING_DOWN" });
    });
  });
}

async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await Bun.sleep(1);
  }
}
