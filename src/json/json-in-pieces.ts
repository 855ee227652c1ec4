/**
 * Parses a large JSON text a piece at a time, the event loop turning between
 * pieces, so no single request body holds up the others for longer than one
 * piece takes. `JSON.parse` is the only parser: the text is cut at the
 * commas of its large arrays and objects, each run of small values is
 * parsed whole, and the parts are put back together. The result is the
 * value `JSON.parse(text)` would give, or the same SyntaxError kind.
 *
 * A value's JSON is built on the way (JSON.stringify of each part), so
 * `stringifyJson` of a payload parsed here costs nothing later: stringifying
 * a megabyte of nested arrays at once would stall as long as parsing it.
 */

import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from "./json-tokens.ts";

/** Characters handed to one JSON.parse call; at 20–40 ms per MiB of the densest JSON, a piece is about a millisecond. */
export const JSON_PIECE_CHARS = 32 * 1024;

const SCAN_PIECES = 8;

/** The JSON of containers parseJsonInPieces built, made as they were parsed. */
const builtJson = new WeakMap<object, string>();

/** `JSON.stringify(value)`, already made for a value parseJsonInPieces built. */
export function stringifyJson(value: unknown): string {
  if (typeof value === "object" && value !== null) {
    const built = builtJson.get(value);
    if (built !== undefined) return built;
  }
  return JSON.stringify(value);
}

