/** Event ids are `<topic>-<sequence>`; sequences start at 1 and are dense per topic. */
export function formatEventId(topic: string, sequence: number): string {
  return eventIdPrefix(topic) + sequence;
}

/** What every id of `topic` starts with; appending a sequence makes an id. */
export function eventIdPrefix(topic: string): string {
  return `${topic}-`;
}

/** "00" to "99". */
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));

/**
 * Formats the ids of one topic for a run of rising sequences, as a group
 * commit does. Converting a large integer to a string is the dearest step
 * of formatting an event (about 80 ns), so the digits above the last two
 * are converted once per hundred sequences and reused.
 */
export class EventIdFormatter {
  private readonly prefix: string;
  private hundreds = -1;
  private hundredsPrefix = "";

  constructor(topic: string) {
    this.prefix = eventIdPrefix(topic);
  }

  format(sequence: number): string {
    const hundreds = Math.floor(sequence / 100);
    if (hundreds === 0) return this.prefix + sequence;
    if (hundreds !== this.hundreds) {
      this.hundreds = hundreds;
      this.hundredsPrefix = this.prefix + hundreds;
    }
    return this.hundredsPrefix + TWO_DIGITS[sequence - hundreds * 100]!;
  }
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
