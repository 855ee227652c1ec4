import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { JSON_PIECE_CHARS, parseJsonInPieces, stringifyJson } from "../src/json/json-in-pieces.ts";
import { turnsDuring } from "./utils.ts";

const whitespace = fc.constantFrom("", "", " ", "\n", "\t \r\n");
const key = fc.oneof(fc.constantFrom("a", "b", "__proto__", "0", "1", "10", "01", "-1", "4294967294", "4294967295", "constructor"), fc.string({ maxLength: 6 }));
const leaf = fc.oneof(
  fc.constantFrom("null", "true", "false", "0", "-0", "1e400", "1E-400", "0.10", "12345678901234567890", '"\\u00e9\\/\\n"', '"\\ud83d"'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.string({ unit: "binary", maxLength: 8 }).map((s) => JSON.stringify(s)),
);

/** JSON texts as people and attackers write them: any spacing, repeated keys, index-like keys, __proto__. */
const jsonText = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("array"), tie("object")),
  array: fc.tuple(fc.array(fc.tuple(whitespace, tie("value"), whitespace), { maxLength: 6 }), whitespace).map(([items, inner]) => (items.length === 0 ? `[${inner}]` : `[${items.map(([a, v, b]) => a + v + b).join(",")}]`)),
  object: fc
    .tuple(fc.array(fc.tuple(whitespace, key, whitespace, tie("value")), { maxLength: 6 }), whitespace)
    .map(([members, inner]) => (members.length === 0 ? `{${inner}}` : `{${members.map(([a, k, b, v]) => `${a}${JSON.stringify(k)}${b}:${a}${v}${b}`).join(",")}}`)),
})).value;

/** What JSON.parse makes of a text: its value's JSON, or that it throws a SyntaxError. */
function byJsonParse(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch (error) {
    return error instanceof SyntaxError ? "SyntaxError" : `other: ${error}`;
  }
}

async function byPieces(text: string, pieceChars: number): Promise<string> {
  try {
    return stringifyJson(await parseJsonInPieces(text, pieceChars));
  } catch (error) {
    return error instanceof SyntaxError ? "SyntaxError" : `other: ${error}`;
  }
}

describe("parseJsonInPieces", () => {
  test("gives JSON.parse's value, key order and own __proto__ members included, for pieces of any size", async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, whitespace, fc.constantFrom(1, 2, 5, 16, 64), async (text, pad, pieceChars) => {
        const padded = pad + text + pad;
        const parsed = await parseJsonInPieces(padded, pieceChars);
        expect(parsed).toEqual(JSON.parse(padded));
        expect(stringifyJson(parsed)).toBe(JSON.stringify(JSON.parse(padded)));
        expect(Object.getPrototypeOf(parsed ?? 0)).toBe(Object.getPrototypeOf(JSON.parse(padded) ?? 0));
      }),
      { numRuns: 1000 },
    );
  });

  test("refuses exactly what JSON.parse refuses, with a SyntaxError", async () => {
    const damage = fc.tuple(fc.nat(), fc.constantFrom(",", ":", "[", "]", "{", "}", '"', "\\", "x", " ", "1", ""), fc.boolean());
    await fc.assert(
      fc.asyncProperty(jsonText, damage, fc.constantFrom(1, 3, 8), async (text, [at, char, replace], pieceChars) => {
        const i = at % (text.length + 1);
        const damaged = text.slice(0, i) + char + text.slice(replace ? i + 1 : i);
        expect(await byPieces(damaged, pieceChars)).toBe(byJsonParse(damaged));
      }),
      { numRuns: 2000 },
    );
  });

  test("known refusals: trailing commas, missing values, unclosed and mismatched brackets, garbage after the value", async () => {
    for (const text of ["[1,]", "[,1]", "[1,,2]", '{"a":1,}', '{"a"}', '{"a":}', "{1:2}", "[1", "[1}", '{"a":[1}', "[1] x", "[[1]]]", '["a]', "[1 2]", "", " "]) {
      expect(await byPieces(text, 1)).toBe("SyntaxError");
    }
  });

  test("a 1 MiB body of the densest nesting is parsed with the event loop turning between pieces", async () => {
    const item = "[".repeat(60) + "]".repeat(60);
    const text = `[{"payload":{"d":[${Array.from({ length: 8600 }, () => item).join(",")}]}}]`;
    let parsed: [{ payload: { d: unknown[] } }] | undefined;
    const turns = await turnsDuring(async () => {
      parsed = (await parseJsonInPieces(text)) as [{ payload: { d: unknown[] } }];
    });
    if (parsed === undefined) throw new Error("not parsed");
    expect(turns).toBeGreaterThanOrEqual(Math.floor(text.length / JSON_PIECE_CHARS));
    expect(parsed[0].payload.d.length).toBe(8600);
    expect(stringifyJson(parsed[0].payload)).toBe(JSON.stringify(JSON.parse(text)[0].payload));
  });

  test("stringifyJson of anything else is JSON.stringify", () => {
    expect(stringifyJson({ a: [1, "x"] })).toBe('{"a":[1,"x"]}');
    expect(stringifyJson("é")).toBe('"é"');
    expect(stringifyJson(null)).toBe("null");
  });
});
