const encoder = new TextEncoder();
const EVENTS_OPEN = encoder.encode(',"events":[');
const CLOSE = encoder.encode("]}");

/**
 * How many of `lines` fit in one delivery of at most `maxBytes` (envelope
 * included). Always at least one, so an event larger than the limit is still
 * delivered, alone, rather than blocking its consumer forever.
 */
export function fittingCount(consumerId: string, lines: readonly Uint8Array[], maxBytes: number): number {
  let size = envelopeSize(consumerId);
  let count = 0;
  for (const line of lines) {
    size += line.length + (count > 0 ? 1 : 0);
    if (count > 0 && size > maxBytes) break;
    count++;
  }
  return count;
}

/** `{"consumerId":…,"events":[…]}` from stored event lines, without parsing or re-serializing them. */
export function deliveryBody(consumerId: string, lines: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`{"consumerId":${JSON.stringify(consumerId)}`);
  let size = head.length + EVENTS_OPEN.length + CLOSE.length + Math.max(0, lines.length - 1);
  for (const line of lines) size += line.length;
  const out = new Uint8Array(size);
  out.set(head);
  let offset = head.length;
  out.set(EVENTS_OPEN, offset);
  offset += EVENTS_OPEN.length;
  lines.forEach((line, i) => {
    if (i > 0) out[offset++] = 0x2c;
    out.set(line, offset);
    offset += line.length;
  });
  out.set(CLOSE, offset);
  return out;
}

function envelopeSize(consumerId: string): number {
  return encoder.encode(`{"consumerId":${JSON.stringify(consumerId)}`).length + EVENTS_OPEN.length + CLOSE.length;
}
