import { SequenceConflictError } from "../errors.ts";
import { afterIdJson, eventLine } from "../events/event-json.ts";
import { EventIdFormatter } from "../events/event-id.ts";
import type { AppendEvent } from "../store/event-log.ts";
import type { KeyRecord } from "./idempotency-keys.ts";

/** What one topic (or the keys stream) gets from one group commit. */
export interface StreamWrite {
  stream: string;
  /**
   * The group's lines for this stream, in pieces of about CHUNK_CHARS: a
   * group can hold megabytes, and one string that long would be allocated
   * afresh (and page-faulted in) by every group when it is encoded.
   */
  chunks: string[];
  /** Lines not yet in `chunks`; appending to a string is cheaper than joining many. */
  text: string;
  /** Each line's length in UTF-16 units, newline included: its length in bytes when the group is ASCII. */
  lineChars: number[];
  /** The sum of `lineChars`. */
  chars: number;
  ids: EventIdFormatter;
  /** The stream's last sequence once the group is stored. */
  head: number;
}

/**
 * Builds the lines of one group commit: assigns sequences in queue order,
 * checks `expectedSequence`, and formats each event's stored line and each
 * idempotency key's record. Nothing is written here; the log writes
 * `writes` and, once they are durable, acknowledges the ids `add` returned.
 * This is the per-event hot path of publishing, so it allocates little
 * beyond the lines and ids themselves.
 */
export class GroupBuilder {
  readonly writes = new Map<string, StreamWrite>();
  readonly keyRecords: KeyRecord[] = [];
  /** The events' shared `timestamp`, ISO 8601. */
  readonly timestamp: string;
  private readonly afterId: string;
  private readonly typeJsons = new Map<string, string>();

  /**
   * @param nowMs the group's time, given to every event in it
   * @param headOf a stream's last stored sequence
   * @param keysStream the stream key records go to, in the same group as their batch
   */
  constructor(
    readonly nowMs: number,
    private readonly headOf: (stream: string) => number,
    private readonly keysStream: string,
  ) {
    this.timestamp = new Date(nowMs).toISOString();
    this.afterId = afterIdJson(this.timestamp);
  }

  /** The UTC date (YYYY-MM-DD) of the group, which names the segment folders it writes to. */
  get date(): string {
    return this.timestamp.slice(0, 10);
  }

  /**
   * Adds one batch: its ids, or the conflict that refuses it (then nothing
   * of it is in the group and later batches take its sequences).
   */
  add(events: readonly AppendEvent[], idempotency?: { key: string; hash: string }): string[] | SequenceConflictError {
    if (events.some(hasExpectation)) {
      const conflict = this.checkExpectedSequences(events);
      if (conflict) return conflict;
    }
    const ids: string[] = [];
    // Batches are mostly of one topic and one type: look each up only when it changes.
    let write: StreamWrite | undefined;
    let type: string | undefined;
    let typeJson = "";
    for (const event of events) {
      if (write === undefined || write.stream !== event.topic) write = this.writeFor(event.topic);
      if (event.type !== type) {
        type = event.type;
        typeJson = this.typeJson(type);
      }
      const id = write.ids.format(++write.head);
      ids.push(id);
      appendLine(write, eventLine(id, this.afterId, typeJson, event.payloadJson));
    }
    if (idempotency) {
      // In the same group as its batch, so the key is durable exactly when the batch is.
      const record: KeyRecord = { key: idempotency.key, hash: idempotency.hash, ids, at: this.nowMs };
      this.keyRecords.push(record);
      const keys = this.writeFor(this.keysStream);
      keys.head++;
      appendLine(keys, `${JSON.stringify(record)}\n`);
    }
    return ids;
  }

  /** Each stream's lines, in order, as the pieces to encode one after another. */
  chunksOf(write: StreamWrite): string[] {
    cutChunk(write);
    return write.chunks;
  }

  /** Every stream's head after the group, as its commit markers list them. */
  heads(): Record<string, number> {
    const heads: Record<string, number> = {};
    for (const write of this.writes.values()) heads[write.stream] = write.head;
    return heads;
  }

  private writeFor(stream: string): StreamWrite {
    let write = this.writes.get(stream);
    if (write === undefined) {
      write = { stream, chunks: [], text: "", lineChars: [], chars: 0, ids: new EventIdFormatter(stream), head: this.headOf(stream) };
      this.writes.set(stream, write);
    }
    return write;
  }

  private typeJson(type: string): string {
    let json = this.typeJsons.get(type);
    if (json === undefined) this.typeJsons.set(type, (json = JSON.stringify(type)));
    return json;
  }

  /** Each `expectedSequence` against its topic's head just before the event, earlier events of the group counted. */
  private checkExpectedSequences(events: readonly AppendEvent[]): SequenceConflictError | null {
    const heads = new Map<string, number>();
    for (const event of events) {
      const current = heads.get(event.topic) ?? this.writes.get(event.topic)?.head ?? this.headOf(event.topic);
      if (event.expectedSequence !== undefined && event.expectedSequence !== current) {
        return new SequenceConflictError(event.topic, event.expectedSequence, current);
      }
      heads.set(event.topic, current + 1);
    }
    return null;
  }
}

/** About 32 KiB of UTF-16: small enough for the allocator to reuse, large enough that writing it out is one call. */
const CHUNK_CHARS = 16 * 1024;

function appendLine(write: StreamWrite, line: string): void {
  write.text += line;
  write.lineChars.push(line.length);
  write.chars += line.length;
  if (write.text.length >= CHUNK_CHARS) cutChunk(write);
}

function cutChunk(write: StreamWrite): void {
  if (write.text === "") return;
  write.chunks.push(write.text);
  write.text = "";
}

function hasExpectation(event: AppendEvent): boolean {
  return event.expectedSequence !== undefined;
}
