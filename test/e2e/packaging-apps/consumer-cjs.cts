// The same package seen from CommonJS under NodeNext: resolves the `require` condition and its `.d.cts`.
import { EventStoreClient, WebhookVerificationError } from "@event-store-js/client";

export async function count(): Promise<number> {
  const client = new EventStoreClient({ baseUrl: "http://127.0.0.1:8000" });
  // @ts-expect-error a topic name is a string
  await client.getEvents(7);
  const error = new WebhookVerificationError("x", "INVALID_SIGNATURE");
  return (await client.getTopics()).length + error.code.length;
}
