/**
 * Two store nodes (two openEventStore instances, as two processes behind a
 * load balancer would be) on one real nats-server: what HTTP promises
 * through any node holds across them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { defaultConfig } from "../src/config.ts";
import { type EventStore, openEventStore } from "../src/event-store.ts";
import { type NatsCluster, requireNatsServer, startNats } from "./nats-server.ts";
import { SIMPLE_SCHEMA } from "./utils.ts";

const available = requireNatsServer();

describe.skipIf(!available)("cluster mode: two store nodes on one NATS", () => {
  let nats: NatsCluster;
  let n = 0;
  beforeAll(async () => {
    nats = await startNats(1);
  }, 30_000);
  afterAll(() => nats?.stop());

  /** Node A creates topics `t` and `u`, then node B opens. */
  async function twoNodes(): Promise<[EventStore, EventStore] & AsyncDisposable> {
    const config = { ...defaultConfig(), natsUrls: nats.urls, natsReplicas: 1, natsPrefix: `nodes_${++n}`, metricsEnabled: false };
    const a = await openEventStore(config, { deliver: false, report: () => {} });
    for (const name of ["t", "u"]) expect((await call(a, "POST", "/topics", { name, schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
    const b = await openEventStore(config, { deliver: false, report: () => {} });
    return Object.assign([a, b] as [EventStore, EventStore], { [Symbol.asyncDispose]: async () => void (await Promise.all([a.close(), b.close()])) });
  }

  test("concurrent publishers spread over both nodes get dense ids with no duplicates; both nodes read them all", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => call(i % 2 === 0 ? a : b, "POST", "/events", [{ topic: "t", type: "e", payload: { n: i } }, { topic: "u", type: "e", payload: { n: i } }])),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(60).fill(201));
    const ids = answers.flatMap((answer) => answer.body.eventIds as string[]);
    const sequences = (topic: string) => ids.filter((id) => id.startsWith(`${topic}-`)).map((id) => Number(id.slice(2))).sort((x, y) => x - y);
    expect(sequences("t")).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(sequences("u")).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    // A batch is one message: its t and u events came out at the same position relative to each other on every node.
    for (const node of [a, b]) {
      await waitUntil(async () => (await node.log.head("t")) === 60);
      const read = await call(node, "GET", "/topics/t/events?limit=100");
      expect(read.body.events.map((e: { id: string }) => e.id)).toEqual(Array.from({ length: 60 }, (_, i) => `t-${i + 1}`));
    }
  });

  test("an Idempotency-Key used on A and retried on B answers A's ids and stores nothing more; another batch under it is refused", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    const batch = [{ topic: "t", type: "e", payload: { n: 1 } }, { topic: "u", type: "e", payload: { n: 1 } }, { topic: "t", type: "e", payload: { n: 2 } }];
    const first = await call(a, "POST", "/events", batch, { "idempotency-key": "order-1" });
    expect(first).toMatchObject({ status: 201, body: { eventIds: ["t-1", "u-1", "t-2"] } });
    const retry = await call(b, "POST", "/events", batch, { "idempotency-key": "order-1" });
    expect(retry).toMatchObject({ status: 201, body: { eventIds: ["t-1", "u-1", "t-2"] } });
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const reuse = await call(b, "POST", "/events", [{ topic: "t", type: "e", payload: { n: 3 } }], { "idempotency-key": "order-1" });
    expect(reuse).toMatchObject({ status: 409, body: { code: "IDEMPOTENCY_KEY_REUSED" } });
    expect([await a.log.head("t"), await b.log.head("t")]).toEqual([2, 2]);
  });

  test("expectedSequence races across nodes: exactly one of two writers expecting the same head wins", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    for (let round = 0; round < 10; round++) {
      const [x, y] = await Promise.all([a, b].map((node) => call(node, "POST", "/events", [{ topic: "t", type: "e", payload: { n: round }, expectedSequence: round }])));
      expect([x!.status, y!.status].sort()).toEqual([201, 409]);
    }
    expect([await a.log.head("t"), await b.log.head("t")].map(Number)).toEqual([10, 10]);
  });

  test("a topic created on A after B opened, and a schema added to it on A, are usable on B as soon as A answered", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    expect((await call(a, "POST", "/topics", { name: "late", schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
    expect((await call(b, "GET", "/topics/late")).status).toBe(200);
    expect(await call(b, "POST", "/events", [{ topic: "late", type: "e", payload: { n: 1 } }])).toMatchObject({ status: 201, body: { eventIds: ["late-1"] } });
    expect(await call(b, "POST", "/topics", { name: "late", schemas: [SIMPLE_SCHEMA] })).toMatchObject({ status: 400, body: { code: "TOPIC_EXISTS" } });
    const added = { eventType: "f", type: "object" };
    expect((await call(a, "PUT", "/topics/late", { schemas: [SIMPLE_SCHEMA, added] })).status).toBeLessThan(300);
    expect(await call(b, "POST", "/events", [{ topic: "late", type: "f", payload: {} }])).toMatchObject({ status: 201, body: { eventIds: ["late-2"] } });
    expect((await call(b, "GET", "/topics/late/events")).body.events.map((e: { id: string }) => e.id)).toEqual(["late-1", "late-2"]);
    expect(await call(b, "POST", "/events", [{ topic: "never", type: "e", payload: { n: 1 } }])).toMatchObject({ status: 400, body: { code: "TOPIC_NOT_FOUND" } });
  });

  test("a topic created on A is in B's list and can be registered for on B at once; a schema changed on A applies on B", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    expect((await call(a, "POST", "/topics", { name: "fresh", schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
    const registered = await call(b, "POST", "/consumers/register", { callback: "http://127.0.0.1:9/hook", topics: { fresh: null } });
    expect(registered.status).toBe(201);
    await waitUntil(async () => (await call(b, "GET", "/topics")).body.topics.includes("fresh"));
    expect((await call(b, "GET", "/topics")).body).toEqual({ topics: ["fresh", "t", "u"] });
    // A stricter schema for the same event type, saved on A: B validates with it without being asked about the name.
    const stricter = { ...SIMPLE_SCHEMA, properties: { n: { type: "integer", maximum: 5 } } };
    expect((await call(a, "PUT", "/topics/fresh", { schemas: [stricter] })).status).toBe(200);
    await waitUntil(async () => (await call(b, "GET", "/topics/fresh")).body.schemas[0].properties.n.maximum === 5);
    expect(await call(b, "POST", "/events", [{ topic: "fresh", type: "e", payload: { n: 6 } }])).toMatchObject({ status: 400, body: { code: "SCHEMA_VALIDATION_FAILED" } });
  });

  test("two nodes creating one topic name at once: exactly one 201, the other 400 TOPIC_EXISTS", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    for (let round = 0; round < 5; round++) {
      const name = `race-${round}`;
      const answers = await Promise.all([a, b].map((node, i) => call(node, "POST", "/topics", { name, schemas: [{ ...SIMPLE_SCHEMA, description: `from ${i}` }] })));
      expect(answers.map((answer) => answer.status).sort()).toEqual([201, 400]);
      expect(answers.find((answer) => answer.status === 400)!.body.code).toBe("TOPIC_EXISTS");
      const winner = answers.findIndex((answer) => answer.status === 201);
      for (const node of [a, b]) {
        await waitUntil(async () => (await call(node, "GET", `/topics/${name}`)).body?.schemas?.[0]?.description === `from ${winner}`);
      }
    }
  });

  test("concurrent first publishes on B to a topic created on A all succeed, also those whose refresh found it already taken by another request", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    expect((await call(a, "POST", "/topics", { name: "late", schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => call(b, "POST", "/events", [{ topic: "late", type: "e", payload: { n: i } }])));
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201, 201]);
  });

  test("a consumer registers on B for a topic created on A after B opened", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    expect((await call(a, "POST", "/topics", { name: "late", schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
    const registered = await call(b, "POST", "/consumers/register", { callback: "http://127.0.0.1:1/hook", topics: { late: null, t: null } });
    expect(registered.status).toBe(201);
    expect((await call(b, "GET", `/consumers/${registered.body.consumerId}`)).body.topics).toEqual({ late: null, t: null });
  });

  test("a long poll on B is answered by a publish on A", async () => {
    await using nodes = await twoNodes();
    const [a, b] = nodes;
    const waiting = call(b, "GET", "/topics/t/events?after=0&waitMs=5000");
    const started = performance.now();
    expect((await call(a, "POST", "/events", [{ topic: "t", type: "e", payload: { n: 1 } }])).status).toBe(201);
    const read = await waiting;
    expect(read.body.events.map((e: { id: string }) => e.id)).toEqual(["t-1"]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

async function call(node: EventStore, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await node.app.handle(
    new Request(`http://node${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? null : JSON.parse(text) };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}
