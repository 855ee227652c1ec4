import type { CommitListener } from "../store/event-log.ts";
import type { SegmentRef } from "./segment-files.ts";
import type { SegmentIndex } from "./segment-index.ts";
import type { FileHandle } from "./storage.ts";

/**
 * The stream of idempotency keys. `$` cannot start a topic name, so it never
 * collides with a topic; it lives in `<dataDir>/idempotency/<date>/…`.
 */
export const KEYS_STREAM = "$keys";

/** The segment a stream appends to. */
export interface Tail {
  ref: SegmentRef;
  file: FileHandle;
  index: SegmentIndex;
  /** Bytes covered by the last commit; anything beyond is not yet (or never) durable. */
  size: number;
}

/** One stream (a topic, or the keys stream) as the log keeps it in memory. */
export interface TopicState {
  name: string;
  dir: string;
  /** Segments that hold events, in sequence order; the last one is the tail's. */
  segments: SegmentRef[];
  tail: Tail | null;
  /** Last acknowledged sequence; readers never see past it. */
  head: number;
  /** Subscribers of this topic alone (long-polling readers, mostly). */
  listeners: Set<CommitListener>;
}

export function newTopicState(name: string, dir: string): TopicState {
  return { name, dir, segments: [], tail: null, head: 0, listeners: new Set() };
}
