import { describe, expect, test } from "bun:test";
import { FAST_RETRY, detailsWhen, startStore } from "./consumer-harness.ts";
import { createProcessMetrics } from "../src/metrics/store-metrics.ts";
import { defaultConfig } from "../src/config.ts";
import { openEventStore } from "../src/event-store.ts";
import { Scrape, parsePrometheusText } from "./prometheus.ts";
import { tempDir } from "./utils.ts";
import { startReceiver } from "./webhook-receiver.ts";

const PUBLISHED = { method: "POST", route: "/events", status: "201" };

describe("GET /metrics after known traffic", () => {
  test("publishing 10 events in 2 batches moves the append counters by 10 and 2, the head to 10, the request counter by 2", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path);
    await store.createTopic("orders");
    const before = await Scrape.of(store.url);
    await store.publish("orders", 4);
    await store.publish("orders", 6);
    const after = await Scrape.of(store.url);

    expect(after.value("event_store_events_appended_total") - before.value("event_store_events_appended_total")).toBe(10);
    expect(after.value("event_store_batches_appended_total") - before.value("event_store_batches_appended_total")).toBe(2);
    expect(after.value("event_store_http_requests_total", PUBLISHED) - before.value("event_store_http_requests_total", PUBLISHED)).toBe(2);
    expect(after.value("event_store_topic_head_sequence", { topic: "orders" })).toBe(10);
    expect(after.value("event_store_topics")).toBe(1);
    const duration = after.histogram("event_store_http_request_duration_seconds", { method: "POST", route: "/events" });
    expect(duration.count).toBe(2);
    expect(duration.buckets["+Inf"]).toBe(2);
    // Each batch was alone in its group commit: two commits, one batch each.
    const groups = after.histogram("event_store_group_commit_batches");
    expect({ count: groups.count, sum: groups.sum }).toEqual({ count: 2, sum: 2 });
    expect(after.histogram("event_store_group_commit_duration_seconds").count).toBe(2);
    expect(after.typeOf("event_store_events_appended_total")).toBe("counter");
    expect(after.typeOf("event_store_group_commit_duration_seconds_bucket")).toBe("histogram");
  });

  test("errors count by route pattern and status; unknown paths share one label", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path);
    await store.createTopic("orders");
    expect((await store.api("POST", "/events", [{ topic: "orders", type: "e", payload: { n: "x" } }])).status).toBe(400);
    expect((await store.api("GET", "/topics/nope")).status).toBe(404);
    expect((await store.api("GET", "/no/such/path")).status).toBe(404);
    expect((await store.api("GET", "/no/other/path")).status).toBe(404);
    const scrape = await Scrape.of(store.url);
    expect(scrape.value("event_store_http_requests_total", { method: "POST", route: "/events", status: "400" })).toBe(1);
    expect(scrape.value("event_store_http_requests_total", { method: "GET", route: "/topics/:topic", status: "404" })).toBe(1);
    expect(scrape.value("event_store_http_requests_total", { method: "GET", route: "(unmatched)", status: "404" })).toBe(2);
    expect(scrape.value("event_store_events_appended_total")).toBe(0);
  });

  test("a consumer behind by 5 shows lag 5 and its age; once its receiver recovers the lag drains to 0", async () => {
    using dir = tempDir();
    let healthy = false;
    await using receiver = startReceiver(() => new Response(null, { status: healthy ? 204 : 500 }));
    await using store = await startStore(dir.path, { ...FAST_RETRY, consumerMaxAttempts: 1, onConsumerFailure: "pause" });
    await store.createTopic("orders");
    await store.publish("orders", 10);
    const { consumerId } = await store.register(receiver.url, { orders: "orders-5" });
    await detailsWhen(store, consumerId, (d) => d.status === "paused", "status paused");
    const pair = { consumer: consumerId, topic: "orders" };

    const behind = await Scrape.of(store.url);
    expect(behind.value("event_store_consumer_lag_events", pair)).toBe(5);
    expect(behind.value("event_store_consumer_cursor_sequence", pair)).toBe(5);
    expect(behind.value("event_store_consumer_lag_seconds", pair)).toBeGreaterThan(0);
    expect(behind.value("event_store_consumer_deliveries_total", { ...pair, outcome: "failure" })).toBe(1);
    expect(behind.value("event_store_consumer_deliveries_total", { ...pair, outcome: "success" })).toBe(0);
    expect(behind.histogram("event_store_consumer_delivery_duration_seconds", pair).count).toBe(1);
    expect(behind.value("event_store_consumer_state", { consumer: consumerId, state: "paused" })).toBe(1);
    expect(behind.value("event_store_consumer_state", { consumer: consumerId, state: "active" })).toBe(0);
    expect([behind.value("event_store_consumers", { state: "paused" }), behind.value("event_store_consumers", { state: "active" })]).toEqual([1, 0]);

    healthy = true;
    expect((await store.api("POST", `/consumers/${consumerId}/resume`)).status).toBe(200);
    await detailsWhen(store, consumerId, (d) => d.topics.orders === "orders-10", "cursor orders-10");
    const drained = await Scrape.of(store.url);
    expect(drained.value("event_store_consumer_lag_events", pair)).toBe(0);
    expect(drained.value("event_store_consumer_lag_seconds", pair)).toBe(0);
    expect(drained.value("event_store_consumer_cursor_sequence", pair)).toBe(10);
    expect(drained.value("event_store_consumer_deliveries_total", { ...pair, outcome: "success" })).toBe(1);
    expect(drained.value("event_store_consumer_state", { consumer: consumerId, state: "active" })).toBe(1);

    // A consumer that is gone leaves no series behind.
    expect((await store.api("DELETE", `/consumers/${consumerId}`)).status).toBe(200);
    const after = await Scrape.of(store.url);
    expect(after.labels("event_store_consumer_lag_events")).toEqual([]);
    expect(after.labels("event_store_consumer_deliveries_total")).toEqual([]);
  });

  test("idempotency keys held and process metrics are exported", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path, {}, { processMetrics: createProcessMetrics() });
    await store.createTopic("orders");
    for (const key of ["k1", "k2", "k1"]) {
      const response = await fetch(`${store.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify([{ topic: "orders", type: "e", payload: { n: 1 } }]),
      });
      expect(response.status).toBe(201);
    }
    const scrape = await Scrape.of(store.url);
    expect(scrape.value("event_store_idempotency_keys")).toBe(2);
    expect(scrape.value("event_store_events_appended_total")).toBe(2);
    expect(scrape.value("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(scrape.value("process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  test("METRICS_MAX_LABELLED bounds the topic labels: the rest are summed under _other", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path, { metricsMaxLabelled: 2 });
    for (const topic of ["a", "b", "c", "d"]) await store.createTopic(topic);
    await store.publish("a", 1);
    await store.publish("b", 2);
    await store.publish("c", 3);
    await store.publish("d", 4);
    const scrape = await Scrape.of(store.url);
    expect(scrape.labels("event_store_topic_head_sequence")).toEqual([{ topic: "a" }, { topic: "b" }, { topic: "_other" }]);
    expect(scrape.value("event_store_topic_head_sequence", { topic: "_other" })).toBe(7);
  });

  test("METRICS_ENABLED=false: no /metrics route", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path, { metricsEnabled: false });
    expect((await store.api("GET", "/metrics")).status).toBe(404);
  });
});

describe("every answer is counted once", () => {
  test("whoever gives it: a handler, the rate limit (429), authentication (401), an unknown path (404), an invalid body (400)", async () => {
    using dir = tempDir();
    const config = { ...defaultConfig(), dataDir: `${dir.path}/data`, configDir: `${dir.path}/config`, rateLimitPerMinute: 2, authTokens: ["t0k"] };
    // Each request names its client, so the rate limit refuses exactly the one that is a client's third.
    const store = await openEventStore(config, { report: () => {}, app: { reportError: () => {}, clientAddress: (request) => request.headers.get("x-client") ?? "none" } });
    try {
      const send = async (method: string, path: string, client: string, headers: Record<string, string> = {}, body?: string) =>
        (await store.app.handle(new Request(`http://localhost${path}`, { method, headers: { authorization: "Bearer t0k", "x-client": client, ...headers }, ...(body === undefined ? {} : { body }) }))).status;
      expect(await send("GET", "/topics", "a")).toBe(200);
      expect(await send("GET", "/topics", "a")).toBe(200);
      expect(await send("GET", "/topics", "a")).toBe(429);
      expect(await send("GET", "/topics", "b", { authorization: "Bearer wrong" })).toBe(401);
      expect(await send("GET", "/no/such/path", "c")).toBe(404);
      expect(await send("POST", "/events", "d", { "content-type": "application/json" }, "[]")).toBe(400);

      const samples = parsePrometheusText(await store.metrics!.scrape()).flatMap((family) => family.samples);
      const counted = samples.filter((sample) => sample.name === "event_store_http_requests_total");
      const byStatus = (status: string) => counted.filter((sample) => sample.labels.status === status).reduce((sum, sample) => sum + sample.value, 0);
      expect({ 200: byStatus("200"), 400: byStatus("400"), 401: byStatus("401"), 404: byStatus("404"), 429: byStatus("429") }).toEqual({ 200: 2, 400: 1, 401: 1, 404: 1, 429: 1 });
      expect(counted.reduce((sum, sample) => sum + sample.value, 0)).toBe(6);
      expect(counted.find((sample) => sample.labels.status === "200")?.labels).toEqual({ method: "GET", route: "/topics", status: "200" });
      expect(counted.find((sample) => sample.labels.status === "400")?.labels).toEqual({ method: "POST", route: "/events", status: "400" });
      const timed = samples.filter((sample) => sample.name === "event_store_http_request_duration_seconds_count").reduce((sum, sample) => sum + sample.value, 0);
      expect(timed).toBe(6);
    } finally {
      await store.close();
    }
  });
});

describe("GET /metrics and AUTH_TOKEN", () => {
  test("needs the token like every route, unless METRICS_PUBLIC=true", async () => {
    using dir = tempDir();
    await using closed = await startStore(dir.path, { authTokens: ["s3cret"], dataDir: `${dir.path}/d1`, configDir: `${dir.path}/c1` });
    expect((await fetch(`${closed.url}/metrics`)).status).toBe(401);
    expect((await Scrape.of(closed.url, "s3cret")).value("event_store_http_requests_total", { method: "GET", route: "(unmatched)", status: "401" })).toBe(1);

    await using open = await startStore(dir.path, { authTokens: ["s3cret"], metricsPublic: true, dataDir: `${dir.path}/d2`, configDir: `${dir.path}/c2` });
    const response = await fetch(`${open.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    // Public means /metrics only.
    expect((await fetch(`${open.url}/topics`)).status).toBe(401);
  });
});
