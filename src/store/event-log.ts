/**
 * The seam every backend implements for events. Nothing of files, segments,
 * dates or streams crosses it: a backend stores event JSON (see
 * src/events/event-json.ts) per topic, in dense sequences, and tells
 * subscribers what any writer of that backend committed.
 */

/** One event to append: the payload is already validated and serialized. */
export interface AppendEvent {
  topic: string;
  type: string;
  /** `JSON.stringify(payload)`; stored as-is, so reads return it byte for byte. */
  payloadJson: string;
  /** The topic's sequence just before this event must equal this, else the batch is refused. */
  expectedSequence?: number;
}

/** An append under an `Idempotency-Key`. */
export interface Idempotency {
  key: string;
  /** `batchHash(events)`: the same key with another hash is refused with IdempotencyKeyReusedError. */
  hash: string;
}

export interface AppendResult {
  /** The events' ids, in order: `<topic>-<sequence>`. */
  ids: string[];
  /** True when the key was already used for this batch: nothing was stored, `ids` are the first answer's. */
  replayed: boolean;
}

export interface ReadRange {
  /** Return events with a sequence greater than this (0 = from the start). */
  after: number;
  /** Most events returned. */
  limit: number;
  /** Only events whose timestamp is at or after this (ms since the epoch). */
  fromTime?: number;
  /** Only events whose timestamp is before this (ms since the epoch). */
  beforeTime?: number;
}

export interface ReadResult {
  /** Each event's stored JSON (see event-json.ts), without a newline, in sequence order. */
  events: Uint8Array[];
  /** Sequence of the last event looked at (or `after` when none); the next page starts after it. */
  lastSequence: number;
}

/** One durable commit of a backend (for metrics): its batches, their events, and the seconds from the first write to durable. */
export interface GroupCommitStats {
  batches: number;
  events: number;
  seconds: number;
}

/** Told of a commit: `topic` now has events up to `head`. */
export type CommitListener = (topic: string, head: number) => void;

/**
 * The durable, ordered, per-topic event log. Appends are atomic across
 * topics and resolve only once durable (as the backend defines it: fsync'd,
 * or a quorum); reads see only acknowledged events.
 */
export interface EventLog {
  /** Last acknowledged sequence of a topic (0 when it has no events). */
  head(topic: string): Promise<number>;
  /**
   * Stores a batch atomically; resolves with its ids once it is durable.
   * Rejects with SequenceConflictError when an `expectedSequence` does not
   * hold (counting earlier events of the batch), storing nothing. Under an
   * idempotency key the first call stores the batch and a later one with
   * the same key and hash stores nothing and answers the same ids; keys
   * commit atomically with their batch and are kept for the backend's TTL.
   */
  append(events: readonly AppendEvent[], idempotency?: Idempotency): Promise<AppendResult>;
  read(topic: string, range: ReadRange): Promise<ReadResult>;
  /**
   * Calls `listener` after every commit, by any writer of this backend, for
   * each topic it advanced (`topics` null: every topic), until `signal`
   * aborts. Closing the log ends every subscription, calling each listener
   * of named topics once more (so a waiting reader answers at once).
   * Listeners must be cheap and must not throw: they run on the commit path.
   */
  subscribe(topics: readonly string[] | null, listener: CommitListener, signal: AbortSignal): void;
  /** Idempotency keys held (within the backend's TTL), for metrics. */
  idempotencyKeyCount(): Promise<number>;
  close(): Promise<void>;
}
