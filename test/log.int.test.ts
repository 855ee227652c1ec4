import { describe, expect, test } from "bun:test";
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileEventLog, type FileEventLogOptions } from "../src/log/file-event-log.ts";
import type { AppendEvent, AppendResult } from "../src/store/event-log.ts";
import { isValidTopicName } from "../src/topics/topic-name.ts";
import { FaultyStorage } from "./faulty-storage.ts";
import { SIMPLE_SCHEMA, createTestApp, tempDir } from "./utils.ts";

const decoder = new TextDecoder();

function openLog(dir: string, options: Partial<FileEventLogOptions> = {}): Promise<FileEventLog> {
  return FileEventLog.open({ dataDir: dir, isTopicName: isValidTopicName, report: () => {}, ...options });
}

function events(topic: string, count: number, from = 0): AppendEvent[] {
  return Array.from({ length: count }, (_, i) => ({ topic, type: "e", payloadJson: JSON.stringify({ n: from + i }) }));
}

function readIds(log: FileEventLog, topic: string, after = 0, limit = 1_000_000): string[] {
  return log.readNow(topic, { after, limit }).events.map((line) => JSON.parse(decoder.decode(line)).id);
}

function segmentFiles(dir: string, topic: string): string[] {
  const topicDir = join(dir, "topics", topic);
  return readdirSync(topicDir)
    .sort()
    .flatMap((date) => readdirSync(join(topicDir, date)).sort().map((file) => join(topicDir, date, file)));
}

function lastSegment(dir: string, topic: string): string {
  return segmentFiles(dir, topic).at(-1)!;
}

