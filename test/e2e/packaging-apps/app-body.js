// The body shared by the ESM and CommonJS apps (the test prepends the imports
// and wraps it in an async function). Talks to the server at
// EVENT_STORE_BASE_URL and prints one JSON line with what it saw.
const baseUrl = process.env.EVENT_STORE_BASE_URL;
const topic = process.env.TOPIC;
const client = new EventStoreClient({ baseUrl, timeout: 5000, retries: 1, retryDelay: 100 });
await client.createTopic(topic, [{ eventType: "placed", type: "object", properties: { n: { type: "integer" } }, required: ["n"] }]);
const ids = await client.publishEvents([1, 2].map((n) => ({ topic, type: "placed", payload: { n } })));
const payloads = (await client.getEvents(topic)).map((event) => event.payload.n);

// A webhook receiver: the first delivery is kept, with its raw body and headers.
let onDelivery;
const delivered = new Promise((resolve) => (onDelivery = resolve));
const receiver = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    response.writeHead(200).end();
    onDelivery({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
  });
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const { consumerId, secret } = await client.registerConsumerWithSecret({
  callback: `http://127.0.0.1:${receiver.address().port}/hook`,
  topics: { [topic]: null },
});
let timer;
const delivery = await Promise.race([
  delivered,
  new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("no webhook delivery within 15 s")), 15_000))),
]);
clearTimeout(timer);
receiver.close();
const verified = await verifyWebhook(secret, delivery.headers, delivery.body);
let forged = null;
try {
  await verifyWebhook(secret, delivery.headers, delivery.body.replace('"n":1', '"n":9'));
} catch (error) {
  forged = error instanceof WebhookVerificationError ? error.code : String(error);
}
await client.unregisterConsumer(consumerId);

let missing = null;
try {
  await client.getTopic("no-such-topic");
} catch (error) {
  missing = error instanceof EventStoreError ? [error.status, error.code] : String(error);
}

const typed = typeof createTypedClient === "function"
  ? (await createTypedClient(baseUrl).topics({ topic }).events.get({ query: {} })).data.events.map((event) => event.id)
  : null;

console.log(JSON.stringify({
  ids,
  payloads,
  delivered: JSON.parse(delivery.body).events.map((event) => event.id),
  consumerMatches: JSON.parse(delivery.body).consumerId === consumerId,
  verified,
  forged,
  missing,
  typed,
}));
