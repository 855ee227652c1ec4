import { createHmac } from "node:crypto";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { signWebhook as clientSign } from "../client/index.ts";
import { CoalescedWriter } from "../src/backends/file/coalesced-writer.ts";
import { FileConsumerStore } from "../src/backends/file/file-consumer-store.ts";
import { deliver, type FetchFn } from "../src/consumers/delivery.ts";
import { deliveryBody, fittingCount } from "../src/consumers/delivery-body.ts";
import { batchMessageId, generateSecret, secretKey, signWebhook } from "../src/consumers/webhook-signer.ts";
import { ConsumersCorruptError } from "../src/errors.ts";
import { tempDir } from "./utils.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("delivery body", () => {
  const lines = ['{"id":"t-1"}', '{"id":"t-2"}', '{"id":"t-3"}'].map(encode);

  test("is {consumerId, events} built from the stored bytes", () => {
    expect(decode(deliveryBody("c-1", lines))).toBe('{"consumerId":"c-1","events":[{"id":"t-1"},{"id":"t-2"},{"id":"t-3"}]}');
    expect(decode(deliveryBody('a"b', []))).toBe('{"consumerId":"a\\"b","events":[]}');
  });

  test("fittingCount keeps the whole body within maxBytes, but always takes one event", () => {
    const full = deliveryBody("c-1", lines).length;
    expect(fittingCount("c-1", lines, full)).toBe(3);
    expect(fittingCount("c-1", lines, full - 1)).toBe(2);
    expect(deliveryBody("c-1", lines.slice(0, 2)).length).toBeLessThanOrEqual(full - 1);
    expect(fittingCount("c-1", lines, 1)).toBe(1);
  });
});

describe("webhook signer", () => {
  test("signWebhook matches node:crypto createHmac and the client's WebCrypto signWebhook", async () => {
    const secret = generateSecret();
    const key = secretKey(secret)!;
    const body = encode('{"consumerId":"c","events":[]}');
    const headers = signWebhook(key, "msg_1", 1_736_937_000, body);
    const expected = createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`msg_1.1736937000.${decode(body)}`).digest("base64");
    expect(headers).toEqual({ "webhook-id": "msg_1", "webhook-timestamp": "1736937000", "webhook-signature": `v1,${expected}` });
    expect(await clientSign(secret, "msg_1", 1_736_937_000, body)).toBe(headers["webhook-signature"]);
  });

  test("secretKey accepts whsec_ + canonical base64 of 24 to 64 bytes only", () => {
    const of = (bytes: number) => `whsec_${Buffer.alloc(bytes, 1).toString("base64")}`;
    expect(secretKey(of(24))?.length).toBe(24);
    expect(secretKey(of(64))?.length).toBe(64);
    for (const bad of [of(23), of(65), Buffer.alloc(32).toString("base64"), "whsec_", "whsec_!!!!", `whsec_${Buffer.alloc(32).toString("base64url")}_`, `${of(32)} `]) {
      expect(secretKey(bad)).toBeNull();
    }
    expect(secretKey(generateSecret())?.length).toBe(32);
  });

  test("batchMessageId is the same for the same batch and differs for any other", () => {
    const id = batchMessageId("c", "t", 1, 5);
    expect(batchMessageId("c", "t", 1, 5)).toBe(id);
    for (const other of [batchMessageId("d", "t", 1, 5), batchMessageId("c", "u", 1, 5), batchMessageId("c", "t", 1, 6), batchMessageId("c", "t", 2, 5)]) {
      expect(other).not.toBe(id);
    }
    expect(id).toMatch(/^msg_[A-Za-z0-9_-]{27}$/);
  });
});

