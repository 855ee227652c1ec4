import { describe, expect, test } from "bun:test";
import { ndjsonBatches } from "../src/cli/ndjson-batches.ts";
import { render, renderRow } from "../src/cli/output.ts";
import { UsageError } from "../src/cli/usage-error.ts";
import { LabelBudget } from "../src/metrics/label-budget.ts";

function streamOf(text: string, chunkSize: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + chunkSize));
      at += chunkSize;
    },
  });
}

async function batches(text: string, chunkSize: number, options: { type?: string; batchSize?: number; batchChars?: number } = {}) {
  const out = [];
  for await (const batch of ndjsonBatches(streamOf(text, chunkSize), { topic: "t", batchSize: 3, batchChars: 1 << 20, keyPrefix: "cli", ...options })) out.push(batch);
  return out;
}

describe("ndjsonBatches", () => {
  const text = ['{"type":"e","payload":{"n":1}}', "", '{"type":"e","payload":{"n":2},"topic":"u"}', '{"type":"f","payload":{"n":3}}', '{"type":"e","payload":{"n":"é4"}}'].join("\n");

  test("cuts by count, skips blank lines but counts them, takes the topic from the line or the default", async () => {
    const got = await batches(text, 1 << 16);
    expect(got.map((b) => [b.firstLine, b.lastLine, b.events])).toEqual([
      [1, 4, [{ topic: "t", type: "e", payload: { n: 1 } }, { topic: "u", type: "e", payload: { n: 2 } }, { topic: "t", type: "f", payload: { n: 3 } }]],
      [5, 5, [{ topic: "t", type: "e", payload: { n: "é4" } }]],
    ]);
    expect(got.map((b) => b.key)).toEqual([expect.stringMatching(/^cli-1-[0-9a-f]{32}$/), expect.stringMatching(/^cli-5-[0-9a-f]{32}$/)]);
  });

  test("the keys depend on the content and position only, not on how the input arrives", async () => {
    const whole = (await batches(text, 1 << 16)).map((b) => b.key);
    for (const chunk of [1, 2, 7, 13]) expect((await batches(text, chunk)).map((b) => b.key)).toEqual(whole);
    const edited = (await batches(text.replace('"n":3', '"n":30'), 1 << 16)).map((b) => b.key);
    expect(edited[0]).not.toBe(whole[0]);
    // A later batch's key does not change when an earlier batch's content does.
    expect(edited[1]).toBe(whole[1]);
    expect((await batches(text, 1 << 16, { batchSize: 2 })).map((b) => b.firstLine)).toEqual([1, 4]);
  });

  test("with a type, each line is a payload; cut by characters too", async () => {
    const got = await batches('{"a":1}\n{"a":2}\n{"a":3}\n', 4, { type: "x", batchChars: 14 });
    expect(got.map((b) => b.events.length)).toEqual([2, 1]);
    expect(got[0]!.events[0]).toEqual({ topic: "t", type: "x", payload: { a: 1 } });
  });

  test("a line that is not an event is a usage error naming it", async () => {
    const notJson = await batches('{"type":"e","payload":{}}\nnot json\n', 64).catch((error: unknown) => error);
    expect(notJson).toBeInstanceOf(UsageError);
    expect((notJson as Error).message).toStartWith("line 2 is not valid JSON: ");
    await expect(batches("[1]\n", 64)).rejects.toThrow(new UsageError("line 1 is not a JSON object"));
    await expect(batches('{"payload":{}}\n', 64)).rejects.toThrow(new UsageError('line 1 has no "type" (give the type as an argument to read lines as payloads)'));
  });
});

describe("output formats", () => {
  const result = { value: { rows: 2 }, rows: [{ id: "a-1", payload: { x: "1,2" } }, { id: "a-22", payload: null }], columns: ["id", "payload"] };
  test("table, csv, ndjson, json", () => {
    expect(render("table", result)).toBe('ID    PAYLOAD\na-1   {"x":"1,2"}\na-22\n');
    expect(render("csv", result)).toBe('id,payload\na-1,"{""x"":""1,2""}"\na-22,\n');
    expect(render("ndjson", result)).toBe('{"id":"a-1","payload":{"x":"1,2"}}\n{"id":"a-22","payload":null}\n');
    expect(render("json", result)).toBe('{\n  "rows": 2\n}\n');
    expect(renderRow("table", result.rows[0]!, result.columns)).toBe('a-1  {"x":"1,2"}\n');
  });
});

describe("LabelBudget", () => {
  test("the first max keys keep their label; a released slot goes to the next one", () => {
    const budget = new LabelBudget(2);
    expect(["a", "b", "c", "a"].map((k) => budget.admit(k))).toEqual([true, true, false, true]);
    expect(budget.retain(new Set(["b", "c"]))).toEqual(["a"]);
    expect(budget.admit("c")).toBe(true);
    expect(budget.admit("d")).toBe(false);
  });
});
