import { TOPIC } from "./fixture.ts";

export interface ScanResult {
  events: number;
  ms: number;
  eventsPerS: number;
  pages: number;
}

const LAST_ID = new RegExp(`\\{"id":"${TOPIC}-(\\d+)"`, "g");

/**
 * Reads the whole topic as a client pages through it: `limit=pageSize`,
 * each page starting after the last id of the previous one. Only the last id
 * of each page is decoded (the client's JSON parsing is not what we measure).
 */
export async function scanTopic(url: string, pageSize = 10_000): Promise<ScanResult> {
  const started = performance.now();
  let after = 0;
  let events = 0;
  let pages = 0;
  for (;;) {
    const query = after === 0 ? `limit=${pageSize}` : `sinceEventId=${TOPIC}-${after}&limit=${pageSize}`;
    const res = await fetch(`${url}/topics/${TOPIC}/events?${query}`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`scan page after ${after}: ${res.status} ${text.slice(0, 200)}`);
    pages++;
    const last = lastSequence(text);
    if (last === null) break;
    events += last - after;
    after = last;
  }
  const ms = performance.now() - started;
  return { events, ms, eventsPerS: events / (ms / 1000), pages };
}

function lastSequence(page: string): number | null {
  // Event objects start with their id; the last one is within the page's final ~1 KB.
  const from = page.lastIndexOf(`{"id":"${TOPIC}-`);
  if (from === -1) return null;
  LAST_ID.lastIndex = from;
  const match = LAST_ID.exec(page);
  return match ? Number(match[1]) : null;
}
