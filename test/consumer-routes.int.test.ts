import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { defaultConfig } from "../src/config.ts";
import { openEventStore } from "../src/event-store.ts";
import { TOPIC_SCHEMAS } from "./consumer-harness.ts";
import { clusterSettings, createTestApp, fileTest, ON_DISK, TEST_BACKEND, tempDir, expectedHealth } from "./utils.ts";

const CALLBACK = "https://receiver.example/hook";
const NODE_ID = "node-a";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Harness {
  dataDir: string;
  /** URLs the (stubbed) deliveries went to. */
  delivered: string[];
  firstDelivery: Promise<string>;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** The real app and consumer service over temp dirs, driven through app.handle; deliveries go to a stub `fetch`. */
async function createHarness(dir: string): Promise<Harness> {
  const dataDir = join(dir, "data");
  const delivered: string[] = [];
  const firstDelivery = Promise.withResolvers<string>();
  const store = await openEventStore(
    { ...defaultConfig(), metricsEnabled: false, dataDir, configDir: join(dir, "config"), eventLog: TEST_BACKEND, nodeId: NODE_ID, ...clusterSettings(dir) },
    {
      report: () => {},
      // Deliveries never answer (until shutdown aborts them), so cursors stay exactly as registered.
      fetch: (url, init) => {
        delivered.push(url);
        firstDelivery.resolve(url);
        const { promise, reject } = Promise.withResolvers<Response>();
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        return promise;
      },
      app: { reportError: () => {} },
    },
  );
  const app = store.app;
  return {
    dataDir,
    delivered,
    firstDelivery: firstDelivery.promise,
    async request(method, path, body) {
      const init: RequestInit = { method };
      if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
      const response = await app.handle(new Request(`http://localhost${path}`, init));
      const text = await response.text();
      return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
    },
    close: () => store.close(),
  };
}

let dir: ReturnType<typeof tempDir>;
let h: Harness;

beforeEach(async () => {
  dir = tempDir();
  h = await createHarness(dir.path);
  for (const name of ["orders", "audit"]) expect((await h.request("POST", "/topics", { name, schemas: TOPIC_SCHEMAS })).status).toBe(201);
  const events = [0, 1, 2].map((n) => ({ topic: "orders", type: "e", payload: { n } }));
  expect((await h.request("POST", "/events", events)).status).toBe(201);
});

afterEach(async () => {
  await h.close();
  dir[Symbol.dispose]();
});

const register = (body: unknown) => h.request("POST", "/consumers/register", body);

describe("POST /consumers/register", () => {
  test("201 {consumerId, secret}: a UUID and a generated whsec_ secret of 32 bytes", async () => {
    const answer = await register({ callback: CALLBACK, topics: { orders: null, audit: null } });
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body)).toEqual(["consumerId", "secret"]);
    expect(answer.body.consumerId).toMatch(UUID);
    expect(Buffer.from(answer.body.secret.slice(6), "base64").length).toBe(32);
    expect(answer.body.secret).toStartWith("whsec_");
  });

  test.each([
    ["24-byte", 24],
    ["64-byte", 64],
  ])("a supplied %s secret is kept and returned", async (_, bytes) => {
    const secret = `whsec_${Buffer.alloc(bytes, 7).toString("base64")}`;
    const answer = await register({ callback: CALLBACK, topics: { orders: null }, secret });
    expect(answer).toEqual({ status: 201, body: { consumerId: expect.stringMatching(UUID), secret } });
  });

  test("an id of the topic up to its head is accepted and listed as given", async () => {
    const { body } = await register({ callback: "http://127.0.0.1:9/x?y=1", topics: { orders: "orders-3", audit: null } });
    expect((await h.request("GET", "/consumers")).body).toEqual({
      consumers: [
        {
          id: body.consumerId,
          callback: "http://127.0.0.1:9/x?y=1",
          topics: { orders: "orders-3", audit: null },
          status: "active",
          lag: { orders: 0, audit: 0 },
          attempts: 0,
          lastError: null,
          nextAttemptAt: null,
          progress: { orders: caughtUp(3), audit: caughtUp(0) },
          dispatcher: NODE_ID,
        },
      ],
    });
  });

  const TOO_LONG = `https://receiver.example/${"a".repeat(2048)}`;
  test.each([
    ["a missing callback", { topics: { orders: null } }, "INVALID_REQUEST"],
    ["a callback that is a number", { callback: 42, topics: { orders: null } }, "INVALID_REQUEST"],
    ["a callback that is not a URL", { callback: "not a url", topics: { orders: null } }, "INVALID_CALLBACK"],
    ["a relative callback", { callback: "/hook", topics: { orders: null } }, "INVALID_CALLBACK"],
    ["an ftp callback", { callback: "ftp://receiver.example/hook", topics: { orders: null } }, "INVALID_CALLBACK"],
    ["a javascript: callback", { callback: "javascript:alert(1)", topics: { orders: null } }, "INVALID_CALLBACK"],
    ["a callback over 2048 characters", { callback: TOO_LONG, topics: { orders: null } }, "INVALID_CALLBACK"],
    ["missing topics", { callback: CALLBACK }, "INVALID_REQUEST"],
    ["topics that are a string", { callback: CALLBACK, topics: "orders" }, "INVALID_CONSUMER_TOPICS"],
    ["topics that are null", { callback: CALLBACK, topics: null }, "INVALID_CONSUMER_TOPICS"],
    ["topics that are an array of names", { callback: CALLBACK, topics: ["orders"] }, "INVALID_CONSUMER_TOPICS"],
    ["empty topics", { callback: CALLBACK, topics: {} }, "INVALID_CONSUMER_TOPICS"],
    ["topics that are an array", { callback: CALLBACK, topics: [] }, "INVALID_CONSUMER_TOPICS"],
    ["an unknown topic", { callback: CALLBACK, topics: { orders: null, nope: null } }, "TOPIC_NOT_FOUND"],
    ["a cursor that is a number", { callback: CALLBACK, topics: { orders: 3 } }, "INVALID_REQUEST"],
    ["a cursor that is not an id", { callback: CALLBACK, topics: { orders: "three" } }, "INVALID_CONSUMER_TOPICS"],
    ["a cursor of another topic", { callback: CALLBACK, topics: { orders: "audit-1" } }, "INVALID_CONSUMER_TOPICS"],
    ["a cursor beyond the head", { callback: CALLBACK, topics: { orders: "orders-4" } }, "INVALID_CONSUMER_TOPICS"],
    ["a cursor in an empty topic", { callback: CALLBACK, topics: { audit: "audit-1" } }, "INVALID_CONSUMER_TOPICS"],
    ["cursor 0", { callback: CALLBACK, topics: { orders: "orders-0" } }, "INVALID_CONSUMER_TOPICS"],
    ["a secret without whsec_", { callback: CALLBACK, topics: { orders: null }, secret: Buffer.alloc(32).toString("base64") }, "INVALID_SECRET"],
    ["a secret of 23 bytes", { callback: CALLBACK, topics: { orders: null }, secret: `whsec_${Buffer.alloc(23).toString("base64")}` }, "INVALID_SECRET"],
    ["a secret of 65 bytes", { callback: CALLBACK, topics: { orders: null }, secret: `whsec_${Buffer.alloc(65).toString("base64")}` }, "INVALID_SECRET"],
    ["a secret that is not base64", { callback: CALLBACK, topics: { orders: null }, secret: `whsec_${"*".repeat(44)}` }, "INVALID_SECRET"],
    ["a secret that is a number", { callback: CALLBACK, topics: { orders: null }, secret: 1 }, "INVALID_REQUEST"],
    ["a body that is an array", [], "INVALID_REQUEST"],
  ])("%s → 400 with its code, nothing stored", async (_, body, code) => {
    const answer = await register(body);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.any(String), code });
    expect((await h.request("GET", "/consumers")).body).toEqual({ consumers: [] });
    expect(existsSync(join(h.dataDir, "consumers.json"))).toBe(false);
  });

  test("messages name the problem", async () => {
    expect((await register({ callback: "ftp://x", topics: { orders: null } })).body.error).toBe("callback must be an absolute http or https URL");
    expect((await register({ callback: CALLBACK, topics: { nope: null } })).body.error).toBe("Topic 'nope' not found");
    expect((await register({ callback: CALLBACK, topics: { orders: "orders-4" } })).body.error).toBe(
      "topics['orders']: 'orders-4' is not an event of topic 'orders': its ids run from orders-1 to orders-3",
    );
    expect((await register({ callback: CALLBACK, topics: { orders: null }, secret: "x" })).body.error).toBe(
      "secret must be whsec_ followed by the base64 encoding of 24 to 64 bytes",
    );
  });

  test("malformed JSON → 400 MALFORMED_JSON", async () => {
    expect(await register("{nope")).toEqual({ status: 400, body: { error: "Request body is not valid JSON", code: "MALFORMED_JSON" } });
  });

  fileTest("the registration is on disk when 201 is answered, with its secret, readable only by the owner", async () => {
    const { body } = await register({ callback: CALLBACK, topics: { orders: "orders-2" } });
    const path = join(h.dataDir, "consumers.json");
    const file = JSON.parse(readFileSync(path, "utf8"));
    expect(file.consumers).toEqual([
      { id: body.consumerId, callback: CALLBACK, secret: body.secret, cursors: { orders: 2 }, paused: false, createdAt: expect.any(String) },
    ]);
    expect((await Bun.file(path).stat()).mode & 0o777).toBe(0o600);
  });
});

