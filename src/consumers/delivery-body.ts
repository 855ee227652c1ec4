import { joinJsonLines } from "../events/json-array.ts";

const encoder = new TextEncoder();

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
  return joinJsonLines(`{"consumerId":${JSON.stringify(consumerId)},"events":[`, lines, "]}");
}

function envelopeSize(consumerId: string): number {
  return encoder.encode(`{"consumerId":${JSON.stringify(consumerId)},"events":[]}`).length;
}
