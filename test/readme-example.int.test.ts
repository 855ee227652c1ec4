// The testing-kit example of README.md, kept in step with it.
import { expect, test } from "bun:test";
import { startEventStore } from "../client/testing.ts";

test("publishes an order", async () => {
  await using store = await startEventStore();
  await store.client.createTopic("orders", [{ eventType: "order.placed", type: "object" }]);
  const id = await store.client.publishEvent("orders", "order.placed", { orderId: "42" });
  expect(await store.client.getEvents("orders")).toMatchObject([{ id, payload: { orderId: "42" } }]);
});
