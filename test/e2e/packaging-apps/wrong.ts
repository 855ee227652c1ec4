// Must NOT compile: each call below is wrong (line numbers are asserted by the test).
import { EventStoreClient } from "@event-store-js/client";
import { createTypedClient } from "@event-store-js/client/typed";

const client = new EventStoreClient({ baseUrl: "http://127.0.0.1:8000" });
const api = createTypedClient("http://127.0.0.1:8000");
await client.publishEvent("t", "e", "not an object");
await api.events.post({ topic: "t", type: "e", payload: {} });
await api.topicz.get();
