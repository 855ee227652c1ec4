// Type-checked in a fresh app against the installed client package (NodeNext and Bundler).
// Every `@ts-expect-error` must be needed: a wrong call that compiles fails the check.
import { EventStoreClient, EventStoreError, type Event, verifyWebhook } from "@event-store-js/client";
import { createTypedClient, type TypedClient } from "@event-store-js/client/typed";

const client = new EventStoreClient({ baseUrl: "http://127.0.0.1:8000", retries: 2, maxRetryDelay: 5000 });

export async function use(): Promise<number> {
  const ids: string[] = await client.publishEvents([{ topic: "t", type: "e", payload: { n: 1 } }]);
  const events: Event[] = await client.getEvents("t", { limit: 10 });
  const { consumerId, secret }: { consumerId: string; secret: string } = await client.registerConsumerWithSecret({
    callback: "http://127.0.0.1:9000/hook",
    topics: { t: null },
  });
  // @ts-expect-error a payload is an object
  await client.publishEvent("t", "e", 42);
  // @ts-expect-error no such method
  await client.publishEvnt("t", "e", {});

  const api: TypedClient = createTypedClient("http://127.0.0.1:8000");
  const read = await api.topics({ topic: "t" }).events.get({ query: { limit: 10 } });
  const first: string | undefined = read.data?.events[0]?.id;
  // @ts-expect-error no such route
  await api.topicz.get();
  // @ts-expect-error the publish body is an array of events
  await api.events.post({ topic: "t", type: "e", payload: {} });

  try {
    await verifyWebhook(secret, {}, "");
  } catch (error) {
    if (error instanceof EventStoreError) return error.status;
  }
  return ids.length + events.length + consumerId.length + (first?.length ?? 0);
}
