import { LogCorruptError } from "../errors.ts";
import { eventTimeMs } from "../events/event-json.ts";
import type { ReadRange, ReadResult } from "../store/event-log.ts";
import { type SegmentRef, findSegment, readWholeFile } from "./segment-files.ts";
import type { SegmentIndex } from "./segment-index.ts";
import { scanSegment } from "./segment-scan.ts";
import type { LogStorage } from "./storage.ts";
import type { TopicState } from "./stream-state.ts";

/** Closed-segment indexes kept in memory; older ones are rebuilt on demand. @default 32 */
export const DEFAULT_CACHED_SEGMENT_INDEXES = 32;

const DAY_MS = 86_400_000;

/**
 * Reads events by sequence: the segment holding a sequence is found by
 * binary search over first sequences, and its offset index gives each
 * event's byte range, so a page costs one positional read per segment it
 * spans and no parsing. The tail's index is live; closed segments' indexes
 * are rebuilt from the file on first use and kept in a small LRU cache.
 */
export class SegmentReader {
  private readonly indexCache = new Map<string, SegmentIndex>();

  constructor(private readonly storage: LogStorage) {}

  /**
   * A time range is served by the date folders: a segment holds the events
   * of one UTC date, and timestamps never go backwards in a topic. A range
   * that does not start and end at midnights is trimmed by each event's
   * timestamp.
   */
  read(state: TopicState | undefined, range: ReadRange): ReadResult {
    if (state === undefined) return { events: [], lastSequence: range.after };
    let first = range.after + 1;
    let last = Math.min(state.head, range.after + range.limit);
    const timed = range.fromTime !== undefined || range.beforeTime !== undefined;
    if (timed) {
      const span = timeSpan(state, range.fromTime ?? 0, range.beforeTime ?? Number.POSITIVE_INFINITY);
      if (span === null) return { events: [], lastSequence: range.after };
      first = Math.max(first, span.first);
      last = Math.min(span.last, first + range.limit - 1);
    }
    const lines: Uint8Array[] = [];
    let sequence = first;
    while (sequence <= last) {
      const at = findSegment(state.segments, sequence);
      const ref = state.segments[at];
      if (ref === undefined) throw new LogCorruptError(`Topic '${state.name}' has no segment for sequence ${sequence}`);
      const index = this.indexOf(state, ref);
      const from = sequence - ref.firstSequence;
      const to = Math.min(last - ref.firstSequence, index.count - 1);
      if (from > to) throw new LogCorruptError(`Topic '${state.name}' is missing events from sequence ${sequence}`);
      // A loop, not push(...spread): a page may hold more lines than a call has argument slots.
      for (const line of this.readLines(state, ref, index, from, to)) lines.push(line);
      sequence = ref.firstSequence + to + 1;
    }
    const lastSequence = last < first ? range.after : last;
    if (timed && !isWholeDays(range.fromTime, range.beforeTime)) return { events: lines.filter((line) => inTime(line, range)), lastSequence };
    return { events: lines, lastSequence };
  }

  /** Keeps the index of a segment that just stopped being a tail, so its next read needs no scan. */
  cacheIndex(path: string, index: SegmentIndex): void {
    this.indexCache.set(path, index);
    while (this.indexCache.size > DEFAULT_CACHED_SEGMENT_INDEXES) {
      this.indexCache.delete(this.indexCache.keys().next().value!);
    }
  }

  private indexOf(state: TopicState, ref: SegmentRef): SegmentIndex {
    if (state.tail?.ref === ref) return state.tail.index;
    const cached = this.indexCache.get(ref.path);
    if (cached) {
      this.indexCache.delete(ref.path);
      this.indexCache.set(ref.path, cached);
      return cached;
    }
    const scan = scanSegment(readWholeFile(this.storage, ref.path), state.name, ref.firstSequence);
    this.cacheIndex(ref.path, scan.index);
    return scan.index;
  }

  /** Event lines `from..to` (segment positions) as views into one read of the file. */
  private readLines(state: TopicState, ref: SegmentRef, index: SegmentIndex, from: number, to: number): Uint8Array[] {
    const start = index.start(from);
    const bytes = new Uint8Array(index.end(to) - start);
    const isTail = state.tail?.ref === ref;
    const file = isTail ? state.tail!.file : this.storage.openRead(ref.path);
    try {
      let offset = 0;
      while (offset < bytes.length) {
        const read = this.storage.read(file, bytes.subarray(offset), start + offset);
        if (read === 0) throw new LogCorruptError(`Segment of topic '${state.name}' is shorter than its index`);
        offset += read;
      }
    } finally {
      if (!isTail) this.storage.close(file);
    }
    const lines: Uint8Array[] = [];
    for (let i = from; i <= to; i++) lines.push(bytes.subarray(index.start(i) - start, index.end(i) - start));
    return lines;
  }
}

/**
 * First and last sequence of the segments whose date falls in
 * [fromTime, beforeTime), or null when there are none. The segments of a
 * range of dates are contiguous: dates never go backwards in a topic.
 */
function timeSpan(state: TopicState, fromTime: number, beforeTime: number): { first: number; last: number } | null {
  const fromDate = isoDate(fromTime);
  const lastDate = beforeTime === Number.POSITIVE_INFINITY ? "9999-12-31" : isoDate(beforeTime - 1);
  const at = state.segments.findIndex((ref) => ref.date >= fromDate);
  if (at === -1 || state.segments[at]!.date > lastDate) return null;
  let next = at;
  while (next < state.segments.length && state.segments[next]!.date <= lastDate) next++;
  const last = next < state.segments.length ? state.segments[next]!.firstSequence - 1 : state.head;
  const first = state.segments[at]!.firstSequence;
  return first <= last ? { first, last } : null;
}

function isoDate(ms: number): string {
  return new Date(Math.max(0, Math.min(ms, 253402300799999))).toISOString().slice(0, 10);
}

/** Whether a time range starts and ends at UTC midnights, so the date folders answer it exactly. */
function isWholeDays(fromTime: number | undefined, beforeTime: number | undefined): boolean {
  return (fromTime ?? 0) % DAY_MS === 0 && (beforeTime === undefined || beforeTime % DAY_MS === 0);
}

function inTime(event: Uint8Array, range: ReadRange): boolean {
  const time = eventTimeMs(event);
  return time >= (range.fromTime ?? Number.NEGATIVE_INFINITY) && time < (range.beforeTime ?? Number.POSITIVE_INFINITY);
}
