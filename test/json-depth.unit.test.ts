import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { exceedsJsonDepth } from "../src/json/json-depth.ts";

/** The depth of a parsed value, the slow and obvious way. */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (typeof value === "object" && value !== null) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

const bytes = (text: string) => Buffer.from(text);

describe("exceedsJsonDepth", () => {
  test("counts arrays and objects, exactly at the limit", () => {
    expect(exceedsJsonDepth(bytes("[[[]]]"), 3)).toBe(false);
    expect(exceedsJsonDepth(bytes("[[[]]]"), 2)).toBe(true);
    expect(exceedsJsonDepth(bytes('{"a":{"b":[1]}}'), 3)).toBe(false);
    expect(exceedsJsonDepth(bytes('{"a":{"b":[1]}}'), 2)).toBe(true);
    expect(exceedsJsonDepth(bytes("[[],[],[]]"), 2)).toBe(false);
    expect(exceedsJsonDepth(bytes("1"), 0)).toBe(false);
  });

  test("brackets inside strings, escaped quotes and backslashes do not count", () => {
    expect(exceedsJsonDepth(bytes('["[[[[{{{{"]'), 1)).toBe(false);
    expect(exceedsJsonDepth(bytes('["a\\"[[[["]'), 1)).toBe(false);
    expect(exceedsJsonDepth(bytes('["a\\\\",[[]]]'), 2)).toBe(true);
    expect(exceedsJsonDepth(bytes('{"k\\u005b":"\\\\\\"{"}'), 1)).toBe(false);
  });

  test("multi-byte UTF-8 never looks like a bracket", () => {
    expect(exceedsJsonDepth(bytes('["ﻛ[«»»", {"é": ["⟦"]}]'), 3)).toBe(false);
    expect(exceedsJsonDepth(bytes('["ﻛ[«»»", {"é": ["⟦"]}]'), 2)).toBe(true);
  });

  test("a million levels are measured without recursion", () => {
    expect(exceedsJsonDepth(bytes("[".repeat(1_000_000) + "]".repeat(1_000_000)), 64)).toBe(true);
    expect(exceedsJsonDepth(bytes(`[${'"['.repeat(100_000)}"]`), 1)).toBe(true);
  });

  test("agrees with the parsed value's depth for any JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (value, limit) => {
        const text = JSON.stringify(value);
        expect(exceedsJsonDepth(bytes(text), limit)).toBe(depthOf(JSON.parse(text)) > limit);
      }),
      { numRuns: 500 },
    );
  });
});
