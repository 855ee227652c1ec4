import { describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { BatchIndex, encodeRanges, HEADER_HASH, HEADER_KEY, HEADER_RANGES, HEADER_TIME, type TopicRange } from "../src/backends/nats/batch-index.ts";
import { captureSnapshot, decodeSnapshot, encodeSnapshot, SnapshotInvalidError } from "../src/backends/nats/index-snapshot.ts";

/** An index built as a replay builds it: single, multi-topic and keyed messages, times that repeat. */
function built(messages: number): BatchIndex {
  const index = new BatchIndex();
  const heads = new Map<string, number>();
  for (let seq = 1; seq <= messages; seq++) {
    const topics = seq % 5 === 0 ? ["a", "b", "a2"] : [seq % 2 === 0 ? "a" : "b"];
    const ranges: TopicRange[] = [];
    let line = 0;
    for (const topic of topics) {
      const size = 1 + (seq % 3);
      const first = (heads.get(topic) ?? 0) + 1;
      heads.set(topic, first + size - 1);
      ranges.push({ topic, first, last: first + size - 1, line });
      line += size;
    }
    const headers: Record<string, string> = {
      [HEADER_RANGES]: encodeRanges(ranges),
      [HEADER_TIME]: String(1_700_000_000_000 + Math.floor(seq / 4) * 1_000),
      [HEADER_KEY]: seq % 7 === 0 ? `k${seq}` : "",
      [HEADER_HASH]: seq % 7 === 0 ? `h${seq}` : "",
    };
    index.apply(seq, (name) => headers[name] ?? "");
  }
  return index;
}

describe("index snapshot", () => {
  test("decode(encode(index)) is the same index: topics, entries, keys, last sequence and time", async () => {
    const index = built(500);
    const { index: decoded, streamCreated } = decodeSnapshot(await encodeSnapshot(captureSnapshot(index, "2025-01-01T00:00:00Z")));
    expect(streamCreated).toBe("2025-01-01T00:00:00Z");
    expect(decoded).toEqual(index);
  });

  test("a capture is the state at its sequence, whatever is applied before it is encoded", async () => {
    const index = built(100);
    const at100 = structuredClone(index);
    const capture = captureSnapshot(index, "c");
    const later = built(200);
    // Apply 100 more messages to the captured index (the same ones as `later`), then encode.
    for (const [topic, t] of later.topics) {
      const mine = index.topics.get(topic)!;
      for (let i = mine.lasts.length; i < t.lasts.length; i++) mine.push({ topic, first: t.firsts[i]!, last: t.lasts[i]!, line: t.lines[i]! }, t.streamSeqs[i]!, t.timesMs[i]!);
    }
    index.lastStreamSeq = 200;
    expect(decodeSnapshot(await encodeSnapshot(capture)).index).toEqual(at100);
  });

  test("refuses what it would not have written: corrupt bytes, another format, bad entries, keys past the sequence", () => {
    const doc = (fields: object) => gzipSync(JSON.stringify({ format: 1, seq: 10, lastTimeMs: 0, streamCreated: "c", topics: {}, keys: [], ...fields }));
    for (const bytes of [
      new TextEncoder().encode("{}"),
      doc({ format: 2 }),
      doc({ seq: -1 }),
      doc({ topics: { t: [[1], [1], [0]] } }),
      doc({ topics: { t: [[1, 0], [1, 1], [0, 0], [0, 0]] } }),
      doc({ topics: { t: [[1], [11], [0], [0]] } }),
      doc({ keys: [["k", "h", 0, 11]] }),
    ]) {
      expect(() => decodeSnapshot(bytes)).toThrow(SnapshotInvalidError);
    }
  });
});
