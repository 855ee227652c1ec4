import type { KeyRecord } from "../../log/idempotency-keys.ts";
import { lowerBound } from "../lower-bound.ts";

/**
 * The headers every batch message carries, so a node rebuilds its index
 * from a headers-only replay without reading a single event body.
 */
export const HEADER_RANGES = "ES-Ranges";
export const HEADER_TIME = "ES-Time";
export const HEADER_KEY = "ES-Key";
export const HEADER_HASH = "ES-Hash";

/** One topic's share of one batch message: its sequences `first..last` are lines `line..` of the body. */
export interface TopicRange {
  topic: string;
  first: number;
  last: number;
  line: number;
}

/** `t 1 3 0,u 1 1 3`: topic, first and last sequence, first line in the body. Topic names hold no space or comma. */
export function encodeRanges(ranges: readonly TopicRange[]): string {
  return ranges.map((r) => `${r.topic} ${r.first} ${r.last} ${r.line}`).join(",");
}

export function decodeRanges(value: string): TopicRange[] {
  if (value === "") return [];
  return value.split(",").map((part) => {
    const [topic, first, last, line] = part.split(" ");
    return { topic: topic!, first: Number(first), last: Number(last), line: Number(line) };
  });
}

/** Per topic, one entry per batch message that touched it, in stream order (so sequences and times ascend). */
export class TopicIndex {
  readonly firsts: number[] = [];
  readonly lasts: number[] = [];
  readonly streamSeqs: number[] = [];
  readonly lines: number[] = [];
  readonly timesMs: number[] = [];

  get head(): number {
    return this.lasts[this.lasts.length - 1] ?? 0;
  }

  push(range: TopicRange, streamSeq: number, timeMs: number): void {
    this.firsts.push(range.first);
    this.lasts.push(range.last);
    this.streamSeqs.push(streamSeq);
    this.lines.push(range.line);
    this.timesMs.push(timeMs);
  }

  /** The first entry whose last sequence is at least `sequence`. */
  entryOf(sequence: number): number {
    return lowerBound(this.lasts, sequence);
  }

  /** The first sequence whose batch time is at least `timeMs` (head + 1 when none). */
  firstSequenceAt(timeMs: number): number {
    const i = lowerBound(this.timesMs, timeMs);
    return i < this.firsts.length ? this.firsts[i]! : this.head + 1;
  }
}

/**
 * What a node knows of the batch stream, built only from message headers:
 * per-topic index, the last stream sequence applied, the last batch time,
 * and the idempotency keys within the TTL. Messages are applied strictly
 * in stream order; anything else is ignored (the caller catches up).
 */
export class BatchIndex {
  readonly topics = new Map<string, TopicIndex>();
  /** Keys in commit order, so the oldest are first; `ids` is empty here (they are rebuilt from the ranges). */
  readonly keys = new Map<string, KeyRecord & { streamSeq: number }>();
  lastStreamSeq = 0;
  lastTimeMs = 0;

  head(topic: string): number {
    return this.topics.get(topic)?.head ?? 0;
  }

  /** Applies message `streamSeq` if it is the next one; returns the ranges applied, or null when it was not next. */
  apply(streamSeq: number, header: (name: string) => string): TopicRange[] | null {
    if (streamSeq !== this.lastStreamSeq + 1) return null;
    this.lastStreamSeq = streamSeq;
    const timeMs = Number(header(HEADER_TIME)) || this.lastTimeMs;
    const ranges = decodeRanges(header(HEADER_RANGES));
    for (const range of ranges) {
      let index = this.topics.get(range.topic);
      if (index === undefined) this.topics.set(range.topic, (index = new TopicIndex()));
      // A range must continue its topic; a message that does not (never written by this store) is skipped.
      if (range.first !== index.head + 1) continue;
      index.push(range, streamSeq, timeMs);
    }
    this.lastTimeMs = Math.max(this.lastTimeMs, timeMs);
    const key = header(HEADER_KEY);
    if (key !== "") this.keys.set(key, { key, hash: header(HEADER_HASH), ids: [], at: timeMs, streamSeq });
    return ranges;
  }

  /** Drops keys older than `cutoffMs`; returns the key's record when still held. */
  key(key: string, cutoffMs: number): (KeyRecord & { streamSeq: number }) | undefined {
    for (const [oldest, record] of this.keys) {
      if (record.at >= cutoffMs) break;
      this.keys.delete(oldest);
    }
    return this.keys.get(key);
  }
}
