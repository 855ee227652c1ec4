/** A real webhook receiver (Bun.serve on port 0) that records every delivery and answers as scripted. */

export interface Delivery {
  /** 1-based arrival number. */
  n: number;
  /** `performance.now()` at arrival. */
  at: number;
  headers: Headers;
  /** The raw body, exactly as received. */
  body: string;
  consumerId: string;
  eventIds: string[];
  /** Status the receiver answered; 0 while the answer is pending. */
  status: number;
}

/** Chooses the answer to a delivery; may wait (a slow receiver). */
export type Respond = (delivery: Delivery) => Response | Promise<Response>;

export interface Receiver extends AsyncDisposable {
  url: string;
  deliveries: Delivery[];
  /** Ids of the events of every delivery answered 2xx, in arrival order (duplicates kept). */
  acceptedIds(): string[];
  /** Resolves once `check` holds (re-checked at each delivery); rejects after `timeoutMs`. */
  until(check: (receiver: Receiver) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves once the accepted ids include every id in `ids`. */
  untilAccepted(ids: readonly string[], timeoutMs?: number): Promise<void>;
}

export const ok: Respond = () => new Response(null, { status: 204 });

export function startReceiver(respond: Respond = ok): Receiver {
  const deliveries: Delivery[] = [];
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const watch of [...watchers]) watch();
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 60,
    async fetch(request) {
      const body = await request.text();
      const parsed = JSON.parse(body) as { consumerId: string; events: { id: string }[] };
      const delivery: Delivery = {
        n: deliveries.length + 1,
        at: performance.now(),
        headers: request.headers,
        body,
        consumerId: parsed.consumerId,
        eventIds: parsed.events.map((e) => e.id),
        status: 0,
      };
      deliveries.push(delivery);
      notify();
      const response = await respond(delivery);
      // Recorded before the answer leaves, so a test that sees the store react also sees the status.
      delivery.status = response.status;
      notify();
      return response;
    },
  });
  const receiver: Receiver = {
    url: `http://127.0.0.1:${server.port}/hook`,
    deliveries,
    acceptedIds: () => deliveries.filter((d) => d.status >= 200 && d.status < 300).flatMap((d) => d.eventIds),
    until(check, what, timeoutMs = 10_000) {
      if (check(receiver)) return Promise.resolve();
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      const watch = () => {
        if (!check(receiver)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${deliveries.length} deliveries`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        watchers.delete(watch);
      };
      watchers.add(watch);
      return promise;
    },
    untilAccepted(ids, timeoutMs) {
      return receiver.until(
        (r) => {
          const accepted = new Set(r.acceptedIds());
          return ids.every((id) => accepted.has(id));
        },
        `events ${ids[0]}…${ids.at(-1)}`,
        timeoutMs,
      );
    },
    async [Symbol.asyncDispose]() {
      await server.stop(true);
    },
  };
  return receiver;
}

/** `["t-1", …, "t-n"]`. */
export function ids(topic: string, from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${topic}-${from + i}`);
}
