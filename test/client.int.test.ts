import { describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { EventStoreClient, EventStoreError, verifyWebhook } from "../client/index.ts";
import { TestSetup, startEventStore } from "../client/testing.ts";
import { startServerProcess } from "./server-process.ts";

const SCHEMA = { eventType: "user.created", type: "object", properties: { id: { type: "string" } }, required: ["id"] };

describe("EventStoreClient against a real server", () => {
  test("health, waitForServer, testConnection", async () => {
    await using store = await startEventStore();
    expect(await store.client.getHealth()).toEqual({ status: "healthy", consumers: 0, runningDispatchers: [] });
    expect(await store.client.waitForServer({ maxWaitTime: 1000 })).toBe(true);
    expect(await store.client.testConnection()).toBe(true);
  });

  test("topics: create, list, get, update schemas", async () => {
    await using store = await startEventStore();
    const { client } = store;
    await client.createTopic("user-events", [SCHEMA]);
    await client.createTopic("audit-events", [{ eventType: "x", type: "object" }]);
    expect(await client.getTopics()).toEqual(["audit-events", "user-events"]);
    const topic = await client.getTopic("user-events");
    expect([topic.name, topic.sequence, topic.schemas]).toEqual(["user-events", 0, [SCHEMA]]);
    await client.updateTopicSchemas("user-events", [SCHEMA, { eventType: "user.deleted", type: "object" }]);
    expect((await client.getTopic("user-events")).schemas.map((s) => s.eventType)).toEqual(["user.created", "user.deleted"]);
  });

  test("publishEvent, publishEvents and getEvents with every filter", async () => {
    await using store = await startEventStore();
    const { client } = store;
    await client.createTopic("user-events", [SCHEMA]);
    expect(await client.publishEvent("user-events", "user.created", { id: "1" })).toBe("user-events-1");
    const ids = await client.publishEvents([2, 3, 4].map((n) => ({ topic: "user-events", type: "user.created", payload: { id: String(n) } })));
    expect(ids).toEqual(["user-events-2", "user-events-3", "user-events-4"]);
    expect((await client.getEvents("user-events")).map((e) => e.payload.id)).toEqual(["1", "2", "3", "4"]);
    expect((await client.getEvents("user-events", { sinceEventId: "user-events-2", limit: 1 })).map((e) => e.id)).toEqual(["user-events-3"]);
    const today = new Date().toISOString().slice(0, 10);
    expect(await client.getEvents("user-events", { date: today })).toHaveLength(4);
    expect(await client.getEvents("user-events", { date: "2000-01-01" })).toEqual([]);
  });

  test("errors: EventStoreError with status, code and body", async () => {
    await using store = await startEventStore();
    const error = await store.client.getTopic("missing").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreError);
    expect([(error as EventStoreError).status, (error as EventStoreError).code]).toEqual([404, "TOPIC_NOT_FOUND"]);
    expect((error as EventStoreError).body).toEqual({ error: "Topic 'missing' not found", code: "TOPIC_NOT_FOUND" });
    const invalid = await store.client.publishEvent("missing", "x", {}).catch((e: unknown) => e);
    expect((invalid as EventStoreError).status).toBe(400);
  });

  test("streamEvents pages through history, then follows new events until aborted", async () => {
    await using store = await startEventStore();
    const { client } = store;
    await client.createTopic("t", [{ eventType: "e", type: "object" }]);
    await client.publishEvents(Array.from({ length: 5 }, (_, n) => ({ topic: "t", type: "e", payload: { n } })));
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const event of client.streamEvents("t", { signal: controller.signal, pageSize: 2 })) {
      seen.push(event.id);
      if (seen.length === 5) void client.publishEvent("t", "e", { n: 5 });
      if (seen.length === 6) controller.abort();
    }
    expect(seen).toEqual(["t-1", "t-2", "t-3", "t-4", "t-5", "t-6"]);
    const fromMiddle: string[] = [];
    const second = new AbortController();
    for await (const event of client.streamEvents("t", { sinceEventId: "t-4", signal: second.signal })) {
      fromMiddle.push(event.id);
      if (fromMiddle.length === 2) second.abort();
    }
    expect(fromMiddle).toEqual(["t-5", "t-6"]);
  });

  test("waitForServer waits for a server that starts later", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port;
    await probe.stop(true);
    const client = new EventStoreClient({ baseUrl: `http://127.0.0.1:${port}`, timeout: 1000, retries: 0 });
    const waiting = client.waitForServer({ maxWaitTime: 15_000, pollInterval: 50 });
    const server = await startServerProcess({ PORT: String(port), DATA_DIR: `/tmp/es-wait-${port}/d`, CONFIG_DIR: `/tmp/es-wait-${port}/c` });
    try {
      expect(await waiting).toBe(true);
    } finally {
      await server.terminate();
      Bun.spawnSync(["rm", "-rf", `/tmp/es-wait-${port}`]);
    }
  });
});