describe("deliver: one POST, classified", () => {
  const request = (fetchFn: FetchFn, signal = new AbortController().signal, timeoutMs = 1000) =>
    deliver(fetchFn, { url: "http://r/hook", body: encode("{}"), headers: { "content-type": "application/json" }, timeoutMs, signal, now: () => 0 });
  const answer = (status: number, headers?: Record<string, string>): FetchFn => async () => new Response("body", { status, ...(headers ? { headers } : {}) });

  test("2xx → ok; 410 → gone; others → retry with HTTP <status>", async () => {
    for (const status of [200, 201, 204, 299]) expect(await request(answer(status))).toEqual({ kind: "ok" });
    expect(await request(answer(410))).toEqual({ kind: "gone", error: "HTTP 410" });
    for (const status of [301, 302, 307, 400, 404, 500, 502]) expect(await request(answer(status))).toEqual({ kind: "retry", error: `HTTP ${status}` });
  });

  test("429 and 503 carry Retry-After when present", async () => {
    expect(await request(answer(429, { "retry-after": "3" }))).toEqual({ kind: "retry", error: "HTTP 429", retryAfterMs: 3000 });
    expect(await request(answer(503, { "retry-after": "1" }))).toEqual({ kind: "retry", error: "HTTP 503", retryAfterMs: 1000 });
    expect(await request(answer(429))).toEqual({ kind: "retry", error: "HTTP 429" });
  });

  test("sends POST with redirect: manual and the body and headers given", async () => {
    let seen: RequestInit | undefined;
    await request(async (_, init) => {
      seen = init;
      return new Response(null, { status: 204 });
    });
    expect(seen).toMatchObject({ method: "POST", redirect: "manual", headers: { "content-type": "application/json" } });
    expect(decode(seen!.body as Uint8Array)).toBe("{}");
  });

  const hang: FetchFn = (_, init) => {
    const { promise, reject } = Promise.withResolvers<Response>();
    init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
    return promise;
  };

  test("a timeout, a connection error and an abort by the store are told apart", async () => {
    expect(await request(hang, undefined, 20)).toEqual({ kind: "retry", error: "timeout after 20 ms" });
    const refused: FetchFn = async () => {
      throw Object.assign(new Error("Unable to connect"), { code: "ECONNREFUSED" });
    };
    expect(await request(refused)).toEqual({ kind: "retry", error: "connection failed: ECONNREFUSED" });
    const stop = new AbortController();
    const pending = request(hang, stop.signal);
    stop.abort();
    expect(await pending).toEqual({ kind: "aborted" });
  });
});

describe("CoalescedWriter", () => {
  test("one write in flight; every save made meanwhile is served by one next write carrying the latest state", async () => {
    let state = 0;
    const writes: string[] = [];
    const gates: PromiseWithResolvers<void>[] = [];
    const writer = new CoalescedWriter(
      () => String(state),
      (data) => {
        writes.push(data);
        const gate = Promise.withResolvers<void>();
        gates.push(gate);
        return gate.promise;
      },
    );
    state = 1;
    const first = writer.save();
    const later = [2, 3, 4].map((n) => {
      state = n;
      return writer.save();
    });
    expect(writes).toEqual(["1"]);
    gates[0]!.resolve();
    await first;
    expect(writes).toEqual(["1", "4"]);
    gates[1]!.resolve();
    await Promise.all(later);
    expect(writes).toEqual(["1", "4"]);
  });

  test("a failed write rejects its saves; flush writes again", async () => {
    let fail = true;
    const writes: string[] = [];
    const writer = new CoalescedWriter(
      () => "s",
      async (data) => {
        writes.push(data);
        if (fail) throw new Error("EIO");
      },
    );
    await expect(writer.save()).rejects.toThrow("EIO");
    await writer.flush().catch(() => undefined);
    fail = false;
    await writer.flush();
    expect(writes.length).toBe(3);
  });
});

