/**
 * The JSON of one event as clients see it, and as every backend stores it,
 * byte for byte:
 *
 *   {"id":"<topic>-<n>","timestamp":"<ISO 8601 UTC>","type":<JSON string>,"payload":<JSON object>}
 *
 * Because stored bytes are the client JSON, a read response or a webhook body
 * is assembled from stored events without parsing them (see json-array.ts).
 * The key order is fixed: `timestamp` always follows `id`, so it is found in
 * the first bytes of an event without decoding the payload.
 */

/** What follows the id in every event of one commit: its shared timestamp and the `type` key. */
export function afterIdJson(timestamp: string): string {
  return `","timestamp":"${timestamp}","type":`;
}

/** One event's JSON; `afterId` from `afterIdJson`, `typeJson` = JSON.stringify(type). No newline. */
export function eventJson(id: string, afterId: string, typeJson: string, payloadJson: string): string {
  return `{"id":"${id}${afterId}${typeJson},"payload":${payloadJson}}`;
}

/** `eventJson` and a newline, in one string: a JSON-lines backend's record, built on the publish hot path. */
export function eventLine(id: string, afterId: string, typeJson: string, payloadJson: string): string {
  return `{"id":"${id}${afterId}${typeJson},"payload":${payloadJson}}\n`;
}

// Ids are at most 128 + 1 + 16 characters, so the timestamp ends within the first 256 bytes.
const HEAD_BYTES = 256;
const TIMESTAMP = /^\{"id":"[^"]*","timestamp":"([^"]+)"/;
const decoder = new TextDecoder();

/** The `timestamp` of a stored event as stored (ISO 8601), read from its first bytes; null when the bytes are not an event. */
export function eventTimestamp(event: Uint8Array): string | null {
  return TIMESTAMP.exec(decoder.decode(event.subarray(0, HEAD_BYTES)))?.[1] ?? null;
}

/** The `timestamp` of a stored event, in ms since the epoch; NaN when the bytes are not an event. */
export function eventTimeMs(event: Uint8Array): number {
  const timestamp = eventTimestamp(event);
  return timestamp === null ? Number.NaN : Date.parse(timestamp);
}
