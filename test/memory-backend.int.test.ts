import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { startEventStore } from "../client/testing.ts";

test("the testing kit on EVENT_LOG=memory: the whole API, nothing on disk", async () => {
  await using store = await startEventStore({ config: { eventLog: "memory" } });
  await store.client.createTopic("orders", [{ eventType: "placed", type: "object" }]);
  const ids = await store.client.publishEvents([{ topic: "orders", type: "placed", payload: { total: 5 } }]);
  expect(ids).toEqual(["orders-1"]);
  const events = await store.client.getEvents("orders");
  expect(events.map((event) => event.payload)).toEqual([{ total: 5 }]);
  expect(existsSync(store.dataDir)).toBe(false);
  expect(existsSync(store.configDir)).toBe(false);
});
