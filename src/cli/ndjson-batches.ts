import type { PublishEventsItem } from "../../client/event-store-client.ts";
import { UsageError } from "./usage-error.ts";

/** Events per `POST /events` of a bulk publish. @default 1000 */
export const DEFAULT_BULK_BATCH_SIZE = 1_000;
/** A batch is cut before it passes this many characters of JSON, to stay under the server's MAX_BODY_BYTES default (1 MiB). @default 786432 */
export const DEFAULT_BULK_BATCH_CHARS = 768 * 1024;

export interface NdjsonBatchOptions {
  /** Events of lines without a `topic`. */
  topic: string;
  /** When given, each line is a payload of this type; else each line is `{"type", "payload"[, "topic"]}`. */
  type?: string;
  batchSize: number;
  batchChars: number;
  /** Starts every Idempotency-Key. @default "cli" */
  keyPrefix: string;
}

export interface Batch {
  events: PublishEventsItem[];
  /** 1-based line numbers of the batch's first and last line. */
  firstLine: number;
  lastLine: number;
  /**
   * `<prefix>-<first line>-<hash of the batch's lines and defaults>`: the same
   * input gives the same keys, so a re-run after a crash or kill stores
   * nothing twice (within IDEMPOTENCY_TTL_HOURS), and an edited line changes
   * only its own batch's key.
   */
  key: string;
  /** Bytes of input consumed up to the end of this batch. */
  bytesRead: number;
}

/** Cuts an NDJSON stream into batches; blank lines are skipped but counted. @throws UsageError on a line that is not an event */
export async function* ndjsonBatches(stream: ReadableStream<Uint8Array>, options: NdjsonBatchOptions): AsyncGenerator<Batch> {
  const decoder = new TextDecoder();
  let pending = "";
  let lineNumber = 0;
  let bytesRead = 0;
  let batch = newBatch();

  function newBatch() {
    return { events: [] as PublishEventsItem[], firstLine: 0, chars: 0, hasher: new Bun.CryptoHasher("sha256").update(`${options.topic}\n${options.type ?? ""}\n`) };
  }
  function finish(lastLine: number): Batch {
    const key = `${options.keyPrefix}-${batch.firstLine}-${batch.hasher.digest("hex").slice(0, 32)}`;
    const done = { events: batch.events, firstLine: batch.firstLine, lastLine, key, bytesRead };
    batch = newBatch();
    return done;
  }
  function add(line: string): boolean {
    lineNumber++;
    if (line.trim() === "") return false;
    if (batch.events.length === 0) batch.firstLine = lineNumber;
    batch.events.push(toEvent(line, lineNumber, options));
    batch.hasher.update(line).update("\n");
    batch.chars += line.length;
    return batch.events.length >= options.batchSize || batch.chars >= options.batchChars;
  }

  const reader = stream.getReader();
  for (;;) {
    const { value: chunk, done } = await reader.read();
    if (done) break;
    bytesRead += chunk.byteLength;
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let newline = pending.indexOf("\n"); newline !== -1; newline = pending.indexOf("\n", start)) {
      const full = add(pending.slice(start, newline));
      start = newline + 1;
      if (full) yield finish(lineNumber);
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== "") add(pending);
  if (batch.events.length > 0) yield finish(lineNumber);
}

function toEvent(line: string, lineNumber: number, options: NdjsonBatchOptions): PublishEventsItem {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new UsageError(`line ${lineNumber} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`line ${lineNumber} is not a JSON object`);
  if (options.type !== undefined) return { topic: options.topic, type: options.type, payload: value as Record<string, unknown> };
  const { topic, type, payload } = value as { topic?: unknown; type?: unknown; payload?: unknown };
  if (typeof type !== "string") throw new UsageError(`line ${lineNumber} has no "type" (give the type as an argument to read lines as payloads)`);
  if (topic !== undefined && typeof topic !== "string") throw new UsageError(`line ${lineNumber}: "topic" must be a string`);
  return { topic: topic ?? options.topic, type, payload: payload as Record<string, unknown> };
}
