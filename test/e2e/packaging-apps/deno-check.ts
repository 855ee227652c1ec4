// Run by deno-client.e2e.ts: `deno run <this> <client module> <server URL>`. Prints one JSON line.
const { EventStoreClient, EventStoreError, signWebhook, verifyWebhook } = await import(Deno.args[0]!);
const client = new EventStoreClient({ baseUrl: Deno.args[1], retries: 0, timeout: 5000 });
const topic = Deno.args[2]!;
await client.createTopic(topic, [{ eventType: "e", type: "object" }]);
const ids = await client.publishEvents([{ topic, type: "e", payload: { n: 1 } }]);
const payloads = (await client.getEvents(topic)).map((event: { payload: unknown }) => event.payload);
const secret = `whsec_${btoa("0123456789abcdef0123456789abcdef")}`;
const body = JSON.stringify({ ids });
const timestamp = Math.floor(Date.now() / 1000);
const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(timestamp), "webhook-signature": await signWebhook(secret, "msg_1", timestamp, body) };
const verified = await verifyWebhook(secret, headers, body);
let missing: unknown = null;
try {
  await client.getTopic("no-such-topic");
} catch (error) {
  missing = error instanceof EventStoreError ? [error.status, error.code] : String(error);
}
console.log(JSON.stringify({ ids, payloads, verified, missing }));