function range(from: number, to: number, topic = "t"): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${topic}-${from + i}`);
}

describe("log recovery", () => {
  test("torn last line: cut on open, the next append continues the sequence", async () => {
    using dir = tempDir();
    let log = await openLog(dir.path);
    await log.append(events("t", 3));
    await log.close();
    const file = lastSegment(dir.path, "t");
    const committed = statSync(file).size;
    appendFileSync(file, '{"id":"t-4","timestamp":"2025-01-01T00:00:00.000Z","ty');
    log = await openLog(dir.path);
    expect(log.committedHead("t")).toBe(3);
    expect(statSync(file).size).toBe(committed);
    expect((await log.append(events("t", 1))).ids).toEqual(["t-4"]);
    expect(readIds(log, "t")).toEqual(range(1, 4));
    await log.close();
  });

  test("partial batch at the tail (lines without their commit marker) is removed", async () => {
    using dir = tempDir();
    let log = await openLog(dir.path);
    await log.append(events("t", 2));
    await log.close();
    const file = lastSegment(dir.path, "t");
    const committed = readFileSync(file);
    const ts = "2025-01-01T00:00:00.000Z";
    appendFileSync(file, `{"id":"t-3","timestamp":"${ts}","type":"e","payload":{}}\n{"id":"t-4","timestamp":"${ts}","type":"e","payload":{}}\n`);
    log = await openLog(dir.path);
    expect(log.committedHead("t")).toBe(2);
    expect(readIds(log, "t")).toEqual(["t-1", "t-2"]);
    expect(readFileSync(file)).toEqual(committed);
    await log.close();
  });

  test("a multi-topic batch cut between topics is removed from every topic", async () => {
    using dir = tempDir();
    let log = await openLog(dir.path);
    await log.append([...events("a", 2), ...events("b", 1)]);
    const sizeOfB = statSync(lastSegment(dir.path, "b")).size;
    await log.append([...events("a", 2), ...events("b", 2), ...events("c", 1)]);
    await log.close();
    // The crash: a's and c's part of the second batch reached the disk, b's did not.
    truncateSync(lastSegment(dir.path, "b"), sizeOfB);
    log = await openLog(dir.path);
    expect([log.committedHead("a"), log.committedHead("b"), log.committedHead("c")]).toEqual([2, 1, 0]);
    expect(readIds(log, "a")).toEqual(["a-1", "a-2"]);
    expect(readIds(log, "c")).toEqual([]);
    expect(existsSync(join(dir.path, "topics", "c"))).toBe(true);
    expect(readdirSync(join(dir.path, "topics", "c"))).toEqual([]);
    expect((await log.append([...events("a", 1), ...events("b", 1), ...events("c", 1)])).ids).toEqual(["a-3", "b-2", "c-1"]);
    await log.close();
  });

  test("a commit marker whose lines did not all reach the disk (CRC mismatch) is not trusted", async () => {
    using dir = tempDir();
    let log = await openLog(dir.path);
    await log.append(events("t", 1));
    await log.append(events("t", 2));
    await log.close();
    const file = lastSegment(dir.path, "t");
    const text = readFileSync(file, "utf8");
    const damaged = text.replace('"payload":{"n":1}', '"payload":{"n":\u0000}');
    expect(damaged).not.toBe(text);
    writeFileSync(file, damaged);
    log = await openLog(dir.path);
    expect(readIds(log, "t")).toEqual(["t-1"]);
    await log.close();
  });

  test("recovery run twice gives the same result as once", async () => {
    using dir = tempDir();
    let log = await openLog(dir.path);
    await log.append([...events("a", 3), ...events("b", 2)]);
    await log.close();
    appendFileSync(lastSegment(dir.path, "a"), '{"id":"a-4","tim');
    appendFileSync(lastSegment(dir.path, "b"), '{"$commit":9,"heads":{"b":3},"crc":1}\n');
    log = await openLog(dir.path);
    const first = { a: readIds(log, "a"), b: readIds(log, "b"), bytes: readFileSync(lastSegment(dir.path, "a")) };
    await log.close();
    log = await openLog(dir.path);
    expect({ a: readIds(log, "a"), b: readIds(log, "b"), bytes: readFileSync(lastSegment(dir.path, "a")) }).toEqual(first);
    expect(first.a).toEqual(range(1, 3, "a"));
    expect(first.b).toEqual(range(1, 2, "b"));
    await log.close();
  });

  test("a segment holding only uncommitted bytes is deleted and the previous one continues", async () => {
    using dir = tempDir();
    let log = await openLog(dir.path, { segmentMaxBytes: 4096 });
    await log.append(events("t", 20));
    while (segmentFiles(dir.path, "t").length < 2) await log.append(events("t", 20));
    const head = log.committedHead("t");
    await log.close();
    const next = join(dir.path, "topics", "t", "2099-01-01", `${String(head + 1).padStart(12, "0")}.jsonl`);
    mkdirSync(join(dir.path, "topics", "t", "2099-01-01"));
    writeFileSync(next, '{"id":"t-');
    log = await openLog(dir.path, { segmentMaxBytes: 4096 });
    expect(existsSync(next)).toBe(false);
    expect(existsSync(join(dir.path, "topics", "t", "2099-01-01"))).toBe(false);
    expect(log.committedHead("t")).toBe(head);
    expect((await log.append(events("t", 1))).ids).toEqual([`t-${head + 1}`]);
    await log.close();
  });
});

describe("log reads", () => {
  test("one group across 500 topics with 128-character names (its marker outgrows the initial write buffer) and multi-byte payloads is stored whole and survives a reopen", async () => {
    using dir = tempDir();
    const topics = Array.from({ length: 500 }, (_, i) => `${String(i).padStart(3, "0")}${"n".repeat(125)}`);
    const payload = { text: "ü€😀".repeat(50) };
    const batch = topics.map((topic) => ({ topic, type: "e", payloadJson: JSON.stringify(payload) }));
    let log = await openLog(dir.path);
    const [first, second] = await Promise.all([log.append(batch), log.append(events(topics[7]!, 2))]);
    expect(first.ids).toEqual(topics.map((topic) => `${topic}-1`));
    expect(second.ids).toEqual([`${topics[7]}-2`, `${topics[7]}-3`]);
    const readBack = (topic: string) => log.readNow(topic, { after: 0, limit: 10 }).events.map((line) => JSON.parse(decoder.decode(line)));
    expect(readBack(topics[499]!)).toEqual([{ id: `${topics[499]}-1`, timestamp: expect.any(String), type: "e", payload }]);
    expect(readBack(topics[7]!).map((event) => event.id)).toEqual(range(1, 3, topics[7]));
    await log.close();
    log = await openLog(dir.path);
    for (const topic of topics) expect(log.committedHead(topic)).toBe(topic === topics[7] ? 3 : 1);
    const stored = JSON.parse(decoder.decode(log.readNow(topics[499]!, { after: 0, limit: 10 }).events[0]!));
    expect(stored.payload).toEqual(payload);
    expect(readIds(log, topics[7]!)).toEqual(range(1, 3, topics[7]));
    await log.close();
  });

  test("reads across segment boundaries, also with more segments than the index cache holds", async () => {
    using dir = tempDir();
    let log = await openLog(dir.path, { segmentMaxBytes: 4096 });
    for (let i = 0; i < 40; i++) await log.append(events("t", 50, i * 50));
    expect(segmentFiles(dir.path, "t").length).toBe(40);
    expect(readIds(log, "t")).toEqual(range(1, 2000));
    await log.close();
    log = await openLog(dir.path, { segmentMaxBytes: 4096 });
    expect(readIds(log, "t", 1990)).toEqual(range(1991, 2000));
    expect(readIds(log, "t", 3, 200)).toEqual(range(4, 203));
    for (const after of [0, 49, 50, 51, 777, 1999]) expect(readIds(log, "t", after, 3)).toEqual(range(after + 1, Math.min(after + 3, 2000)));
    const payloads = log.readNow("t", { after: 1000, limit: 2 }).events.map((l) => JSON.parse(decoder.decode(l)).payload);
    expect(payloads).toEqual([{ n: 1000 }, { n: 1001 }]);
    await log.close();
  });

  test("reads across date boundaries: one folder per UTC day, date reads pick that day", async () => {
    using dir = tempDir();
    let now = Date.parse("2025-03-01T23:59:59.999Z");
    const log = await openLog(dir.path, { clock: () => now });
    await log.append(events("t", 3));
    now += 1;
    await log.append(events("t", 2));
    now += 86_400_000;
    await log.append(events("t", 1));
    expect(readdirSync(join(dir.path, "topics", "t")).sort()).toEqual(["2025-03-01", "2025-03-02", "2025-03-03"]);
    expect(readIds(log, "t")).toEqual(range(1, 6));
    expect(readIds(log, "t", 2, 2)).toEqual(["t-3", "t-4"]);
    const dated = (date: string) => log.readNow("t", { after: 0, limit: 100, fromTime: Date.parse(date), beforeTime: Date.parse(date) + 86_400_000 }).events.map((l) => JSON.parse(decoder.decode(l)).id);
    expect(dated("2025-03-01")).toEqual(range(1, 3));
    expect(dated("2025-03-02")).toEqual(range(4, 5));
    expect(dated("2025-03-03")).toEqual(["t-6"]);
    expect(dated("2025-02-28")).toEqual([]);
    await log.close();
  });

  test("timestamps never go backwards when the clock does", async () => {
    using dir = tempDir();
    let now = Date.parse("2025-03-02T10:00:00.000Z");
    const log = await openLog(dir.path, { clock: () => now });
    await log.append(events("t", 1));
    now = Date.parse("2025-03-01T10:00:00.000Z");
    await log.append(events("t", 1));
    const stamps = log.readNow("t", { after: 0, limit: 10 }).events.map((l) => JSON.parse(decoder.decode(l)).timestamp);
    expect(stamps).toEqual(["2025-03-02T10:00:00.000Z", "2025-03-02T10:00:00.000Z"]);
    await log.close();
  });

  test("an on-disk segment is plain JSON lines a person can read", async () => {
    using dir = tempDir();
    const log = await openLog(dir.path, { clock: () => Date.parse("2025-01-15T10:30:00.000Z") });
    await log.append([{ topic: "user-events", type: "user.created", payloadJson: '{"id":"123"}' }]);
    await log.close();
    const files = segmentFiles(dir.path, "user-events");
    expect(files.map((f) => f.slice(dir.path.length))).toEqual(["/topics/user-events/2025-01-15/000000000001.jsonl"]);
    const lines = readFileSync(files[0]!, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ id: "user-events-1", timestamp: "2025-01-15T10:30:00.000Z", type: "user.created", payload: { id: "123" } });
    expect(lines[1].$commit).toBe(1);
  });
});

describe("log write failures", () => {
  test.each(["ENOSPC", "EIO", "short-write", "fsync-EIO"] as const)(
    "%s during append: 503 WRITE_FAILED, no partial batch remains, serves again after",
    async (fault) => {
      using dir = tempDir();
      const storage = new FaultyStorage();
      let store = await createTestApp({ dir: dir.path, storage });
      await store.request("POST", "/topics", { name: "a", schemas: [SIMPLE_SCHEMA] });
      await store.request("POST", "/topics", { name: "b", schemas: [SIMPLE_SCHEMA] });
      const batch = (n: number) => [
        { topic: "a", type: "e", payload: { n } },
        { topic: "b", type: "e", payload: { n } },
      ];
      expect((await store.request("POST", "/events", batch(1))).status).toBe(201);
      const sizes = () => ["a", "b"].map((t) => statSync(lastSegment(store.dataDir, t)).size);
      const before = sizes();
      const openedBefore = storage.openedForAppend.length;
      storage.failNext(fault);
      const failed = await store.request("POST", "/events", batch(2));
      expect(failed.status).toBe(503);
      expect(await failed.json()).toEqual({ error: "Failed to store events; nothing of the batch was written", code: "WRITE_FAILED" });
      expect(storage.injected.get(fault)).toBe(1);
      expect(sizes()).toEqual(before);
      // Every segment the failed group wrote to is closed and reopened, never reused: after a failed
      // fsync the kernel may have dropped the dirty pages, so the old handle's view cannot be trusted.
      const reopened = storage.openedForAppend.slice(openedBefore).sort();
      const touched = fault === "fsync-EIO" ? ["a", "b"] : ["a"];
      expect(reopened).toEqual(touched.map((t) => lastSegment(store.dataDir, t)).sort());
      expect([store.log.head("a"), store.log.head("b")]).toEqual([1, 1]);
      const ok = await store.request("POST", "/events", batch(3));
      expect(await ok.json()).toEqual({ eventIds: ["a-2", "b-2"] });
      store = await store.reopen();
      const read = async (t: string) => (await (await store.request("GET", `/topics/${t}/events`)).json()).events;
      expect((await read("a")).map((e: { payload: { n: number } }) => e.payload.n)).toEqual([1, 3]);
      expect((await read("b")).map((e: { id: string }) => e.id)).toEqual(["b-1", "b-2"]);
      await store[Symbol.asyncDispose]();
    },
  );

  test("a disk that keeps failing, even to undo: every publish gets 503 until it clears, then dense ids", async () => {
    using dir = tempDir();
    const storage = new FaultyStorage();
    await using store = await createTestApp({ dir: dir.path, storage });
    await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    expect((await store.request("POST", "/events", [{ topic: "t", type: "e", payload: { n: 1 } }])).status).toBe(201);
    storage.failing("EIO");
    for (let i = 0; i < 3; i++) {
      const res = await store.request("POST", "/events", [{ topic: "t", type: "e", payload: { n: 2 } }]);
      expect(res.status).toBe(503);
      expect((await res.json()).code).toBe("WRITE_FAILED");
    }
    const reads = await store.request("GET", "/topics/t/events");
    expect((await reads.json()).events.map((e: { id: string }) => e.id)).toEqual(["t-1"]);
    storage.clear();
    const ok = await store.request("POST", "/events", [{ topic: "t", type: "e", payload: { n: 3 } }]);
    expect(await ok.json()).toEqual({ eventIds: ["t-2"] });
    const lines = readFileSync(lastSegment(store.dataDir, "t"), "utf8").trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith('{"id"')).map((l) => JSON.parse(l).payload.n)).toEqual([1, 3]);
  });

  test("a segment that cannot be reopened after a failed write keeps a valid handle: reads, the next append and close work", async () => {
    using dir = tempDir();
    const storage = new FaultyStorage();
    const log = await openLog(dir.path, { storage });
    await log.append(events("t", 1));
    storage.failing("EIO"); // the write fails, and so does the truncate that would undo it: the topic stays damaged
    await expect(log.append(events("t", 1))).rejects.toMatchObject({ code: "WRITE_FAILED" });
    storage.clear();
    storage.failNext("open-EMFILE"); // the repair before the next group cannot reopen the segment
    await expect(log.append(events("t", 1))).rejects.toMatchObject({ code: "WRITE_FAILED" });
    expect(readIds(log, "t")).toEqual(["t-1"]);
    // Another file now gets the lowest free descriptor; a stale one kept by the tail would read from it.
    const other = join(dir.path, "other.jsonl");
    writeFileSync(other, `${'{"id":"other-1"}\n'.repeat(10)}`);
    const otherFile = openSync(other, "r");
    try {
      expect(readIds(log, "t")).toEqual(["t-1"]);
    } finally {
      closeSync(otherFile);
    }
    expect((await log.append(events("t", 1))).ids).toEqual(["t-2"]);
    expect(readIds(log, "t")).toEqual(["t-1", "t-2"]);
    await log.close();
    expect([...storage.openHandles.values()]).toEqual([]);
  });

  test("a failed directory fsync while starting a segment fails the batch and leaks no descriptor", async () => {
    using dir = tempDir();
    const storage = new FaultyStorage();
    const log = await openLog(dir.path, { storage });
    storage.failNext("dirsync-EIO");
    await expect(log.append(events("t", 2))).rejects.toMatchObject({ code: "WRITE_FAILED" });
    expect(log.committedHead("t")).toBe(0);
    expect((await log.append(events("t", 2))).ids).toEqual(["t-1", "t-2"]);
    await log.close();
    expect([...storage.openHandles.values()]).toEqual([]);
    const reopened = await openLog(dir.path);
    expect(readIds(reopened, "t")).toEqual(["t-1", "t-2"]);
    await reopened.close();
  });

  test("one failed group does not take the batches of the next group with it", async () => {
    using dir = tempDir();
    const storage = new FaultyStorage();
    const log = await openLog(dir.path, { storage });
    await log.append(events("t", 1));
    storage.failNext("fsync-EIO");
    const results = await Promise.allSettled([log.append(events("t", 1)), log.append(events("t", 1)), log.append(events("t", 1))]);
    const fulfilled = results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<AppendResult>).value.ids);
    const rejected = results.filter((r) => r.status === "rejected");
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(fulfilled.flat()).toEqual(range(2, 1 + fulfilled.length));
    expect(readIds(log, "t")).toEqual(range(1, 1 + fulfilled.length));
    await log.close();
  });
});
