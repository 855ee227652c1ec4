/**
 * The index checkpoint of cluster mode, on a real nats-server (no mocks):
 * a reopened node loads the snapshot and replays only the messages after
 * it, answers exactly as a node that replayed everything, ignores a
 * snapshot it cannot trust, and two writers leave a valid one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { openNatsBackend, type NatsBackendOptions } from "../src/backends/nats/nats-backend.ts";
import { NatsEventLog } from "../src/backends/nats/nats-event-log.ts";
import type { StoreBackend } from "../src/store/backend.ts";
import type { AppendEvent, EventLog } from "../src/store/event-log.ts";
import { requireNatsServer, startNats, type NatsCluster } from "./nats-server.ts";

const available = requireNatsServer();
/** Small, so a test writes checkpoints after a few dozen messages. */
const EVERY = 50;
const decoder = new TextDecoder();
const event = (topic: string, n: number): AppendEvent => ({ topic, type: "e", payloadJson: JSON.stringify({ n }) });

for (const size of [1, 3] as const) describe.skipIf(!available)(`nats index checkpoint, R${size}`, () => {
  let nats: NatsCluster;
  let connection: NatsConnection;
  let n = 0;
  beforeAll(async () => {
    nats = await startNats(size);
    connection = await connect({ servers: nats.urls });
  }, 60_000);
  afterAll(async () => {
    await connection?.close();
    await nats?.stop();
  });

  const fresh = () => `ckpt_${size}_${++n}`;
  const open = (prefix: string, options: Partial<NatsBackendOptions> = {}) =>
    openNatsBackend({ servers: nats.urls, replicas: size, prefix, checkpointEvery: EVERY, checkpointIntervalMs: 0, report: () => {}, ...options });
  const natsLog = (backend: StoreBackend) => backend.log as NatsEventLog;
  const index = async (prefix: string) => new Objm(jetstream(connection)).open(`${prefix}_index`);
  /** The sequence the stored checkpoint claims (0: none). */
  const storedSeq = async (prefix: string) => Number((await (await index(prefix)).info("batch-index"))?.metadata?.seq ?? 0);
  const lastSeq = async (prefix: string) => (await (await jetstreamManager(connection)).streams.info(`${prefix}_events`)).state.last_seq;
  /** A log that replays the whole stream (no checkpoint): the reference every answer is compared with. */
  const fullReplay = async (prefix: string, clock?: () => number) =>
    NatsEventLog.open({
      connection,
      jetstream: jetstream(connection),
      manager: await jetstreamManager(connection),
      stream: `${prefix}_events`,
      subject: `${prefix}.batches`,
      ...(clock ? { clock } : {}),
    });

  /** 130 messages over topics t and u: single, multi-topic and idempotent batches, at times one second apart. */
  async function writeHistory(prefix: string): Promise<{ clock: { now: number }; firstKeyIds: string[] }> {
    const clock = { now: Date.parse("2025-03-01T00:00:00.000Z") };
    const backend = await open(prefix, { clock: () => clock.now });
    try {
      const first = await backend.log.append([event("t", 0), event("u", 0)], { key: "early", hash: "h" });
      for (let i = 1; i < 130; i++) {
        clock.now += 1_000;
        if (i % 10 === 0) await backend.log.append([event("u", i), event("t", i), event("u", i)]);
        else if (i % 7 === 0) await backend.log.append([event("t", i)], { key: `k-${i}`, hash: `h-${i}` });
        else await backend.log.append([event(i % 3 === 0 ? "u" : "t", i)]);
      }
      await waitUntil(async () => (await storedSeq(prefix)) >= 100);
      return { clock, firstKeyIds: first.ids };
    } finally {
      await backend.close();
    }
  }

  async function expectSameAnswers(log: EventLog, reference: EventLog): Promise<void> {
    for (const topic of ["t", "u", "none"]) {
      expect(await log.head(topic)).toBe(await reference.head(topic));
      const ranges = [
        { after: 0, limit: 1_000 },
        { after: 5, limit: 7 },
        { after: 40, limit: 3 },
        { after: 0, limit: 5, fromTime: Date.parse("2025-03-01T00:01:00.000Z") },
        { after: 0, limit: 100, fromTime: Date.parse("2025-03-01T00:00:30.000Z"), beforeTime: Date.parse("2025-03-01T00:01:45.000Z") },
        { after: 0, limit: 100, beforeTime: Date.parse("2025-03-01T00:00:02.000Z") },
        // One ms past a batch's time: the batch at exactly that second is out of the first range and in the second.
        { after: 0, limit: 100, fromTime: Date.parse("2025-03-01T00:00:40.001Z"), beforeTime: Date.parse("2025-03-01T00:01:50.001Z") },
      ];
      for (const range of ranges) {
        const [mine, theirs] = [await log.read(topic, range), await reference.read(topic, range)];
        expect(mine.lastSequence).toBe(theirs.lastSequence);
        expect(mine.events.map((e) => decoder.decode(e))).toEqual(theirs.events.map((e) => decoder.decode(e)));
      }
    }
    expect(await log.idempotencyKeyCount()).toBe(await reference.idempotencyKeyCount());
  }

  test("after more than N messages a checkpoint exists; a reopened node loads it and answers exactly as a full replay (heads, reads by id and time, idempotency)", async () => {
    const prefix = fresh();
    const { clock, firstKeyIds } = await writeHistory(prefix);
    const reference = await fullReplay(prefix, () => clock.now);
    const reopened = await open(prefix, { clock: () => clock.now, checkpointEvery: 1_000_000 });
    try {
      expect(natsLog(reopened).checkpointSeq).toBeGreaterThanOrEqual(100);
      expect(reference.checkpointSeq).toBe(0);
      await expectSameAnswers(reopened.log, reference);
      // A key used before the checkpoint is still replayed, and still refuses another batch.
      expect(await reopened.log.append([event("t", 0), event("u", 0)], { key: "early", hash: "h" })).toEqual({ ids: firstKeyIds, replayed: true });
      expect(await reopened.log.append([event("t", 7)], { key: "k-7", hash: "h-7" })).toMatchObject({ replayed: true });
      await expect(reopened.log.append([event("t", 0)], { key: "early", hash: "other" })).rejects.toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
      // And the index goes on from there: the next id continues the topic.
      const head = await reference.head("t");
      expect((await reopened.log.append([event("t", 999)])).ids).toEqual([`t-${head + 1}`]);
    } finally {
      await reopened.close();
      await reference.close();
    }
  }, 60_000);

  test("a node reopened after the checkpoint replays only the messages after its sequence S", async () => {
    const prefix = fresh();
    await writeHistory(prefix);
    // A tail after the checkpoint, by a node that writes none.
    const writer = await open(prefix, { checkpointEvery: 1_000_000 });
    for (let i = 0; i < 9; i++) await writer.log.append([event("t", 1_000 + i)]);
    await writer.close();
    const s = await storedSeq(prefix);
    const last = await lastSeq(prefix);
    const reopened = await open(prefix, { checkpointEvery: 1_000_000 });
    try {
      expect(natsLog(reopened).checkpointSeq).toBe(s);
      expect(natsLog(reopened).replayedAtOpen).toBe(last - s);
      expect(last - s).toBeGreaterThanOrEqual(9);
      expect(natsLog(reopened).replayedAtOpen).toBeLessThan(last);
    } finally {
      await reopened.close();
    }
  }, 60_000);

  test("a corrupt, foreign-format, newer-than-the-stream or other-stream snapshot is ignored with a report; the node replays everything and then writes a good one", async () => {
    const prefix = fresh();
    await writeHistory(prefix);
    const info = await (await jetstreamManager(connection)).streams.info(`${prefix}_events`);
    const snapshot = (fields: object) => gzipSync(JSON.stringify({ format: 1, seq: 10, lastTimeMs: 0, streamCreated: info.created, topics: {}, keys: [], ...fields }));
    const cases: [string, Uint8Array][] = [
      ["corrupt", new TextEncoder().encode("not a snapshot")],
      ["truncated", snapshot({}).subarray(0, 20)],
      ["foreign format", snapshot({ format: 99 })],
      ["malformed entry", snapshot({ topics: { t: [[1, -1], [1, 1], [0, 0], [0, 0]] } })],
      ["newer than the stream", snapshot({ seq: info.state.last_seq + 1 })],
      ["of a recreated stream", snapshot({ streamCreated: "2001-01-01T00:00:00Z" })],
    ];
    const reference = await fullReplay(prefix);
    try {
      for (const [name, bytes] of cases) {
        // Its metadata claims a newer sequence than any real checkpoint: the node must replace it all the same.
        await (await index(prefix)).putBlob({ name: "batch-index", metadata: { format: "1", seq: "999999999", stream_created: info.created } }, bytes);
        const reports: string[] = [];
        const node = await open(prefix, { report: (message) => reports.push(message) });
        try {
          expect({ name, reports }).toEqual({ name, reports: [expect.stringContaining("index checkpoint of")] });
          expect(natsLog(node).checkpointSeq).toBe(0);
          expect(natsLog(node).replayedAtOpen).toBe(info.state.last_seq);
          await expectSameAnswers(node.log, reference);
          await waitUntil(async () => (await storedSeq(prefix)) === info.state.last_seq);
        } finally {
          await node.close();
        }
        const next = await open(prefix, { checkpointEvery: 1_000_000 });
        expect(natsLog(next).checkpointSeq).toBe(info.state.last_seq);
        await next.close();
      }
    } finally {
      await reference.close();
    }
  }, 120_000);

  test("two nodes writing checkpoints concurrently leave a valid one", async () => {
    const prefix = fresh();
    const a = await open(prefix);
    const b = await open(prefix);
    try {
      const writes = (backend: StoreBackend, topic: string) => (async () => {
        for (let i = 0; i < 120; i++) await backend.log.append([event(topic, i), event("both", i)]);
      })();
      await Promise.all([writes(a, "a"), writes(b, "b")]);
      const last = await lastSeq(prefix);
      await waitUntil(async () => natsLog(a).committedHead("both") === 240 && natsLog(b).committedHead("both") === 240);
      await waitUntil(async () => (await storedSeq(prefix)) >= EVERY);
      expect(last).toBe(240);
    } finally {
      await a.close();
      await b.close();
    }
    const reports: string[] = [];
    const reopened = await open(prefix, { report: (message) => reports.push(message), checkpointEvery: 1_000_000 });
    const reference = await fullReplay(prefix);
    try {
      expect(reports).toEqual([]);
      expect(natsLog(reopened).checkpointSeq).toBe(await storedSeq(prefix));
      expect(natsLog(reopened).checkpointSeq).toBeGreaterThan(0);
      for (const topic of ["a", "b", "both"]) {
        expect(await reopened.log.head(topic)).toBe(await reference.head(topic));
        const [mine, theirs] = [await reopened.log.read(topic, { after: 0, limit: 1_000 }), await reference.read(topic, { after: 0, limit: 1_000 })];
        expect(mine.events.map((e) => decoder.decode(e))).toEqual(theirs.events.map((e) => decoder.decode(e)));
      }
      expect(await reopened.log.head("both")).toBe(240);
    } finally {
      await reopened.close();
      await reference.close();
    }
  }, 60_000);
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await Bun.sleep(10);
  }
}
