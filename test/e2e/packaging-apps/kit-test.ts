// Copied into the Bun app as kit.test.ts: the testing kit, loaded from node_modules,
// and type-checked there with the tsconfig `bun init` writes (bun-tsconfig.json).
import { expect, test } from "bun:test";
import { EventStoreClient } from "@event-store-js/client";
import { EventStoreClient as ServerPackageClient } from "@event-store-js/server/client";
import { startEventStore } from "@event-store-js/server/testing";

test("the testing kit starts a real store on a free port, with its docs assets", async () => {
  await using store = await startEventStore();
  expect(store.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await store.client.createTopic("orders", [{ eventType: "order.placed", type: "object" }]);
  const id = await store.client.publishEvent("orders", "order.placed", { orderId: "42" });
  const client = new EventStoreClient({ baseUrl: store.url });
  expect((await client.getEvents("orders")).map((event) => [event.id, event.payload])).toEqual([[id, { orderId: "42" }]]);
  // The spec's `<pkg>/client`, from the server package itself.
  const fromServerPackage = new ServerPackageClient({ baseUrl: store.url });
  expect((await fromServerPackage.getEvents("orders")).map((event) => event.id)).toEqual([id]);
  for (const asset of ["scalar.js", "inter-latin.woff2", "jetbrains-mono-latin.woff2"]) {
    const response = await fetch(`${store.url}/swagger/assets/${asset}`);
    expect([asset, response.status]).toEqual([asset, 200]);
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
  }
  const document = (await (await fetch(`${store.url}/swagger/json`)).json()) as { servers: unknown };
  expect(document.servers).toEqual([{ url: store.url }]);
});

// Never called: only for the type check, which must refuse a wrong setting.
export const wrongSetting = () =>
  // @ts-expect-error port is a number
  startEventStore({ config: { port: "8000" } });
