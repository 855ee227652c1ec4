/**
 * `streamEvents`: history by pages, then new events by long-polling.
 *
 * @module
 */
import { sleep } from "./abort.ts";
import type { FetchTransport } from "./http-transport.ts";
import type { Event } from "./types.ts";

/** Events per request while streaming. @default 1000 */
export const DEFAULT_STREAM_PAGE_SIZE = 1_000;
/**
 * Minimum time between two follow requests that returned nothing, in ms;
 * only matters against a server that answers long-polls at once.
 * @default 1000
 */
export const DEFAULT_STREAM_POLL_INTERVAL_MS = 1_000;
/** How long the server may hold a follow request open, in ms. @default 25000 */
export const DEFAULT_LONG_POLL_WAIT_MS = 25_000;

/** Options of `EventStoreClient.streamEvents`. */
export interface StreamEventsOptions {
  /** Start after this event id; from the first event when omitted. */
  sinceEventId?: string;
  /** Ends the stream (without an error) and aborts the request in flight. */
  signal?: AbortSignal;
  /**
   * Events per request.
   * @default 1000
   */
  pageSize?: number;
  /**
   * Minimum time between two empty follow requests, in ms.
   * @default 1000
   */
  pollInterval?: number;
  /**
   * How long the server may hold a follow request open waiting for an event,
   * in ms (the `waitMs` query parameter).
   * @default 25000
   */
  waitMs?: number;
}

interface EventsPage {
  events: Event[];
}

/** Yields the events of `topic` after `sinceEventId`, forever, until `signal` aborts. */
export async function* streamTopicEvents(
  transport: FetchTransport,
  topic: string,
  options: StreamEventsOptions = {},
): AsyncGenerator<Event, void, undefined> {
  const {
    signal,
    pageSize = DEFAULT_STREAM_PAGE_SIZE,
    pollInterval = DEFAULT_STREAM_POLL_INTERVAL_MS,
    waitMs = DEFAULT_LONG_POLL_WAIT_MS,
  } = options;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`streamEvents: pageSize must be a positive integer, got ${pageSize}`);
  }
  let cursor = options.sinceEventId;
  const path = `/topics/${encodeURIComponent(topic)}/events`;

  // Returns undefined once the caller aborted, whatever the request threw.
  const fetchPage = async (follow: boolean): Promise<Event[] | undefined> => {
    if (signal?.aborted) return undefined;
    try {
      const page = await transport.request<EventsPage>({
        method: "GET",
        path,
        query: { sinceEventId: cursor, limit: pageSize, waitMs: follow ? waitMs : undefined },
        signal,
        // The server may legitimately hold a follow request for waitMs.
        timeout: follow ? waitMs + transport.timeout : undefined,
      });
      return page.events;
    } catch (error) {
      if (signal?.aborted) return undefined;
      throw error;
    }
  };

  // Catch up: a short page means the history is exhausted.
  for (;;) {
    const events = await fetchPage(false);
    if (events === undefined) return;
    for (const event of events) {
      cursor = event.id;
      yield event;
    }
    if (events.length < pageSize) break;
  }

  // Follow.
  for (;;) {
    const startedAt = Date.now();
    const events = await fetchPage(true);
    if (events === undefined) return;
    for (const event of events) {
      cursor = event.id;
      yield event;
    }
    if (events.length === 0 && Date.now() - startedAt < pollInterval) {
      try {
        await sleep(pollInterval, signal);
      } catch {
        // Only an abort rejects the sleep; the next fetchPage returns.
      }
    }
  }
}
