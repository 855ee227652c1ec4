/** Delivery state of one consumer, shared by its subscriptions (one per topic). */
export interface ConsumerRuntime {
  readonly id: string;
  readonly callback: string;
  /** HMAC key decoded from the consumer's `whsec_…` secret. */
  readonly key: Uint8Array;
  /** No delivery starts while paused; `resume` clears it. */
  paused: boolean;
  /** The most recent failure of any of its subscriptions, e.g. "HTTP 500". */
  lastError: string | null;
}

/** The batch being delivered: re-sent unchanged (same events, same webhook-id) until a 2xx. */
export interface PendingBatch {
  count: number;
  messageId: string;
}

/** One consumer's delivery of one topic. At most one delivery of it is in flight. */
export interface Subscription {
  readonly consumer: ConsumerRuntime;
  readonly topic: string;
  /** Sequence of the last event acknowledged with a 2xx (or registered as seen). */
  cursor: number;
  /**
   * `cursor` as last written to disk: what the API shows, so a cursor seen
   * there never goes back after a crash (the delivery loop runs ahead of it
   * by at most the batch whose write is in flight).
   */
  durableCursor: number;
  batch: PendingBatch | null;
  inFlight: boolean;
  /** Consecutive failed deliveries. */
  attempts: number;
  /** Earliest start of the next attempt (ms since the epoch) while backing off. */
  retryAt: number | null;
  /** Aborted when the subscription ends (unregister, removal), cancelling its delivery in flight. */
  readonly controller: AbortController;
}

export function createSubscription(consumer: ConsumerRuntime, topic: string, cursor: number): Subscription {
  return { consumer, topic, cursor, durableCursor: cursor, batch: null, inFlight: false, attempts: 0, retryAt: null, controller: new AbortController() };
}
