import { describe, expect, test } from "bun:test";
import { SequenceConflictError } from "../src/errors.ts";
import { EventIdFormatter, formatEventId, parseEventId } from "../src/events/event-id.ts";
import { GroupBuilder } from "../src/log/group-builder.ts";

describe("EventIdFormatter", () => {
  test("formats every sequence of a rising run exactly as <topic>-<sequence>", () => {
    const ids = new EventIdFormatter("orders");
    for (let sequence = 1; sequence <= 20_000; sequence++) {
      const id = ids.format(sequence);
      if (id !== `orders-${sequence}`) expect(id).toBe(`orders-${sequence}`);
    }
    expect(ids.format(100)).toBe("orders-100");
    expect(ids.format(1_000_001)).toBe("orders-1000001");
  });

  test("keeps zeros inside a number and handles jumps and huge sequences", () => {
    const ids = new EventIdFormatter("t-2");
    expect(ids.format(5)).toBe("t-2-5");
    expect(ids.format(99)).toBe("t-2-99");
    expect(ids.format(100)).toBe("t-2-100");
    expect(ids.format(101)).toBe("t-2-101");
    expect(ids.format(10_000_000_007)).toBe("t-2-10000000007");
    expect(ids.format(907)).toBe("t-2-907");
    expect(ids.format(Number.MAX_SAFE_INTEGER)).toBe(`t-2-${Number.MAX_SAFE_INTEGER}`);
    expect(parseEventId(ids.format(4_200))).toEqual({ topic: "t-2", sequence: 4_200 });
    expect(ids.format(4_200)).toBe(formatEventId("t-2", 4_200));
  });
});

function linesOf(group: GroupBuilder, stream: string): string {
  return group.chunksOf(group.writes.get(stream)!).join("");
}

describe("GroupBuilder", () => {
  const nowMs = Date.UTC(2026, 10, 30, 10, 0, 0, 123);
  const heads: Record<string, number> = { a: 98, b: 0 };
  const builder = () => new GroupBuilder(nowMs, (stream) => heads[stream] ?? 0, "$keys");

  test("numbers events per topic from its head, across batches, and formats each stored line", () => {
    const group = builder();
    expect(group.add([
      { topic: "a", type: "x", payloadJson: '{"n":1}' },
      { topic: "b", type: "y", payloadJson: '{"n":2}' },
      { topic: "a", type: "x", payloadJson: '{"n":3}' },
    ])).toEqual(["a-99", "b-1", "a-100"]);
    expect(group.add([{ topic: "a", type: "é\"", payloadJson: "{}" }])).toEqual(["a-101"]);
    expect(group.date).toBe("2026-11-30");
    expect(group.heads()).toEqual({ a: 101, b: 1 });
    const a = linesOf(group, "a");
    expect(a).toBe(
      '{"id":"a-99","timestamp":"2026-11-30T10:00:00.123Z","type":"x","payload":{"n":1}}\n' +
        '{"id":"a-100","timestamp":"2026-11-30T10:00:00.123Z","type":"x","payload":{"n":3}}\n' +
        '{"id":"a-101","timestamp":"2026-11-30T10:00:00.123Z","type":"é\\"","payload":{}}\n',
    );
    for (const line of a.trimEnd().split("\n")) expect(Object.keys(JSON.parse(line))).toEqual(["id", "timestamp", "type", "payload"]);
    const aWrite = group.writes.get("a")!;
    expect(aWrite.lineChars).toEqual(a.split(/(?<=\n)/).map((line) => line.length));
    expect(aWrite.chars).toBe(a.length);
    expect(linesOf(group, "b")).toBe('{"id":"b-1","timestamp":"2026-11-30T10:00:00.123Z","type":"y","payload":{"n":2}}\n');
  });

  test("a large group is kept in pieces that add up to every line in order", () => {
    const group = builder();
    const payloadJson = JSON.stringify({ text: "x".repeat(300) });
    const ids = group.add(Array.from({ length: 500 }, () => ({ topic: "b", type: "y", payloadJson })));
    expect((ids as string[]).length).toBe(500);
    const chunks = group.chunksOf(group.writes.get("b")!);
    expect(chunks.length).toBeGreaterThan(4);
    const lines = chunks.join("").trimEnd().split("\n").map((line) => JSON.parse(line) as { id: string });
    expect(lines.map((line) => line.id)).toEqual(Array.from({ length: 500 }, (_, i) => `b-${i + 1}`));
  });

  test("a batch whose expectedSequence does not match is refused whole and its sequences go to the next batch", () => {
    const group = builder();
    expect(group.add([{ topic: "a", type: "x", payloadJson: "{}", expectedSequence: 98 }])).toEqual(["a-99"]);
    const conflict = group.add([
      { topic: "b", type: "y", payloadJson: "{}", expectedSequence: 0 },
      { topic: "a", type: "x", payloadJson: "{}", expectedSequence: 98 },
    ]);
    expect(conflict).toBeInstanceOf(SequenceConflictError);
    expect((conflict as SequenceConflictError).details).toEqual({ topic: "a", expectedSequence: 98, currentSequence: 99 });
    expect(group.add([
      { topic: "b", type: "y", payloadJson: "{}", expectedSequence: 0 },
      { topic: "b", type: "y", payloadJson: "{}", expectedSequence: 1 },
    ])).toEqual(["b-1", "b-2"]);
    expect(group.heads()).toEqual({ a: 99, b: 2 });
  });

  test("an idempotency key is written to the keys stream in the same group as its batch", () => {
    const group = builder();
    group.add([{ topic: "b", type: "y", payloadJson: "{}" }], { key: "k-1", hash: "h" });
    expect(group.keyRecords).toEqual([{ key: "k-1", hash: "h", ids: ["b-1"], at: nowMs }]);
    expect(linesOf(group, "$keys")).toBe(`{"key":"k-1","hash":"h","ids":["b-1"],"at":${nowMs}}\n`);
    expect(group.heads()).toEqual({ b: 1, $keys: 1 });
  });
});