/** `JSON.parse(text)`, with the event loop turning after every `pieceChars` characters parsed. */
export function parseJsonInPieces(text: string, pieceChars = JSON_PIECE_CHARS): Promise<unknown> {
  return new PieceParser(text, pieceChars).parseDocument();
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const isWhitespace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

function invalid(at: number): never {
  throw new SyntaxError(`JSON Parse error: Unexpected character at ${at}`);
}

/** Keys an object orders before all others, ascending (ECMAScript's array indices). */
function isIndexKey(key: string): boolean {
  return /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 4294967295;
}

/** Sets a parsed member as JSON.parse does: an own property, even for "__proto__". */
function setMember(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}

/**
 * A large container's members as they are parsed: the current run of small
 * ones (parsed together by one JSON.parse), and the JSON of those done.
 */
class Members {
  json = "";
  private runStart = -1;
  private runEnd = -1;

  constructor(
    private readonly open: string,
    private readonly close: string,
  ) {}

  /** Adds the small member at [start, end) to the run; true once the run is a piece long. */
  extend(start: number, end: number, piece: number): boolean {
    if (this.runStart < 0) this.runStart = start;
    this.runEnd = end;
    return this.runEnd - this.runStart >= piece;
  }

  /** The run as a JSON text of its own (in the container's brackets) and its length in the body; null when empty. Empties it. */
  takeRun(text: string): { json: string; chars: number } | null {
    if (this.runStart < 0) return null;
    const run = { json: `${this.open}${text.slice(this.runStart, this.runEnd)}${this.close}`, chars: this.runEnd - this.runStart };
    this.runStart = -1;
    return run;
  }

  addJson(membersJson: string): void {
    this.json = this.json === "" ? membersJson : `${this.json},${membersJson}`;
  }
}

class PieceParser {
  /** Where each container of at least `piece` characters closes, by where it opens. */
  private readonly largeEnds = new Map<number, number>();
  private sinceTurn = 0;

  constructor(
    private readonly text: string,
    private readonly piece: number,
  ) {}

  async parseDocument(): Promise<unknown> {
    await this.findLargeContainers();
    const start = this.skipWhitespace(0);
    let end = this.text.length;
    while (end > start && isWhitespace(this.text.charCodeAt(end - 1))) end--;
    const close = this.largeEnds.get(start);
    if (close === undefined) return JSON.parse(this.text);
    if (close !== end - 1) invalid(close + 1);
    return this.parseValue(start, end);
  }

  /** One pass over the text: matches every bracket, and notes the large containers. */
  private async findLargeContainers(): Promise<void> {
    const { text, piece, largeEnds } = this;
    const open: number[] = [];
    const length = text.length;
    // The scan is a few times faster than parsing: it turns the event loop every SCAN_PIECES pieces.
    let nextTurnAt = piece * SCAN_PIECES;
    for (let i = 0; i < length; i++) {
      if (i >= nextTurnAt) {
        nextTurnAt = i + piece * SCAN_PIECES;
        await nextTurn();
      }
      const code = text.charCodeAt(i);
      if (code === QUOTE) {
        i = this.stringEnd(i, length) - 1;
      } else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
        open.push(i);
      } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) {
        const start = open.pop();
        if (start === undefined || text.charCodeAt(start) !== (code === CLOSE_ARRAY ? OPEN_ARRAY : OPEN_OBJECT)) invalid(i);
        if (i - start + 1 >= piece) largeEnds.set(start, i);
      }
    }
    if (open.length > 0) invalid(length);
  }

  private parseValue(start: number, end: number): Promise<unknown> {
    if (this.largeEnds.has(start)) {
      return this.text.charCodeAt(start) === OPEN_ARRAY ? this.parseLargeArray(start, end - 1) : this.parseLargeObject(start, end - 1);
    }
    return this.parsePart(this.text.slice(start, end), end - start);
  }

  private async parsePart(json: string, chars: number): Promise<unknown> {
    const value = JSON.parse(json) as unknown;
    this.sinceTurn += chars;
    if (this.sinceTurn >= this.piece) {
      this.sinceTurn = 0;
      await nextTurn();
    }
    return value;
  }

  /** Parses the run of small members `members` holds, if any, and adds its JSON; the run is emptied. */
  private async flushRun<T>(members: Members): Promise<T | null> {
    const run = members.takeRun(this.text);
    if (run === null) return null;
    const parsed = (await this.parsePart(run.json, run.chars)) as T;
    members.addJson(JSON.stringify(parsed).slice(1, -1));
    return parsed;
  }

  private async parseLargeArray(open: number, close: number): Promise<unknown[]> {
    const array: unknown[] = [];
    const members = new Members("[", "]");
    const flushRun = async () => {
      for (const element of (await this.flushRun<unknown[]>(members)) ?? []) array.push(element);
    };
    for (let at = this.firstMember(open, close); at < close; at = this.nextMember(at, close)) {
      const end = this.valueEnd(at, close);
      if (this.largeEnds.has(at)) {
        await flushRun();
        const element = await this.parseValue(at, end);
        array.push(element);
        members.addJson(stringifyJson(element));
      } else if (members.extend(at, end, this.piece)) {
        await flushRun();
      }
      at = end;
    }
    await flushRun();
    builtJson.set(array, `[${members.json}]`);
    return array;
  }

  private async parseLargeObject(open: number, close: number): Promise<Record<string, unknown>> {
    const object: Record<string, unknown> = {};
    const keys = new Set<string>();
    let reordered = false;
    const noteKey = (key: string) => {
      if (keys.has(key) || isIndexKey(key)) reordered = true;
      keys.add(key);
    };
    const members = new Members("{", "}");
    const flushRun = async () => {
      const run = await this.flushRun<Record<string, unknown>>(members);
      if (run === null) return;
      for (const key of Object.keys(run)) {
        setMember(object, key, run[key]);
        noteKey(key);
      }
    };
    for (let at = this.firstMember(open, close); at < close; at = this.nextMember(at, close)) {
      if (this.text.charCodeAt(at) !== QUOTE) invalid(at);
      const keyEnd = this.stringEnd(at, close);
      const colon = this.skipWhitespace(keyEnd);
      if (this.text.charCodeAt(colon) !== COLON) invalid(colon);
      const valueStart = this.skipWhitespace(colon + 1);
      if (valueStart >= close) invalid(valueStart);
      const end = this.valueEnd(valueStart, close);
      if (this.largeEnds.has(valueStart)) {
        await flushRun();
        const key = JSON.parse(this.text.slice(at, keyEnd)) as string;
        const value = await this.parseValue(valueStart, end);
        setMember(object, key, value);
        noteKey(key);
        members.addJson(`${JSON.stringify(key)}:${stringifyJson(value)}`);
      } else if (members.extend(at, end, this.piece)) {
        await flushRun();
      }
      at = end;
    }
    await flushRun();
    // A key given twice keeps its first place and its last value, and index-like keys come first
    // in ascending order: then the parts' JSON, in text order, is not the object's.
    builtJson.set(object, reordered ? await this.stringifyMembers(object) : `{${members.json}}`);
    return object;
  }

  private async stringifyMembers(object: Record<string, unknown>): Promise<string> {
    const members: string[] = [];
    for (const key of Object.keys(object)) {
      const member = `${JSON.stringify(key)}:${stringifyJson(object[key])}`;
      members.push(member);
      this.sinceTurn += member.length;
      if (this.sinceTurn >= this.piece) {
        this.sinceTurn = 0;
        await nextTurn();
      }
    }
    return `{${members.join(",")}}`;
  }

  /** The first member inside a container, or `close` when it is empty. */
  private firstMember(open: number, close: number): number {
    return this.skipWhitespace(open + 1);
  }

  /** After a member ending at `end`: the next one, or `close` when it was the last. */
  private nextMember(end: number, close: number): number {
    const at = this.skipWhitespace(end);
    if (at === close) return close;
    if (this.text.charCodeAt(at) !== COMMA) invalid(at);
    const next = this.skipWhitespace(at + 1);
    if (next >= close) invalid(next);
    return next;
  }

  /** Where the value starting at `start` ends (exclusive), found without parsing it. */
  private valueEnd(start: number, close: number): number {
    const { text } = this;
    const code = text.charCodeAt(start);
    if (code === QUOTE) return this.stringEnd(start, close);
    if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      const large = this.largeEnds.get(start);
      if (large !== undefined) return large + 1;
      let depth = 0;
      for (let i = start; i < close; i++) {
        const inner = text.charCodeAt(i);
        if (inner === QUOTE) i = this.stringEnd(i, close) - 1;
        else if (inner === OPEN_ARRAY || inner === OPEN_OBJECT) depth++;
        else if ((inner === CLOSE_ARRAY || inner === CLOSE_OBJECT) && --depth === 0) return i + 1;
      }
      invalid(close);
    }
    let i = start;
    while (i < close) {
      const inner = text.charCodeAt(i);
      if (inner === COMMA || inner === COLON || inner === CLOSE_ARRAY || inner === CLOSE_OBJECT || isWhitespace(inner)) break;
      i++;
    }
    if (i === start) invalid(start);
    return i;
  }

  /** Where the string whose opening quote is at `start` ends (exclusive). */
  private stringEnd(start: number, limit: number): number {
    const { text } = this;
    // indexOf, not a loop over characters: a string can be most of a megabyte.
    for (let quote = text.indexOf('"', start + 1); quote !== -1 && quote < limit; quote = text.indexOf('"', quote + 1)) {
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
    }
    return invalid(limit);
  }

  private skipWhitespace(from: number): number {
    let i = from;
    while (i < this.text.length && isWhitespace(this.text.charCodeAt(i))) i++;
    return i;
  }
}
