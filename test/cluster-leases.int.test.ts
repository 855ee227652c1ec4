/**
 * Consumer leases in cluster mode: every node knows every consumer, exactly
 * one delivers it, any node can pause, resume or remove it, and when the
 * delivering node dies another takes over within CLUSTER_LEASE_MS from the
 * durable cursor. Real nats-server, real store nodes (in process, and real
 * child processes for kill -9), real webhook receivers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Config, defaultConfig } from "../src/config.ts";
import { type EventStore, openEventStore } from "../src/event-store.ts";
import { type NatsCluster, requireNatsServer, startNats } from "./nats-server.ts";
import { startServerProcess } from "./server-process.ts";
import { SIMPLE_SCHEMA } from "./utils.ts";
import { ids, startReceiver } from "./webhook-receiver.ts";

const available = requireNatsServer();
const LEASE_MS = 3_000;

describe.skipIf(!available)("cluster mode: consumer leases", () => {
  let nats: NatsCluster;
  let n = 0;
  beforeAll(async () => {
    nats = await startNats(1);
  }, 30_000);
  afterAll(() => nats?.stop());

  function settings(overrides: Partial<Config> = {}): Config {
    return { ...defaultConfig(), natsUrls: nats.urls, natsReplicas: 1, natsPrefix: `leases_${++n}`, metricsEnabled: false, clusterLeaseMs: LEASE_MS, ...overrides };
  }

  /** Node A opens and creates topic `t`, then node B opens on the same prefix. */
  async function twoNodes(overrides: Partial<Config> = {}): Promise<{ a: EventStore; b: EventStore; reports: string[] } & AsyncDisposable> {
    const config = settings(overrides);
    const reports: string[] = [];
    const report = (message: string) => reports.push(message);
    const a = await openEventStore({ ...config, nodeId: "node-a" }, { report });
    expect((await call(a, "POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
    const b = await openEventStore({ ...config, nodeId: "node-b" }, { report });
    return { a, b, reports, [Symbol.asyncDispose]: async () => void (await Promise.all([a.close(), b.close()])) };
  }

  test("a consumer registered on A is delivered by A alone: each event once, in order; both nodes name A as its dispatcher", async () => {
    await using receiver = startReceiver();
    await using nodes = await twoNodes();
    const { a, b } = nodes;
    const { consumerId } = (await call(a, "POST", "/consumers/register", { callback: receiver.url, topics: { t: null } })).body;
    await waitUntil(async () => (await call(b, "GET", `/consumers/${consumerId}`)).status === 200);
    for (let i = 0; i < 20; i++) expect((await call(i % 2 === 0 ? a : b, "POST", "/events", [{ topic: "t", type: "e", payload: { n: i } }])).status).toBe(201);
    await receiver.untilAccepted(ids("t", 1, 20));
    // Long enough for B's lease checks to have run several times: had B delivered too, ids would repeat.
    await Bun.sleep(LEASE_MS / 2);
    expect(receiver.acceptedIds()).toEqual(ids("t", 1, 20));
    expect((await call(a, "GET", `/consumers/${consumerId}`)).body).toMatchObject({ dispatcher: "node-a", topics: { t: "t-20" }, lag: { t: 0 } });
    await waitUntil(async () => (await call(b, "GET", `/consumers/${consumerId}`)).body.topics.t === "t-20");
    expect((await call(b, "GET", `/consumers/${consumerId}`)).body).toMatchObject({ dispatcher: "node-a", topics: { t: "t-20" }, lag: { t: 0 } });
    expect((await call(a, "GET", "/health")).body).toMatchObject({ status: "healthy", consumers: 1, runningDispatchers: ["t"], node: "node-a" });
    expect((await call(b, "GET", "/health")).body).toMatchObject({ status: "healthy", consumers: 1, runningDispatchers: [], node: "node-b" });
  }, 30_000);

  test("GET /health in cluster mode: the node's id and the event stream's leader; 503 CLUSTER_UNAVAILABLE with Retry-After when JetStream is gone", async () => {
    const local = await startNats(1);
    const node = await openEventStore({ ...settings(), natsUrls: local.urls, nodeId: "node-h" }, { report: () => {} });
    try {
      const health = await call(node, "GET", "/health");
      expect(health.status).toBe(200);
      expect(health.body).toEqual({
        status: "healthy",
        consumers: 0,
        runningDispatchers: [],
        node: "node-h",
        cluster: { reachable: true, stream: { name: `leases_${n}_events`, leader: expect.any(String), replicas: [] } },
      });
      await local.servers[0]!.kill();
      const down = await call(node, "GET", "/health");
      expect(down.status).toBe(503);
      expect(down.headers.get("retry-after")).toBe("1");
      expect(down.body).toEqual({
        error: "JetStream is unreachable from this node",
        code: "CLUSTER_UNAVAILABLE",
        status: "unavailable",
        consumers: 0,
        runningDispatchers: [],
        node: "node-h",
        cluster: { reachable: false, stream: null },
      });
    } finally {
      await node.close();
      await local.stop();
    }
  }, 30_000);

  test("a consumer paused on its dispatching node shows paused on the other; a resume there makes the dispatcher retry from the cursor", async () => {
    let failing = true;
    await using receiver = startReceiver(() => new Response(null, { status: failing ? 500 : 204 }));
    await using nodes = await twoNodes({ onConsumerFailure: "pause", consumerMaxAttempts: 2, consumerRetryBaseMs: 10, consumerRetryMaxMs: 20 });
    const { a, b } = nodes;
    expect((await call(a, "POST", "/events", [{ topic: "t", type: "e", payload: { n: 1 } }])).status).toBe(201);
    const { consumerId } = (await call(a, "POST", "/consumers/register", { callback: receiver.url, topics: { t: null } })).body;
    await waitUntil(async () => (await call(b, "GET", `/consumers/${consumerId}`)).body?.status === "paused", 10_000);
    expect(receiver.deliveries.map((d) => d.status)).toEqual([500, 500]);
    failing = false;
    expect((await call(b, "POST", `/consumers/${consumerId}/resume`)).status).toBe(200);
    await receiver.untilAccepted(["t-1"]);
    expect(receiver.deliveries.map((d) => d.status)).toEqual([500, 500, 204]);
    await waitUntil(async () => (await call(a, "GET", `/consumers/${consumerId}`)).body.topics.t === "t-1");
    expect((await call(a, "GET", `/consumers/${consumerId}`)).body).toMatchObject({ status: "active", dispatcher: "node-a", topics: { t: "t-1" } });
  }, 30_000);

  test("a consumer removed through B stops being delivered by A, and is gone on both", async () => {
    await using receiver = startReceiver();
    await using nodes = await twoNodes();
    const { a, b } = nodes;
    const { consumerId } = (await call(a, "POST", "/consumers/register", { callback: receiver.url, topics: { t: null } })).body;
    expect((await call(a, "POST", "/events", [{ topic: "t", type: "e", payload: { n: 1 } }])).status).toBe(201);
    await receiver.untilAccepted(["t-1"]);
    await waitUntil(async () => (await call(b, "GET", `/consumers/${consumerId}`)).status === 200);
    expect((await call(b, "DELETE", `/consumers/${consumerId}`)).status).toBe(200);
    await waitUntil(async () => (await call(a, "GET", `/consumers/${consumerId}`)).status === 404);
    expect((await call(a, "GET", "/health")).body).toMatchObject({ consumers: 0, runningDispatchers: [] });
    expect((await call(a, "POST", "/events", [{ topic: "t", type: "e", payload: { n: 2 } }])).status).toBe(201);
    await Bun.sleep(500);
    expect(receiver.acceptedIds()).toEqual(["t-1"]);
  }, 30_000);

  test("a node that stops cleanly hands its consumers over at once, long before the lease would expire", async () => {
    await using receiver = startReceiver();
    await using nodes = await twoNodes({ clusterLeaseMs: 60_000 });
    const { a, b } = nodes;
    const { consumerId } = (await call(a, "POST", "/consumers/register", { callback: receiver.url, topics: { t: null } })).body;
    expect((await call(a, "POST", "/events", [{ topic: "t", type: "e", payload: { n: 1 } }])).status).toBe(201);
    await receiver.untilAccepted(["t-1"]);
    await waitUntil(async () => (await call(b, "GET", `/consumers/${consumerId}`)).body?.topics?.t === "t-1");
    await a.close();
    const stoppedAt = performance.now();
    // B's periodic look at leases it does not hold is 60 000 × 0.75 / 7.5 = 6 s apart: a takeover sooner is the release seen.
    expect((await call(b, "POST", "/events", [{ topic: "t", type: "e", payload: { n: 2 } }])).status).toBe(201);
    await receiver.untilAccepted(["t-2"], 15_000);
    expect(performance.now() - stoppedAt).toBeLessThan(3_000);
    expect(receiver.acceptedIds()).toEqual(["t-1", "t-2"]);
    await waitUntil(async () => (await call(b, "GET", `/consumers/${consumerId}`)).body.topics.t === "t-2");
    expect((await call(b, "GET", `/consumers/${consumerId}`)).body).toMatchObject({ dispatcher: "node-b", topics: { t: "t-2" } });
  }, 30_000);

  test("kill -9 of the dispatching node: the other takes over within CLUSTER_LEASE_MS from the durable cursor, no event missing", async () => {
    await using receiver = startReceiver();
    const env = { NATS_URL: nats.urls.join(","), NATS_REPLICAS: "1", NATS_PREFIX: `leases_kill_${++n}`, CLUSTER_LEASE_MS: String(LEASE_MS), METRICS_ENABLED: "false" };
    const a = await startServerProcess({ ...env, NODE_ID: "proc-a" });
    const b = await startServerProcess({ ...env, NODE_ID: "proc-b" });
    try {
      expect((await http(a.url, "POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
      const { consumerId } = (await http(a.url, "POST", "/consumers/register", { callback: receiver.url, topics: { t: null } })).body;
      expect((await http(a.url, "GET", `/consumers/${consumerId}`)).body.dispatcher).toBe("proc-a");
      // A steady stream of events through B while A, the dispatcher, dies.
      let published = 0;
      let publishing = true;
      const publisher = (async () => {
        while (publishing) {
          const answer = await http(b.url, "POST", "/events", [{ topic: "t", type: "e", payload: { n: published + 1 } }]);
          expect(answer.status).toBe(201);
          published++;
          await Bun.sleep(20);
        }
      })();
      await receiver.until((r) => r.acceptedIds().length >= 20, "20 events delivered by A");
      await a.kill9();
      const killedAt = performance.now();
      const deliveredBeforeKill = receiver.deliveries.length;
      await receiver.until((r) => r.deliveries.length > deliveredBeforeKill, "a delivery after the kill", LEASE_MS * 3);
      const takeoverMs = receiver.deliveries[deliveredBeforeKill]!.at - killedAt;
      await Bun.sleep(300);
      publishing = false;
      await publisher;
      await receiver.untilAccepted(ids("t", 1, published), 10_000);
      await waitUntil(async () => (await http(b.url, "GET", `/consumers/${consumerId}`)).body.topics.t === `t-${published}`);
      console.log(`consumer takeover after kill -9 of its dispatching node: ${Math.round(takeoverMs)} ms (CLUSTER_LEASE_MS=${LEASE_MS})`);
      expect(takeoverMs).toBeLessThan(LEASE_MS);
      // Everything, in order; a batch in flight at the kill may come twice, nothing else does.
      const accepted = receiver.acceptedIds();
      expect([...new Set(accepted)]).toEqual(ids("t", 1, published));
      const sequences = accepted.map((id) => Number(id.slice(2)));
      const rewinds = sequences.filter((sequence, i) => i > 0 && sequence <= sequences[i - 1]!).length;
      expect(rewinds).toBeLessThanOrEqual(1);
      expect(accepted.length - published).toBeLessThanOrEqual(100);
      const details = (await http(b.url, "GET", `/consumers/${consumerId}`)).body;
      expect(details).toMatchObject({ dispatcher: "proc-b", topics: { t: `t-${published}` }, lag: { t: 0 } });
    } finally {
      await Promise.allSettled([a.kill9(), b.terminate()]);
    }
  }, 60_000);
});

async function call(node: EventStore, method: string, path: string, body?: unknown) {
  const response = await node.app.handle(
    new Request(`http://node${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    }),
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? null : JSON.parse(text) };
}

async function http(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}

