import { describe, expect, test } from "bun:test";
import { details, detailsWhen, FAST_RETRY, gone, startStore, status, HARNESS_NODE_ID } from "./consumer-harness.ts";
import { tempDir, expectedHealth } from "./utils.ts";
import { ids, ok, startReceiver } from "./webhook-receiver.ts";

describe("failures", () => {
  test("500 three times then 200: every event arrives, in order; retries re-send the same batch with the same webhook-id", async () => {
    using dir = tempDir();
    await using receiver = startReceiver((d) => new Response(null, { status: d.n <= 3 ? 500 : 200 }));
    await using store = await startStore(dir.path, FAST_RETRY);
    await store.createTopic("t");
    await store.publish("t", 5);
    const { consumerId } = await store.register(receiver.url, { t: null });
    await receiver.until((r) => r.deliveries.length >= 1, "the first attempt");
    await store.publish("t", 5);

    await receiver.untilAccepted(ids("t", 1, 10));
    expect(receiver.acceptedIds()).toEqual(ids("t", 1, 10));
    const attempts = receiver.deliveries.slice(0, 4);
    expect(attempts.map((d) => d.status)).toEqual([500, 500, 500, 200]);
    for (const attempt of attempts) {
      expect(attempt.eventIds).toEqual(ids("t", 1, 5));
      expect(attempt.body).toBe(attempts[0]!.body);
      expect(attempt.headers.get("webhook-id")).toBe(attempts[0]!.headers.get("webhook-id")!);
    }
    expect(receiver.deliveries[4]!.eventIds).toEqual(ids("t", 6, 10));
    expect(receiver.deliveries[4]!.headers.get("webhook-id")).not.toBe(attempts[0]!.headers.get("webhook-id")!);
    const state = await detailsWhen(store, consumerId, (d) => d.topics.t === "t-10", "cursor t-10");
    expect(state).toMatchObject({ status: "active", attempts: 0, lastError: "HTTP 500", nextAttemptAt: null, lag: { t: 0 } });
  });

  test("after CONSUMER_MAX_ATTEMPTS failures the consumer is removed, logged with the reason", async () => {
    using dir = tempDir();
    await using receiver = startReceiver(status(500));
    await using store = await startStore(dir.path, { ...FAST_RETRY, consumerMaxAttempts: 3 });
    await store.createTopic("t");
    const { consumerId } = await store.register(receiver.url, { t: null });
    await store.publish("t", 2);

    const notFound = await gone(store, consumerId);
    const reason = "3 consecutive failed deliveries of topic 't' (last: HTTP 500)";
    expect(notFound).toEqual({
      error: `Consumer ${consumerId} was removed at ${notFound.removedAt}: ${reason}`,
      code: "CONSUMER_NOT_FOUND",
      removedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      reason,
    });
    expect(receiver.deliveries.map((d) => d.status)).toEqual([500, 500, 500]);
    expect(store.reports).toContain(`consumer ${consumerId} (${receiver.url}) removed: ${reason}`);
    expect((await store.api("GET", "/consumers")).body).toEqual({ consumers: [] });
    expect((await store.api("GET", "/health")).body).toEqual(expectedHealth(0, []));
  });

  test("ON_CONSUMER_FAILURE=pause keeps the consumer and its cursor; resume retries from the cursor", async () => {
    using dir = tempDir();
    let healthy = false;
    await using receiver = startReceiver(() => new Response(null, { status: healthy ? 204 : 500 }));
    await using store = await startStore(dir.path, { ...FAST_RETRY, consumerMaxAttempts: 2, onConsumerFailure: "pause" });
    await store.createTopic("t");
    await store.publish("t", 3);
    const { consumerId } = await store.register(receiver.url, { t: null });

    const paused = await detailsWhen(store, consumerId, (d) => d.status === "paused", "status paused");
    expect(paused).toEqual({
      id: consumerId,
      callback: receiver.url,
      topics: { t: null },
      status: "paused",
      lag: { t: 3 },
      attempts: 2,
      lastError: "HTTP 500",
      nextAttemptAt: null,
      progress: { t: { head: 3, cursor: 0, lag: 3, oldestPendingAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), lagSeconds: expect.any(Number) } },
      dispatcher: HARNESS_NODE_ID,
    });
    expect(receiver.deliveries.map((d) => d.status)).toEqual([500, 500]);
    expect(store.reports.some((r) => r.startsWith(`consumer ${consumerId} (${receiver.url}) paused after 2 consecutive failed deliveries`))).toBe(true);
    await store.publish("t", 2);
    expect((await details(store, consumerId)).lag).toEqual({ t: 5 });
    expect((await store.api("GET", "/health")).body).toEqual(expectedHealth(1, ["t"]));

    healthy = true;
    expect(await store.api("POST", `/consumers/${consumerId}/resume`)).toEqual({ status: 200, body: { message: `Consumer ${consumerId} resumed` } });
    await receiver.untilAccepted(ids("t", 1, 5));
    expect(receiver.acceptedIds()).toEqual(ids("t", 1, 5));
    const active = await detailsWhen(store, consumerId, (d) => d.lag.t === 0, "lag 0");
    expect(active).toMatchObject({ status: "active", attempts: 0, topics: { t: "t-5" }, nextAttemptAt: null });
  });

  test("429 with Retry-After waits at least that long; meanwhile the consumer shows as retrying", async () => {
    using dir = tempDir();
    await using receiver = startReceiver((d) => (d.n === 1 ? new Response(null, { status: 429, headers: { "retry-after": "1" } }) : ok(d)));
    await using store = await startStore(dir.path, FAST_RETRY);
    await store.createTopic("t");
    const { consumerId } = await store.register(receiver.url, { t: null });
    await store.publish("t", 1);

    const retrying = await detailsWhen(store, consumerId, (d) => d.status === "retrying", "status retrying");
    expect(retrying).toMatchObject({ attempts: 1, lastError: "HTTP 429", lag: { t: 1 }, topics: { t: null } });
    const first = receiver.deliveries[0]!;
    const retryIn = Date.parse(retrying.nextAttemptAt) - Date.now();
    expect(retryIn).toBeGreaterThan(700);
    expect(retryIn).toBeLessThanOrEqual(1000);

    await receiver.untilAccepted(["t-1"], 5000);
    expect(receiver.deliveries.length).toBe(2);
    expect(receiver.deliveries[1]!.at - first.at).toBeGreaterThanOrEqual(990);
  });

  test("410 Gone removes the consumer at once, even with ON_CONSUMER_FAILURE=pause", async () => {
    using dir = tempDir();
    await using receiver = startReceiver(status(410));
    await using store = await startStore(dir.path, { ...FAST_RETRY, onConsumerFailure: "pause" });
    await store.createTopic("t");
    const { consumerId } = await store.register(receiver.url, { t: null });
    await store.publish("t", 2);

    const notFound = await gone(store, consumerId);
    expect(notFound).toMatchObject({ code: "CONSUMER_NOT_FOUND", reason: "its callback answered 410 Gone" });
    expect(receiver.deliveries.map((d) => d.status)).toEqual([410]);
    expect(store.reports).toContain(`consumer ${consumerId} (${receiver.url}) removed: its callback answered 410 Gone`);
  });

  test("redirects are not followed: a 3xx is a failure", async () => {
    using dir = tempDir();
    await using target = startReceiver();
    await using receiver = startReceiver(status(307, { location: target.url }));
    await using store = await startStore(dir.path, { ...FAST_RETRY, consumerMaxAttempts: 2 });
    await store.createTopic("t");
    const { consumerId } = await store.register(receiver.url, { t: null });
    await store.publish("t", 1);

    const notFound = await gone(store, consumerId);
    expect(notFound.reason).toBe("2 consecutive failed deliveries of topic 't' (last: HTTP 307)");
    expect(receiver.deliveries.length).toBe(2);
    expect(target.deliveries).toEqual([]);
  });

  test("a call that outlives DELIVERY_TIMEOUT_MS fails with a timeout and is retried", async () => {
    using dir = tempDir();
    const release = Promise.withResolvers<void>();
    await using receiver = startReceiver(async (d) => {
      if (d.n === 1) await release.promise;
      return ok(d);
    });
    await using store = await startStore(dir.path, { ...FAST_RETRY, deliveryTimeoutMs: 150 });
    try {
      await store.createTopic("t");
      const { consumerId } = await store.register(receiver.url, { t: null });
      await store.publish("t", 1);
      await receiver.untilAccepted(["t-1"]);
      expect((await details(store, consumerId)).lastError).toBe("timeout after 150 ms");
      expect(receiver.deliveries.map((d) => d.eventIds)).toEqual([["t-1"], ["t-1"]]);
    } finally {
      release.resolve();
    }
  });

  test("an unreachable callback fails as a connection error", async () => {
    using dir = tempDir();
    const closed = startReceiver();
    const url = closed.url;
    await closed[Symbol.asyncDispose]();
    await using store = await startStore(dir.path, { ...FAST_RETRY, consumerMaxAttempts: 2 });
    await store.createTopic("t");
    const { consumerId } = await store.register(url, { t: null });
    await store.publish("t", 1);
    const notFound = await gone(store, consumerId);
    expect(notFound.reason).toStartWith("2 consecutive failed deliveries of topic 't' (last: connection failed: ");
  });
});
