/** One event to append: the payload is already validated and serialized. */
export interface AppendEvent {
  topic: string;
  type: string;
  /** `JSON.stringify(payload)`; stored as-is, so reads return it byte for byte. */
  payloadJson: string;
  /** The topic's sequence just before this event must equal this, else the batch is refused. */
  expectedSequence?: number;
}

export interface ReadRange {
  /** Return events with a sequence greater than this (0 = from the start). */
  after: number;
  limit: number;
  /** Only events stored under this UTC date (`YYYY-MM-DD`). */
  date?: string;
}

export interface ReadResult {
  /** Each event's stored JSON line, without the newline, in sequence order. */
  lines: Uint8Array[];
  /** Sequence of the last event returned (or `after` when none). */
  lastSequence: number;
}

export interface IdempotentAppend {
  ids: string[];
  /** True when the key was already used for this batch: nothing was stored, `ids` are the first answer's. */
  replayed: boolean;
}

/**
 * The durable, ordered, per-topic event log. Appends are atomic across
 * topics and resolve only once durable; reads see only acknowledged events.
 */
export interface EventLog {
  /** Last acknowledged sequence of a topic (0 when it has no events). */
  head(topic: string): number;
  /** Stores a batch atomically; resolves with its ids once it is on disk. */
  append(events: readonly AppendEvent[]): Promise<string[]>;
  /**
   * `append` under an idempotency key: the first call stores the batch; a later
   * one with the same key and `hash` stores nothing and answers the same ids; the
   * same key with another hash throws IdempotencyKeyReusedError. Keys commit
   * atomically with their batch and are kept for the configured TTL.
   */
  appendIdempotent(events: readonly AppendEvent[], key: string, hash: string): Promise<IdempotentAppend>;
  read(topic: string, range: ReadRange): ReadResult;
  /** Called after every commit for each topic it advanced. Returns an unsubscribe function. */
  onCommit(listener: (topic: string, head: number) => void): () => void;
  /** Resolves once the topic's head passes `after`, or after `timeoutMs`, or on abort. */
  waitForEvents(topic: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
