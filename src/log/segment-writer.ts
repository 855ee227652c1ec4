import { dirname } from "node:path";
import { formatCommitMarker } from "./commit-marker.ts";
import type { GroupBuilder } from "./group-builder.ts";
import { type SegmentRef, segmentPath } from "./segment-files.ts";
import { SegmentIndex } from "./segment-index.ts";
import type { LogStorage } from "./storage.ts";
import type { Tail, TopicState } from "./stream-state.ts";

/** @default 32 MiB */
export const DEFAULT_SEGMENT_MAX_BYTES = 32 * 1024 * 1024;
/** The write buffer is kept between groups up to this size. */
const MAX_RETAINED_WRITE_BUFFER_BYTES = 8 * 1024 * 1024;

/** What one group commit wrote to one stream. */
export interface WrittenStream {
  state: TopicState;
  tail: Tail;
  /** The stream's head once the group is durable. */
  head: number;
  /** Where the group's lines start in the segment. */
  sizeBefore: number;
  /** Each of the group's lines in bytes, newline included, in order. */
  lineBytes: readonly number[];
  sizeAfter: number;
}

export interface SegmentWriterOptions {
  storage: LogStorage;
  /** A segment is closed once it holds this many bytes. */
  segmentMaxBytes: number;
  /** Told of a segment that stops being a tail with events in it (its index stays useful to readers). */
  closedSegment: (path: string, index: SegmentIndex) => void;
}

/**
 * Writes group commits: each stream's lines and commit marker, UTF-8, to its
 * tail segment, starting a new segment (and its date folder, durably) on a
 * new UTC date or when the tail is full. Nothing here is acknowledged: the
 * caller fsyncs what `write` touched, then applies `WrittenStream`s.
 */
export class SegmentWriter {
  private writeBuffer = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly options: SegmentWriterOptions) {}

  /**
   * Appends each stream's lines and commit marker to its tail segment,
   * recording in `written` what was touched, so a failure part-way can be
   * rolled back.
   */
  write(builder: GroupBuilder, group: number, stateOf: (stream: string) => TopicState, written: WrittenStream[]): void {
    const heads = builder.heads();
    // Stream names are ASCII, so this many characters is this many bytes; no CRC-32 has more digits.
    const markerRoom = formatCommitMarker({ group, heads, crc: 0xffffffff }).length;
    for (const write of builder.writes.values()) {
      const state = stateOf(write.stream);
      const tail = this.tailFor(state, builder.date);
      const { buffer, events } = this.encode(builder.chunksOf(write), markerRoom, (events) => formatCommitMarker({ group, heads, crc: Bun.hash.crc32(events) }));
      // Listed before the write: a write that fails part-way must be rolled back too.
      const entry: WrittenStream = { state, tail, head: write.head, sizeBefore: tail.size, lineBytes: [], sizeAfter: tail.size };
      written.push(entry);
      this.appendFully(tail, buffer);
      // As many bytes as UTF-16 units: every character was ASCII, so each line's length is known without a scan.
      entry.lineBytes = events.length === write.chars ? write.lineChars : lineByteLengths(events);
      entry.sizeAfter = tail.size + buffer.length;
    }
  }

  /** The segment the next group writes to, starting a new one on a new date or when full. */
  private tailFor(state: TopicState, date: string): Tail {
    const { storage } = this.options;
    const tail = state.tail;
    if (tail && tail.ref.date === date && tail.size < this.options.segmentMaxBytes) return tail;
    if (tail) {
      storage.close(tail.file);
      if (tail.index.count === 0) {
        // Left empty by a failed append: its name would clash with the new segment's.
        storage.removeFile(tail.ref.path);
        state.segments.pop();
      } else {
        this.options.closedSegment(tail.ref.path, tail.index);
      }
      state.tail = null;
    }
    const ref: SegmentRef = { date, firstSequence: state.head + 1, path: segmentPath(state.dir, date, state.head + 1) };
    const dateDir = dirname(ref.path);
    const isNewDir = storage.list(dateDir).length === 0;
    storage.makeDirectory(dateDir);
    const file = storage.openAppend(ref.path);
    try {
      // The new file (and its folders) must survive a crash as surely as its contents.
      storage.syncDirectory(dateDir);
      if (isNewDir) {
        storage.syncDirectory(state.dir);
        storage.syncDirectory(dirname(state.dir));
      }
    } catch (error) {
      // Not the tail yet, so nothing else would close it: every failed directory fsync would leak a descriptor.
      try {
        storage.close(file);
      } catch {
        // The sync error is the one to report; the empty file is reused or removed by the next attempt or recovery.
      }
      throw error;
    }
    state.segments.push(ref);
    state.tail = { ref, file, index: new SegmentIndex(), size: 0 };
    return state.tail;
  }

  /**
   * `chunks` then their marker (at most `markerRoom` bytes), UTF-8, in the
   * reusable write buffer: a group can be megabytes, and a fresh buffer per
   * group costs more in page faults than the encoding. The views are valid
   * until the next call.
   */
  private encode(chunks: readonly string[], markerRoom: number, markerFor: (events: Uint8Array) => string): { buffer: Uint8Array; events: Uint8Array } {
    let chars = 0;
    for (const chunk of chunks) chars += chunk.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const worstCase = chars * 3 + markerRoom;
    let target = this.writeBuffer;
    if (target.length < worstCase) {
      target = Buffer.allocUnsafe(worstCase);
      // Beyond the cap a group gets a buffer of its own, so one huge batch does not pin memory for good.
      if (worstCase <= MAX_RETAINED_WRITE_BUFFER_BYTES) this.writeBuffer = target;
    }
    let eventBytes = 0;
    for (const chunk of chunks) eventBytes += target.write(chunk, eventBytes);
    const events = target.subarray(0, eventBytes);
    const marker = markerFor(events);
    const markerBytes = target.write(marker, eventBytes);
    // A cut marker would make recovery drop the group: refuse it (rolled back, 503) rather than store it.
    if (markerBytes !== marker.length) throw new Error("commit marker did not fit the write buffer");
    return { buffer: target.subarray(0, eventBytes + markerBytes), events };
  }

  private appendFully(tail: Tail, buffer: Uint8Array): void {
    let offset = 0;
    while (offset < buffer.length) {
      const wrote = this.options.storage.append(tail.file, buffer.subarray(offset));
      if (wrote <= 0) throw new Error("write made no progress");
      offset += wrote;
    }
  }
}

/** The length in bytes of each newline-terminated line of `bytes`, newline included. */
function lineByteLengths(bytes: Uint8Array): number[] {
  const lengths: number[] = [];
  for (let start = 0; start < bytes.length; ) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline === -1) break;
    lengths.push(newline + 1 - start);
    start = newline + 1;
  }
  return lengths;
}
