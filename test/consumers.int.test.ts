import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, test } from "bun:test";
import { verifyWebhook } from "../client/index.ts";
import { details, detailsWhen, FAST_RETRY, startStore, HARNESS_NODE_ID } from "./consumer-harness.ts";
import { tempDir, expectedHealth } from "./utils.ts";
import { type Delivery, ids, ok, startReceiver } from "./webhook-receiver.ts";

describe("delivery", () => {
  test("every event arrives once, in order, without gaps, in batches of at most DELIVERY_BATCH_SIZE", async () => {
    using dir = tempDir();
    await using receiver = startReceiver();
    await using store = await startStore(dir.path);
    await store.createTopic("orders");
    await store.publish("orders", 120);
    const { consumerId } = await store.register(receiver.url, { orders: null });
    for (let i = 0; i < 4; i++) await store.publish("orders", 30);

    await receiver.untilAccepted(ids("orders", 1, 240));
    expect(receiver.acceptedIds()).toEqual(ids("orders", 1, 240));
    expect(receiver.deliveries[0]!.eventIds).toEqual(ids("orders", 1, 100));
    for (const delivery of receiver.deliveries) {
      expect(delivery.consumerId).toBe(consumerId);
      expect(delivery.eventIds.length).toBeLessThanOrEqual(100);
      expect(delivery.headers.get("content-type")).toBe("application/json");
    }
    const body = JSON.parse(receiver.deliveries[0]!.body);
    expect(Object.keys(body)).toEqual(["consumerId", "events"]);
    expect(body.events[0]).toEqual({ id: "orders-1", timestamp: expect.any(String), type: "e", payload: { n: 0 } });
    const stored = (await store.api("GET", "/topics/orders/events?limit=1")).body.events[0];
    expect(body.events[0]).toEqual(stored);

    const state = await detailsWhen(store, consumerId, (d) => d.topics.orders === "orders-240", "cursor orders-240");
    expect(state).toEqual({
      id: consumerId,
      callback: receiver.url,
      topics: { orders: "orders-240" },
      status: "active",
      lag: { orders: 0 },
      attempts: 0,
      lastError: null,
      nextAttemptAt: null,
      progress: { orders: { head: 240, cursor: 240, lag: 0, oldestPendingAt: null, lagSeconds: 0 } },
      dispatcher: HARNESS_NODE_ID,
    });
    expect((await store.api("GET", "/consumers")).body).toEqual({ consumers: [state] });
  });

  test("a consumer registered at an id gets only later events; each topic of a consumer is delivered on its own", async () => {
    using dir = tempDir();
    await using receiver = startReceiver();
    await using store = await startStore(dir.path);
    await store.createTopic("a");
    await store.createTopic("b");
    await store.publish("a", 3);
    const { consumerId } = await store.register(receiver.url, { a: "a-3", b: null });
    expect((await store.api("GET", "/consumers")).body.consumers.map(({ id, callback, topics }: Record<string, unknown>) => ({ id, callback, topics }))).toEqual([
      { id: consumerId, callback: receiver.url, topics: { a: "a-3", b: null } },
    ]);
    expect((await store.api("GET", "/health")).body).toEqual(expectedHealth(1, ["a", "b"]));

    await store.publish("b", 2);
    await store.publish("a", 2);
    await receiver.untilAccepted([...ids("a", 4, 5), ...ids("b", 1, 2)]);
    const accepted = receiver.acceptedIds();
    expect(accepted.filter((id) => id.startsWith("a-"))).toEqual(ids("a", 4, 5));
    expect(accepted.filter((id) => id.startsWith("b-"))).toEqual(ids("b", 1, 2));
    for (const delivery of receiver.deliveries) expect(new Set(delivery.eventIds.map((id) => id[0])).size).toBe(1);
  });

  test("DELIVERY_BATCH_SIZE and DELIVERY_MAX_BYTES bound each delivery; a larger single event goes alone", async () => {
    using dir = tempDir();
    await using receiver = startReceiver();
    await using store = await startStore(dir.path, { deliveryBatchSize: 7, deliveryMaxBytes: 1024 });
    await store.createTopic("t");
    await store.publish("t", 20);
    const big = { topic: "t", type: "e", payload: { n: 20, blob: "x".repeat(2000) } };
    expect((await store.api("POST", "/events", [big])).status).toBe(201);
    await store.publish("t", 30);
    await store.register(receiver.url, { t: null });

    await receiver.untilAccepted(ids("t", 1, 51));
    expect(receiver.acceptedIds()).toEqual(ids("t", 1, 51));
    const sizes = receiver.deliveries.map((d) => d.eventIds.length);
    expect(sizes.slice(0, 3)).toEqual([7, 7, 6]);
    expect(receiver.deliveries[3]!.eventIds).toEqual(["t-21"]);
    for (const delivery of receiver.deliveries) {
      if (delivery.eventIds[0] === "t-21") continue;
      expect(Buffer.byteLength(delivery.body)).toBeLessThanOrEqual(1024);
    }
  });

  test("a receiver that sleeps 5 s delays neither a fast receiver on the same topic nor the publisher", async () => {
    using dir = tempDir();
    const wake = Promise.withResolvers<void>();
    await using slow = startReceiver(async (d) => {
      if (d.n === 1) await Promise.race([Bun.sleep(5000), wake.promise]);
      return ok(d);
    });
    await using fast = startReceiver();
    await using store = await startStore(dir.path);
    try {
      await store.createTopic("t");
      await store.register(slow.url, { t: null });
      await store.register(fast.url, { t: null });
      const started = performance.now();
      for (let i = 1; i <= 3; i++) {
        const before = performance.now();
        await store.publish("t", 1);
        expect(performance.now() - before).toBeLessThan(500);
        await fast.untilAccepted(ids("t", 1, i), 2000);
      }
      expect(fast.acceptedIds()).toEqual(ids("t", 1, 3));
      expect(performance.now() - started).toBeLessThan(1000);
      expect(slow.deliveries.map((d) => [d.eventIds, d.status])).toEqual([[["t-1"], 0]]);

      // The slow one is only slow: once it answers it gets the rest, in order.
      await slow.untilAccepted(ids("t", 1, 3), 8000);
      expect(slow.acceptedIds()).toEqual(ids("t", 1, 3));
      expect(slow.deliveries.map((d) => d.eventIds)).toEqual([["t-1"], ["t-2", "t-3"]]);
      expect(slow.deliveries[1]!.at - slow.deliveries[0]!.at).toBeGreaterThanOrEqual(4990);
    } finally {
      wake.resolve();
    }
  }, 15_000);
});

