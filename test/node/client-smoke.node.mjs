// Runs under plain Node (`node --test`), against the built client/dist and a
// server whose URL is in EVENT_STORE_BASE_URL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EventStoreClient, EventStoreError } from "../../client/dist/index.js";
import { createTypedClient } from "../../client/dist/typed.js";

const client = new EventStoreClient({ timeout: 5000, retries: 1, retryDelay: 100 });
const topic = `node-${process.pid}`;

test("create, publish, read and stream from Node", async () => {
  assert.equal(await client.waitForServer({ maxWaitTime: 5000 }), true);
  await client.createTopic(topic, [{ eventType: "e", type: "object", properties: { n: { type: "integer" } }, required: ["n"] }]);
  assert.deepEqual(await client.getTopics(), [topic]);
  const ids = await client.publishEvents([1, 2, 3].map((n) => ({ topic, type: "e", payload: { n } })));
  assert.deepEqual(ids, [`${topic}-1`, `${topic}-2`, `${topic}-3`]);
  const events = await client.getEvents(topic, { sinceEventId: `${topic}-1` });
  assert.deepEqual(events.map((e) => e.payload.n), [2, 3]);

  const controller = new AbortController();
  const seen = [];
  for await (const event of client.streamEvents(topic, { signal: controller.signal, pageSize: 2 })) {
    seen.push(event.id);
    if (seen.length === 3) setTimeout(() => client.publishEvent(topic, "e", { n: 4 }), 10);
    if (seen.length === 4) controller.abort();
  }
  assert.deepEqual(seen, [1, 2, 3, 4].map((n) => `${topic}-${n}`));
});

test("errors carry status and code", async () => {
  await assert.rejects(client.getTopic("missing-topic"), (error) => {
    assert.ok(error instanceof EventStoreError);
    assert.equal(error.status, 404);
    assert.equal(error.code, "TOPIC_NOT_FOUND");
    return true;
  });
});

test("the typed client works from Node", async () => {
  const api = createTypedClient(process.env.EVENT_STORE_BASE_URL);
  const { data, error } = await api.health.get();
  assert.equal(error, null);
  assert.equal(data.status, "healthy");
});
