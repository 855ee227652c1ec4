import { expect, expectTypeOf, test } from "bun:test";
import { type TypedClient, createTypedClient } from "../client/typed.ts";
import { startEventStore } from "../client/testing.ts";
import type * as ClientTypes from "../client/types.ts";
import type * as ServerModel from "../src/consumers/consumer-model.ts";

// Checked by `tsc --noEmit`: a wrong route, body or response shape fails the type check.
type Awaited2<T> = T extends Promise<infer U> ? U : never;
type TopicsResponse = Awaited2<ReturnType<TypedClient["topics"]["get"]>>;
type PublishResponse = Awaited2<ReturnType<TypedClient["events"]["post"]>>;

test("the client's consumer types accept the server's shapes", () => {
  // The client also accepts the original API's shorter listing (its extra fields are optional), so: assignable, not equal.
  expectTypeOf<ServerModel.ConsumerDetails>().toMatchTypeOf<ClientTypes.ConsumerSummary>();
  expectTypeOf<ServerModel.ConsumerDetails>().toMatchTypeOf<ClientTypes.ConsumerDetails>();
  expectTypeOf<ClientTypes.TopicProgress>().toEqualTypeOf<ServerModel.TopicProgress>();
  expectTypeOf<ClientTypes.RegisteredConsumer>().toEqualTypeOf<ServerModel.RegisteredConsumer>();
  expectTypeOf<ClientTypes.ConsumerStatus>().toEqualTypeOf<ServerModel.ConsumerStatus>();
});

test("types follow the server's routes", () => {
  expectTypeOf<NonNullable<TopicsResponse["data"]>>().toEqualTypeOf<{ topics: string[] }>();
  expectTypeOf<NonNullable<PublishResponse["data"]>>().toEqualTypeOf<{ eventIds: string[] }>();
  expectTypeOf<Parameters<TypedClient["events"]["post"]>[0]>().toMatchTypeOf<
    { topic: string; type: string; payload: unknown; expectedSequence?: number }[]
  >();
  expectTypeOf<Parameters<typeof createTypedClient>[0]>().toEqualTypeOf<string>();
});

test("the typed client talks to a real server", async () => {
  await using store = await startEventStore();
  const api = createTypedClient(store.url);
  const created = await api.topics.post({ name: "orders", schemas: [{ eventType: "placed", type: "object" }] });
  expect(created.status).toBe(201);
  expect(created.data).toEqual({ message: "Topic 'orders' created successfully" });
  const published = await api.events.post([{ topic: "orders", type: "placed", payload: { total: 5 } }]);
  expect(published.data).toEqual({ eventIds: ["orders-1"] });
  const read = await api.topics({ topic: "orders" }).events.get({ query: { limit: 10 } });
  expect(read.data?.events.map((e) => e.payload)).toEqual([{ total: 5 }]);
  const missing = await api.topics({ topic: "nope" }).get();
  expect(missing.status).toBe(404);
  expect(missing.error?.value).toEqual({ error: "Topic 'nope' not found", code: "TOPIC_NOT_FOUND" });
});
