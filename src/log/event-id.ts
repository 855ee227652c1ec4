/** Event ids are `<topic>-<sequence>`; sequences start at 1 and are dense per topic. */
export function formatEventId(topic: string, sequence: number): string {
  return eventIdPrefix(topic) + sequence;
}

/** What every id of `topic` starts with; appending a sequence makes an id. */
export function eventIdPrefix(topic: string): string {
  return `${topic}-`;
}

const TRAILING_SEQUENCE = /-(0|[1-9]\d{0,15})$/;

/**
 * Splits an id from the right, so `orders-2-17` is topic `orders-2`,
 * sequence 17. Returns null for anything that is not a well-formed id.
 */
export function parseEventId(id: string): { topic: string; sequence: number } | null {
  const match = TRAILING_SEQUENCE.exec(id);
  if (match === null || match.index === 0) return null;
  const sequence = Number(match[1]);
  if (!Number.isSafeInteger(sequence)) return null;
  return { topic: id.slice(0, match.index), sequence };
}
