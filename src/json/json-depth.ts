/**
 * How deeply a JSON text nests, found in one pass over its bytes without
 * parsing it. Every parser, schema compiler and validator downstream walks
 * nested values recursively, and some of them in quadratic time, so a body
 * nested thousands deep is refused here, before any of them sees it.
 */

/** Deeper than this is no real schema or payload. @default 64 */
export const DEFAULT_MAX_JSON_DEPTH = 64;

// Local copies of json-tokens.ts: this loop runs over every byte of every body, and imported bindings made it slower here.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * True when `bytes`, read as JSON, opens more than `maxDepth` arrays or
 * objects inside each other. Brackets inside strings do not count. For valid
 * JSON the depth is exact; for invalid JSON it is a bound that the parser
 * then rejects anyway.
 */
export function exceedsJsonDepth(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    if (byte === QUOTE) {
      for (i++; i < length; i++) {
        const inString = bytes[i]!;
        if (inString === QUOTE) break;
        if (inString === BACKSLASH) i++;
      }
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}
