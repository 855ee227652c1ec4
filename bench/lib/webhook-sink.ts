import { TOPIC } from "./fixture.ts";

/** Receives webhook deliveries for the delivery rows: `POST <url>/c/<consumer>`, answered 200 at once. */
export interface WebhookSink {
  url: string;
  stop(): void;
}

export type DeliveryHandler = (consumer: number, sequences: number[], receivedAt: number) => void;

const EVENT_ID = new RegExp(`\\{"id":"${TOPIC}-(\\d+)"`, "g");

/**
 * Runs in the runner's process, so publish and receipt times come from one
 * clock. Sequences are pulled out with a regex on the event objects' leading
 * `"id"` rather than JSON.parse: cheaper, and the runner shares the CPUs with
 * the server under test.
 */
export function startSink(onDelivery: DeliveryHandler): WebhookSink {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const receivedAt = performance.now();
      const consumer = Number(new URL(request.url).pathname.split("/")[2]);
      const body = await request.text();
      const sequences: number[] = [];
      for (const match of body.matchAll(EVENT_ID)) sequences.push(Number(match[1]));
      onDelivery(consumer, sequences, receivedAt);
      return new Response(null, { status: 200 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => void server.stop(true) };
}