describe("signatures", () => {
  /** An implementation of the Standard Webhooks check independent of the server's: node:crypto createHmac. */
  function nodeSignature(secret: string, delivery: Delivery): string {
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const content = `${delivery.headers.get("webhook-id")}.${delivery.headers.get("webhook-timestamp")}.${delivery.body}`;
    return `v1,${createHmac("sha256", key).update(content).digest("base64")}`;
  }

  test("every delivery is signed per Standard Webhooks, with a generated or a supplied secret", async () => {
    using dir = tempDir();
    await using receiver = startReceiver();
    await using store = await startStore(dir.path);
    await store.createTopic("t");
    const generated = await store.register(receiver.url, { t: null });
    const supplied = `whsec_${randomBytes(64).toString("base64")}`;
    const own = await store.register(receiver.url, { t: null }, supplied);
    expect(generated.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(own.secret).toBe(supplied);
    await store.publish("t", 3);
    await receiver.until((r) => r.acceptedIds().length === 6, "both consumers' deliveries");

    const secretOf = new Map([
      [generated.consumerId, generated.secret],
      [own.consumerId, own.secret],
    ]);
    for (const delivery of receiver.deliveries) {
      const secret = secretOf.get(delivery.consumerId)!;
      expect(delivery.headers.get("webhook-signature")).toBe(nodeSignature(secret, delivery));
      expect(delivery.headers.get("webhook-id")).toMatch(/^msg_[A-Za-z0-9_-]+$/);
      expect(Math.abs(Number(delivery.headers.get("webhook-timestamp")) - Date.now() / 1000)).toBeLessThan(10);
      expect(await verifyWebhook(secret, delivery.headers, delivery.body)).toBe(true);
      const other = secret === generated.secret ? own.secret : generated.secret;
      expect(delivery.headers.get("webhook-signature")).not.toBe(nodeSignature(other, delivery));
    }
  });
});

describe("lifecycle", () => {
  test("unregister cancels the delivery in flight and stops the topic's dispatcher", async () => {
    using dir = tempDir();
    const release = Promise.withResolvers<void>();
    await using receiver = startReceiver(async (d) => {
      await release.promise;
      return ok(d);
    });
    await using store = await startStore(dir.path);
    try {
      await store.createTopic("t");
      const { consumerId } = await store.register(receiver.url, { t: null });
      await store.publish("t", 1);
      await receiver.until((r) => r.deliveries.length === 1, "the delivery in flight");
      const before = performance.now();
      expect(await store.api("DELETE", `/consumers/${consumerId}`)).toEqual({ status: 200, body: { message: `Consumer ${consumerId} unregistered` } });
      expect(performance.now() - before).toBeLessThan(1000);
      expect((await store.api("GET", "/health")).body).toEqual(expectedHealth(0, []));
      expect((await store.api("GET", `/consumers/${consumerId}`)).status).toBe(404);
    } finally {
      release.resolve();
    }
  });

  test("consumers, cursors and pauses survive a restart; delivery resumes after the cursor", async () => {
    using dir = tempDir();
    let pausedHealthy = false;
    await using receiver = startReceiver();
    await using failing = startReceiver(() => new Response(null, { status: pausedHealthy ? 204 : 500 }));
    const config = { ...FAST_RETRY, consumerMaxAttempts: 1, onConsumerFailure: "pause" as const };
    const first = await startStore(dir.path, config);
    await first.createTopic("t");
    const { consumerId } = await first.register(receiver.url, { t: null });
    const paused = await first.register(failing.url, { t: null });
    await first.publish("t", 3);
    await receiver.untilAccepted(ids("t", 1, 3));
    await detailsWhen(first, consumerId, (d) => d.topics.t === "t-3", "cursor t-3");
    await detailsWhen(first, paused.consumerId, (d) => d.status === "paused", "status paused");
    // What is stored: ids, callbacks, cursors and the pause (retry counts and the last error are not).
    const stored = (body: { consumers: Record<string, unknown>[] }) => body.consumers.map(({ id, callback, topics, status }) => ({ id, callback, topics, status }));
    const listed = stored((await first.api("GET", "/consumers")).body);
    await first.server.stop();

    await using second = await startStore(dir.path, config);
    expect(stored((await second.api("GET", "/consumers")).body)).toEqual(listed);
    expect(listed.map((c) => c.id)).toEqual([consumerId, paused.consumerId]);
    expect(await details(second, paused.consumerId)).toMatchObject({ status: "paused", topics: { t: null }, lag: { t: 3 } });
    await second.publish("t", 2);
    await receiver.untilAccepted(ids("t", 4, 5));
    expect(receiver.acceptedIds()).toEqual(ids("t", 1, 5));

    pausedHealthy = true;
    expect((await second.api("POST", `/consumers/${paused.consumerId}/resume`)).status).toBe(200);
    await failing.untilAccepted(ids("t", 1, 5));
    expect(failing.acceptedIds()).toEqual(ids("t", 1, 5));
  });
});