describe("EventStoreClient consumers against a real server", () => {
  test("register, list, get, resume, unregister; deliveries verify with verifyWebhook", async () => {
    await using store = await startEventStore();
    const { client } = store;
    await client.createTopic("t", [{ eventType: "e", type: "object" }]);
    const received: { verified: boolean; ids: string[] }[] = [];
    let secret = "";
    await using receiver = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const body = await request.text();
        const verified = await verifyWebhook(secret, request.headers, body).then(() => true, () => false);
        received.push({ verified, ids: JSON.parse(body).events.map((e: { id: string }) => e.id) });
        return new Response(null, { status: 204 });
      },
    });
    const callback = `http://127.0.0.1:${receiver.port}/hook`;
    const registered = await client.registerConsumerWithSecret({ callback, topics: { t: null } });
    secret = registered.secret;
    expect(registered.secret).toStartWith("whsec_");
    const plainId = await client.registerConsumer({ callback: `${callback}?second`, topics: { t: null } });
    expect(typeof plainId).toBe("string");
    await client.unregisterConsumer(plainId);

    await client.publishEvents([{ topic: "t", type: "e", payload: { n: 1 } }, { topic: "t", type: "e", payload: { n: 2 } }]);
    const deadline = Date.now() + 10_000;
    while ((await client.getConsumer(registered.consumerId)).topics.t !== "t-2") {
      if (Date.now() > deadline) throw new Error("delivery did not arrive");
      await Bun.sleep(10);
    }
    expect(received.filter((r) => r.ids.length > 0 && r.verified).flatMap((r) => r.ids)).toEqual(["t-1", "t-2"]);
    expect((await client.getConsumers()).map(({ id, callback, topics }) => ({ id, callback, topics }))).toEqual([{ id: registered.consumerId, callback, topics: { t: "t-2" } }]);
    const details = await client.getConsumer(registered.consumerId);
    expect([details.status, details.lag, details.attempts, details.nextAttemptAt]).toEqual(["active", { t: 0 }, 0, null]);
    await client.resumeConsumer(registered.consumerId);
    await client.unregisterConsumer(registered.consumerId);
    expect(await client.getConsumers()).toEqual([]);
    const gone = await client.getConsumer(registered.consumerId).catch((e: unknown) => e);
    expect((gone as EventStoreError).code).toBe("CONSUMER_NOT_FOUND");
  });

  test("a publish whose answer is lost is retried with the same Idempotency-Key and stored once", async () => {
    await using store = await startEventStore();
    await store.client.createTopic("t", [{ eventType: "e", type: "object" }]);
    const keys: string[] = [];
    await using proxy = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const url = new URL(request.url);
        const forwarded = await fetch(`${store.url}${url.pathname}${url.search}`, {
          method: request.method,
          headers: request.headers,
          body: request.method === "GET" ? undefined : await request.arrayBuffer(),
        });
        if (request.method !== "POST") return forwarded;
        keys.push(request.headers.get("idempotency-key") ?? "none");
        // The store has the batch; the answer is lost on its way back.
        return keys.length === 1 ? new Response("bad gateway", { status: 502 }) : forwarded;
      },
    });
    const client = new EventStoreClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, retries: 2, retryDelay: 10 });
    expect(await client.publishEvent("t", "e", { n: 1 })).toBe("t-1");
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]!);
    expect((await store.client.getEvents("t")).map((e) => e.id)).toEqual(["t-1"]);
  });
});

describe("testing kit", () => {
  test("startEventStore: a real server on a free port over temp dirs, removed on dispose", async () => {
    let dataDir: string;
    {
      await using store = await startEventStore();
      dataDir = store.dataDir;
      expect(store.url).toBe(`http://127.0.0.1:${store.port}`);
      expect(store.port).toBeGreaterThan(0);
      await store.client.createTopic("t", []);
      expect(existsSync(dataDir)).toBe(true);
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  test("TestSetup as in the spec: dedicated directories, cleaned up", async () => {
    const testSetup = new TestSetup("my-test");
    expect(() => testSetup.getDataDir()).toThrow("TestSetup 'my-test': call setup() first");
    await testSetup.setup();
    const [dataDir, configDir] = [testSetup.getDataDir(), testSetup.getConfigDir()];
    expect([existsSync(dataDir), existsSync(configDir)]).toEqual([true, true]);
    expect(dataDir).toContain("event-store-my-test-");
    await testSetup.cleanup();
    expect([existsSync(dataDir), existsSync(configDir)]).toEqual([false, false]);
  });
});

test("the testing kit refuses a second store on a DATA_DIR in use, and frees it on stop", async () => {
  const first = await startEventStore({ keepData: true });
  const second = startEventStore({ config: { dataDir: first.dataDir } });
  expect(second).rejects.toThrow(`DATA_DIR '${first.dataDir}' is in use by process ${process.pid}`);
  await second.catch(() => {});
  await first.stop();
  const third = await startEventStore({ config: { dataDir: first.dataDir } });
  expect((await third.client.getHealth()).status).toBe("healthy");
  await third.stop();
  rmSync(dirname(first.dataDir), { recursive: true, force: true });
});