describe("GET, DELETE, resume", () => {
  test("GET /consumers lists in registration order without secrets; GET /consumers/{id} shows the delivery state", async () => {
    const a = (await register({ callback: CALLBACK, topics: { orders: "orders-3" } })).body;
    const b = (await register({ callback: `${CALLBACK}/b`, topics: { orders: "orders-1", audit: null } })).body;
    const listed = (await h.request("GET", "/consumers")).body.consumers as { id: string; callback: string; topics: unknown }[];
    expect(listed.map(({ id, callback, topics }) => ({ id, callback, topics }))).toEqual([
      { id: a.consumerId, callback: CALLBACK, topics: { orders: "orders-3" } },
      { id: b.consumerId, callback: `${CALLBACK}/b`, topics: { orders: "orders-1", audit: null } },
    ]);
    const detailsOfA = {
      id: a.consumerId,
      callback: CALLBACK,
      topics: { orders: "orders-3" },
      status: "active",
      lag: { orders: 0 },
      attempts: 0,
      lastError: null,
      nextAttemptAt: null,
      progress: { orders: caughtUp(3) },
      dispatcher: NODE_ID,
    };
    expect(await h.request("GET", `/consumers/${a.consumerId}`)).toEqual({ status: 200, body: detailsOfA });
    // The list shows each consumer as GET /consumers/{id} does.
    expect(listed[0]).toEqual(detailsOfA);
    expect((await h.request("GET", "/health")).body).toEqual(expectedHealth(2, ["audit", "orders"]));
  });

  test("unknown ids → 404 CONSUMER_NOT_FOUND on GET, DELETE and resume", async () => {
    const expected = { status: 404, body: { error: "Consumer nope not found", code: "CONSUMER_NOT_FOUND" } };
    expect(await h.request("GET", "/consumers/nope")).toEqual(expected);
    expect(await h.request("DELETE", "/consumers/nope")).toEqual(expected);
    expect(await h.request("POST", "/consumers/nope/resume")).toEqual(expected);
  });

  test("DELETE → 200 with the spec's message, then 404; the removal is on disk", async () => {
    const { consumerId } = (await register({ callback: CALLBACK, topics: { orders: "orders-3" } })).body;
    expect(await h.request("DELETE", `/consumers/${consumerId}`)).toEqual({ status: 200, body: { message: `Consumer ${consumerId} unregistered` } });
    expect((await h.request("DELETE", `/consumers/${consumerId}`)).status).toBe(404);
    expect((await h.request("GET", "/consumers")).body).toEqual({ consumers: [] });
    expect((await h.request("GET", "/health")).body).toEqual(expectedHealth(0, []));
    if (ON_DISK) expect(JSON.parse(readFileSync(join(h.dataDir, "consumers.json"), "utf8")).consumers).toEqual([]);
  });

  test("resume of an active consumer → 200 and it stays active", async () => {
    const { consumerId } = (await register({ callback: CALLBACK, topics: { orders: "orders-3" } })).body;
    expect(await h.request("POST", `/consumers/${consumerId}/resume`)).toEqual({ status: 200, body: { message: `Consumer ${consumerId} resumed` } });
    expect((await h.request("GET", `/consumers/${consumerId}`)).body.status).toBe("active");
  });

  test("a consumer behind the head gets a delivery at once, one in flight per topic", async () => {
    const { consumerId } = (await register({ callback: CALLBACK, topics: { orders: "orders-1" } })).body;
    expect(await h.firstDelivery).toBe(CALLBACK);
    expect(h.delivered).toEqual([CALLBACK]);
    expect((await h.request("GET", `/consumers/${consumerId}`)).body).toMatchObject({ status: "active", lag: { orders: 2 }, topics: { orders: "orders-1" } });
  });

  test("the OpenAPI document describes the consumer routes under the Consumers tag", async () => {
    const doc = (await h.request("GET", "/swagger/json")).body;
    for (const [path, method] of [
      ["/consumers/register", "post"],
      ["/consumers", "get"],
      ["/consumers/{id}", "get"],
      ["/consumers/{id}", "delete"],
      ["/consumers/{id}/resume", "post"],
    ] as const) {
      expect(doc.paths[path][method].tags).toEqual(["Consumers"]);
      expect(doc.paths[path][method].summary).toEqual(expect.any(String));
    }
  });
});

test("an app built without a consumer service answers 503 CONSUMERS_UNAVAILABLE to a registration", async () => {
  using other = tempDir();
  await using app = await createTestApp({ dir: other.path });
  const answer = await app.request("POST", "/consumers/register", { callback: CALLBACK, topics: { orders: null } });
  expect(answer.status).toBe(503);
  expect(await answer.json()).toEqual({ error: "Consumer delivery is not enabled on this server", code: "CONSUMERS_UNAVAILABLE" });
  expect(await (await app.request("GET", "/consumers")).json()).toEqual({ consumers: [] });
});

/** The progress of a consumer that has every event of a topic whose head is `head`. */
function caughtUp(head: number) {
  return { head, cursor: head, lag: 0, oldestPendingAt: null, lagSeconds: 0 };
}
