/** What a batch hash covers: an event as validated, before any backend stores it. */
export interface HashedEvent {
  topic: string;
  type: string;
  payloadJson: string;
  expectedSequence?: number;
}

/**
 * Canonical hash of a batch, to tell a true retry under an `Idempotency-Key`
 * from a reuse: the same events in the same order hash alike, whatever the
 * JSON spacing of the request. Every backend stores and compares this value.
 */
export function batchHash(events: readonly HashedEvent[]): string {
  const hasher = new Bun.CryptoHasher("sha256");
  for (const event of events) {
    hasher.update(JSON.stringify([event.topic, event.type, event.expectedSequence ?? null]));
    hasher.update(event.payloadJson);
    hasher.update("\n");
  }
  return hasher.digest("base64");
}