describe("FileConsumerStore", () => {
  const consumer = { id: "c-1", callback: "http://r/hook", secret: generateSecret(), cursors: { t: 0 }, paused: false, createdAt: "2025-01-15T10:30:00.000Z" };

  test("persists registrations, cursors (never backwards), pauses and removals, and reloads them", async () => {
    using dir = tempDir();
    const store = await FileConsumerStore.open(dir.path);
    await store.add({ ...consumer, cursors: { ...consumer.cursors } });
    await store.add({ ...consumer, id: "c-2", cursors: { t: 3 } });
    await store.advance("c-1", "t", 7);
    await store.advance("c-1", "t", 5);
    await store.setPaused("c-1", true);
    await store.remove("c-2", { removedAt: "2025-01-15T11:00:00.000Z", reason: "its callback answered 410 Gone" });
    await store.close();

    const reopened = await FileConsumerStore.open(dir.path);
    expect(reopened.list()).toEqual([{ ...consumer, cursors: { t: 7 }, paused: true }]);
    expect(reopened.removal("c-2")).toEqual({ id: "c-2", callback: consumer.callback, removedAt: "2025-01-15T11:00:00.000Z", reason: "its callback answered 410 Gone" });
  });

  test("a tmp file left by a crash mid-write is removed; the last complete file wins", async () => {
    using dir = tempDir();
    const store = await FileConsumerStore.open(dir.path);
    await store.add({ ...consumer, cursors: { t: 2 } });
    writeFileSync(join(dir.path, "consumers.json.4242.tmp"), '{"consumers": [{"id": "torn');
    const reopened = await FileConsumerStore.open(dir.path);
    expect(reopened.list().map((c) => c.cursors)).toEqual([{ t: 2 }]);
    expect(readdirSync(dir.path).sort()).toEqual(["consumer-cursors.jsonl", "consumers.json"]);
  });

  test("cursor advances append to the journal instead of rewriting consumers.json; reopening replays them, a torn line ends the replay", async () => {
    using dir = tempDir();
    const store = await FileConsumerStore.open(dir.path);
    await store.add({ ...consumer, cursors: { t: 0, u: 0 } });
    const snapshot = readFileSync(join(dir.path, "consumers.json"), "utf8");
    await store.advance("c-1", "t", 100);
    await store.advance("c-1", "u", 5);
    await store.advance("c-1", "t", 200);
    expect(readFileSync(join(dir.path, "consumers.json"), "utf8")).toBe(snapshot);
    const journal = readFileSync(join(dir.path, "consumer-cursors.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(journal).toEqual([
      { id: "c-1", topic: "t", cursor: 100 },
      { id: "c-1", topic: "u", cursor: 5 },
      { id: "c-1", topic: "t", cursor: 200 },
    ]);
    await store.close();
    appendFileSync(join(dir.path, "consumer-cursors.jsonl"), '{"id":"c-1","topic":"t","cursor":99');
    const reopened = await FileConsumerStore.open(dir.path);
    expect(reopened.list().map((c) => c.cursors)).toEqual([{ t: 200, u: 5 }]);
    // A snapshot (here: a pause) takes the cursors in and empties the journal.
    await reopened.setPaused("c-1", true);
    expect(readFileSync(join(dir.path, "consumer-cursors.jsonl"), "utf8")).toBe("");
    expect(JSON.parse(readFileSync(join(dir.path, "consumers.json"), "utf8")).consumers[0].cursors).toEqual({ t: 200, u: 5 });
    await reopened.close();
  });

  test("a corrupt consumers.json stops start-up with ConsumersCorruptError rather than forgetting consumers", async () => {
    using dir = tempDir();
    for (const text of ["{not json", '{"consumers": {}}', '{"consumers": [{"id": 1}]}', '{"consumers": [{"id":"c","callback":"u","secret":"s","paused":false,"createdAt":"x","cursors":{"t":-1}}]}']) {
      writeFileSync(join(dir.path, "consumers.json"), text);
      await expect(FileConsumerStore.open(dir.path)).rejects.toThrow(ConsumersCorruptError);
    }
    expect(readFileSync(join(dir.path, "consumers.json"), "utf8")).toContain('"t":-1');
  });
});
