/**
 * Model-based property test: random sequences of API operations go through
 * the real app (`app.handle`, real files, a consumer service whose webhooks
 * never answer) and every answer is compared with what a small in-memory
 * model says it must be: status, code, and the body wherever the model
 * knows it. No answer may be a 5xx. `FC_SEED=<n>` replays a run; a failure
 * prints its seed and shrunk operation list.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { isValidTopicName } from "../src/topics/topic-name.ts";
import { API_HARNESS_NODE_ID, type ApiHarness, openApiHarness } from "./api-harness.ts";
import { tempDir } from "./utils.ts";

const PROPERTY_RUNS = Number(process.env.FC_RUNS ?? 100);
const PROPERTY_SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

const NOW = Date.parse("2025-01-15T10:30:00.000Z");
const TODAY = "2025-01-15";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------- the model

interface ModelEvent {
  id: string;
  type: string;
  payload: unknown;
}

interface ModelTopic {
  types: Set<string>;
  events: ModelEvent[];
}

interface ModelConsumer {
  id: string;
  callback: string;
  topics: Record<string, string | null>;
}

class Model {
  readonly topics = new Map<string, ModelTopic>();
  readonly consumers: ModelConsumer[] = [];
  head(topic: string): number {
    return this.topics.get(topic)?.events.length ?? 0;
  }
}

// ---------------------------------------------------------------- operations

const VALID_NAMES = ["orders", "audit", "A.b_c-9", "orders-2", "x".repeat(128)];
/** Invalid names that still reach the `:topic` route when put in a path (percent-encoded). */
const INVALID_NAMES = ["-lead", "_lead", "a b", "ü", "x".repeat(129), "a/b", "a\\b", "a\u0000b", "..a/../b", "a:b", "~"];
/** Invalid names only used in bodies: in a path they would normalise to another route. */
const BODY_ONLY_INVALID = ["", ".", "..", "../escape"];
const TYPES = ["e", "f"] as const;

const SCHEMA_OF: Record<string, object> = {
  e: { eventType: "e", type: "object", properties: { n: { type: "integer" } }, required: ["n"] },
  f: { eventType: "f", type: "object" },
};

// Mostly the two common names, so operations meet topics that exist; now and then anything else.
const pathName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("orders", "audit") },
  { weight: 2, arbitrary: fc.constantFrom(...VALID_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...INVALID_NAMES) },
);
const anyName = fc.oneof({ weight: 12, arbitrary: pathName }, { weight: 1, arbitrary: fc.constantFrom(...BODY_ONLY_INVALID) });

const payloadArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ n: fc.integer() }) },
  // Any string, lone surrogates included: stored and read back exactly.
  { weight: 2, arbitrary: fc.record({ n: fc.integer(), text: fc.string({ unit: "binary", maxLength: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ n: fc.integer(), any: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ n: fc.constantFrom<unknown>("1", 1.5, null) }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 5, "s", [1, 2], true) },
);

const publishItemArb = fc.record({
  topic: fc.oneof({ weight: 10, arbitrary: fc.constantFrom("orders", "audit") }, { weight: 1, arbitrary: anyName }),
  type: fc.oneof({ weight: 12, arbitrary: fc.constantFrom("e", "f") }, { weight: 1, arbitrary: fc.constantFrom("g", "") }),
  payload: payloadArb,
  expected: fc.constantFrom<"none" | "right" | "wrong" | "invalid">(...Array<"none">(12).fill("none"), "right", "right", "wrong", "invalid"),
});

const callbackArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("https://receiver.example/hook", "http://127.0.0.1:9/x?y=1", "HTTP://Example.COM/Path") },
  { weight: 2, arbitrary: fc.constantFrom(
  "ftp://x/y",
  "not a url",
  "/relative",
  "javascript:alert(1)",
  "http://",
  "file:///etc/passwd",
  `https://r.example/${"a".repeat(2050)}`,
  ) },
);

const cursorArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant<{ kind: "null" }>({ kind: "null" }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant<"seq">("seq"), seq: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant<"raw">("raw"), raw: fc.constantFrom("zzz-1", "garbage", "-1", "orders-01", "") }) },
);

const VALID_SECRET = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;

type Op =
  | { op: "createTopic"; name: string; types: string[]; badSchema: boolean }
  | { op: "putTopic"; name: string; types: string[] }
  | { op: "getTopic"; name: string }
  | { op: "listTopics" }
  | { op: "publish"; items: { topic: string; type: string; payload: unknown; expected: "none" | "right" | "wrong" | "invalid" }[] }
  | { op: "read"; name: string; since: { kind: "none" } | { kind: "seq"; seq: number } | { kind: "raw"; raw: string }; limit: string | null; date: string | null }
  | { op: "register"; callback: string; entries: { topic: string; cursor: { kind: "null" } | { kind: "seq"; seq: number } | { kind: "raw"; raw: string } }[]; secret: "none" | "valid" | "invalid" }
  | { op: "getConsumer"; pick: number }
  | { op: "deleteConsumer"; pick: number }
  | { op: "listConsumers" }
  | { op: "health" }
  | { op: "restart" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("createTopic" as const), name: anyName, types: fc.subarray([...TYPES], { minLength: 1 }), badSchema: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("putTopic" as const), name: pathName, types: fc.subarray([...TYPES]) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("getTopic" as const), name: pathName }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("listTopics" as const) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant("publish" as const), items: fc.array(publishItemArb, { maxLength: 4 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("read" as const),
      name: pathName,
      since: fc.oneof(
        fc.constant({ kind: "none" as const }),
        fc.record({ kind: fc.constant("seq" as const), seq: fc.integer({ min: 0, max: 12 }) }),
        fc.record({ kind: fc.constant("raw" as const), raw: fc.constantFrom("zzz-3", "abc", "orders-01", "orders", "-", "orders-99999999999999999") }),
      ),
      limit: fc.option(fc.oneof(fc.integer({ min: 1, max: 12 }).map(String), fc.constantFrom("0", "-1", "abc", "1.5", "99999999999999999", " 3", "")), { nil: null }),
      date: fc.option(fc.constantFrom(TODAY, "2025-01-16", "2025-02-30", "2025-1-15", "garbage"), { nil: null }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("register" as const),
      callback: callbackArb,
      entries: fc.array(fc.record({ topic: fc.oneof({ weight: 8, arbitrary: fc.constantFrom("orders", "audit") }, { weight: 1, arbitrary: anyName }), cursor: cursorArb }), { maxLength: 3 }),
      secret: fc.constantFrom<"none" | "valid" | "invalid">("none", "none", "valid", "invalid"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("getConsumer" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("deleteConsumer" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("listConsumers" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("health" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("restart" as const) }) },
);

interface Reply {
  status: number;
  body: any;
}

/** Status and parsed body only: what the model predicts. */
async function ask(store: ApiHarness, method: string, path: string, body?: unknown): Promise<Reply> {
  const { status, body: parsed } = await store.request(method, path, body);
  return { status, body: parsed };
}

const topicPath = (name: string) => `/topics/${encodeURIComponent(name)}`;
const error = (status: number, code: string) => ({ status, code });
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value));

/** An unknown consumer id for `pick`s that miss. */
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";
function pickConsumer(model: Model, pick: number): string {
  if (model.consumers.length === 0 || pick % 4 === 3) return UNKNOWN_ID;
  return model.consumers[pick % model.consumers.length]!.id;
}

/** Runs one operation against store and model; throws when they disagree. */
async function step(store: ApiHarness, model: Model, op: Op): Promise<void> {
  switch (op.op) {
    case "createTopic": {
      const schemas = op.types.map((t) => SCHEMA_OF[t]);
      if (op.badSchema) schemas.push({ eventType: "h", type: "string" });
      const answer = await ask(store, "POST", "/topics", { name: op.name, schemas });
      if (!isValidTopicName(op.name)) return expectError(answer, 400, "INVALID_TOPIC_NAME");
      if (model.topics.has(op.name)) return expectError(answer, 400, "TOPIC_EXISTS");
      if (op.badSchema) return expectError(answer, 400, "INVALID_SCHEMA");
      expect(answer).toEqual({ status: 201, body: { message: `Topic '${op.name}' created successfully` } });
      model.topics.set(op.name, { types: new Set(op.types), events: [] });
      return;
    }
    case "putTopic": {
      const answer = await ask(store, "PUT", topicPath(op.name), { schemas: op.types.map((t) => SCHEMA_OF[t]) });
      if (!isValidTopicName(op.name)) return expectError(answer, 400, "INVALID_TOPIC_NAME");
      const topic = model.topics.get(op.name);
      if (topic === undefined) return expectError(answer, 404, "TOPIC_NOT_FOUND");
      if ([...topic.types].some((t) => !op.types.includes(t))) return expectError(answer, 400, "SCHEMA_REMOVED");
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ name: op.name, sequence: topic.events.length, schemas: op.types.map((t) => SCHEMA_OF[t]) });
      topic.types = new Set(op.types);
      return;
    }
    case "getTopic": {
      const answer = await ask(store, "GET", topicPath(op.name));
      if (!isValidTopicName(op.name)) return expectError(answer, 400, "INVALID_TOPIC_NAME");
      const topic = model.topics.get(op.name);
      if (topic === undefined) return expectError(answer, 404, "TOPIC_NOT_FOUND");
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ name: op.name, sequence: topic.events.length });
      expect(answer.body.schemas.map((s: { eventType: string }) => s.eventType).sort()).toEqual([...topic.types].sort());
      return;
    }
    case "listTopics":
      expect(await ask(store, "GET", "/topics")).toEqual({ status: 200, body: { topics: [...model.topics.keys()].sort() } });
      return;
    case "publish":
      return publish(store, model, op.items);
    case "read":
      return read(store, model, op);
    case "register":
      return register(store, model, op);
    case "getConsumer": {
      const id = pickConsumer(model, op.pick);
      const answer = await ask(store, "GET", `/consumers/${id}`);
      const consumer = model.consumers.find((c) => c.id === id);
      if (consumer === undefined) return expectError(answer, 404, "CONSUMER_NOT_FOUND");
      const lag: Record<string, number> = {};
      const progress: Record<string, unknown> = {};
      for (const [topic, cursor] of Object.entries(consumer.topics)) {
        const at = cursor === null ? 0 : sequenceOf(cursor);
        lag[topic] = model.head(topic) - at;
        const pending = lag[topic]! > 0;
        progress[topic] = {
          head: model.head(topic),
          cursor: at,
          lag: lag[topic],
          oldestPendingAt: pending ? expect.any(String) : null,
          lagSeconds: pending ? expect.any(Number) : 0,
        };
      }
      expect(answer).toEqual({
        status: 200,
        body: { id, callback: consumer.callback, topics: consumer.topics, status: "active", lag, attempts: 0, lastError: null, nextAttemptAt: null, progress, dispatcher: API_HARNESS_NODE_ID },
      });
      return;
    }
    case "deleteConsumer": {
      const id = pickConsumer(model, op.pick);
      const answer = await ask(store, "DELETE", `/consumers/${id}`);
      const at = model.consumers.findIndex((c) => c.id === id);
      if (at === -1) return expectError(answer, 404, "CONSUMER_NOT_FOUND");
      expect(answer).toEqual({ status: 200, body: { message: `Consumer ${id} unregistered` } });
      model.consumers.splice(at, 1);
      return;
    }
    case "listConsumers": {
      const answer = await ask(store, "GET", "/consumers");
      expect(answer.status).toBe(200);
      // The registration as the model knows it; the delivery state beside it depends on timing.
      expect(answer.body.consumers.map(({ id, callback, topics }: Record<string, unknown>) => ({ id, callback, topics }))).toEqual(
        model.consumers.map(({ id, callback, topics }) => ({ id, callback, topics })),
      );
      return;
    }
    case "health": {
      const dispatching = [...new Set(model.consumers.flatMap((c) => Object.keys(c.topics)))].sort();
      expect(await ask(store, "GET", "/health")).toEqual({
        status: 200,
        body: { status: "healthy", consumers: model.consumers.length, runningDispatchers: dispatching },
      });
      return;
    }
    case "restart":
      await store.restart();
      return;
  }
}

function expectError(answer: Reply, status: number, code: string): void {
  expect(error(answer.status, answer.body?.code)).toEqual(error(status, code));
  expect(typeof answer.body.error).toBe("string");
}

function sequenceOf(id: string): number {
  return Number(id.slice(id.lastIndexOf("-") + 1));
}

async function publish(store: ApiHarness, model: Model, items: Extract<Op, { op: "publish" }>["items"]): Promise<void> {
  // expectedSequence values are chosen against the model's heads, counting earlier events of the batch.
  const pending = new Map<string, number>();
  const body = items.map((item) => {
    const current = model.head(item.topic) + (pending.get(item.topic) ?? 0);
    pending.set(item.topic, (pending.get(item.topic) ?? 0) + 1);
    const expectedSequence = { none: undefined, right: current, wrong: current + 1 + (current % 3), invalid: -1 }[item.expected];
    return { topic: item.topic, type: item.type, payload: item.payload, ...(expectedSequence === undefined ? {} : { expectedSequence }) };
  });
  const answer = await ask(store, "POST", "/events", body);
  if (body.length === 0) return expectError(answer, 400, "INVALID_REQUEST");
  for (const event of body) {
    if (event.topic === "" || event.type === "" || !isObject(event.payload) || event.expectedSequence === -1) return expectError(answer, 400, "INVALID_REQUEST");
    const topic = model.topics.get(event.topic);
    if (topic === undefined) return expectError(answer, 400, "TOPIC_NOT_FOUND");
    if (!topic.types.has(event.type)) return expectError(answer, 400, "UNKNOWN_EVENT_TYPE");
    if (event.type === "e" && !Number.isInteger((event.payload as { n?: unknown }).n)) return expectError(answer, 400, "SCHEMA_VALIDATION_FAILED");
  }
  const heads = new Map<string, number>();
  for (const event of body) {
    const current = heads.get(event.topic) ?? model.head(event.topic);
    if (event.expectedSequence !== undefined && event.expectedSequence !== current) {
      expect(answer).toEqual({
        status: 409,
        body: { error: expect.any(String), code: "SEQUENCE_CONFLICT", topic: event.topic, expectedSequence: event.expectedSequence, currentSequence: current },
      });
      return;
    }
    heads.set(event.topic, current + 1);
  }
  const eventIds = body.map((event) => {
    const topic = model.topics.get(event.topic)!;
    const id = `${event.topic}-${topic.events.length + 1}`;
    topic.events.push({ id, type: event.type, payload: roundTrip(event.payload) });
    return id;
  });
  expect(answer).toEqual({ status: 201, body: { eventIds } });
}

async function read(store: ApiHarness, model: Model, op: Extract<Op, { op: "read" }>): Promise<void> {
  const query = new URLSearchParams();
  const sinceId = op.since.kind === "seq" ? `${op.name}-${op.since.seq}` : op.since.kind === "raw" ? op.since.raw : null;
  if (sinceId !== null) query.set("sinceEventId", sinceId);
  if (op.limit !== null) query.set("limit", op.limit);
  if (op.date !== null) query.set("date", op.date);
  const answer = await ask(store, "GET", `${topicPath(op.name)}/events${query.size > 0 ? `?${query}` : ""}`);
  if (!isValidTopicName(op.name)) return expectError(answer, 400, "INVALID_TOPIC_NAME");
  const topic = model.topics.get(op.name);
  if (topic === undefined) return expectError(answer, 404, "TOPIC_NOT_FOUND");
  let after = 0;
  if (sinceId !== null) {
    const match = /-(0|[1-9]\d{0,15})$/.exec(sinceId);
    if (match === null || match.index === 0 || sinceId.slice(0, match.index) !== op.name) return expectError(answer, 400, "INVALID_EVENT_ID");
    after = Number(match[1]);
  }
  if (op.limit !== null && !/^[1-9]\d{0,15}$/.test(op.limit)) return expectError(answer, 400, "INVALID_LIMIT");
  if (op.date !== null && op.date !== TODAY && op.date !== "2025-01-16") return expectError(answer, 400, "INVALID_DATE");
  const limit = op.limit === null ? Infinity : Number(op.limit);
  const events = op.date === "2025-01-16" ? [] : topic.events.slice(after, after + limit);
  expect(answer).toEqual({ status: 200, body: { events: events.map((e) => ({ id: e.id, timestamp: new Date(NOW).toISOString(), type: e.type, payload: e.payload })) } });
}

async function register(store: ApiHarness, model: Model, op: Extract<Op, { op: "register" }>): Promise<void> {
  const topics: Record<string, string | null> = {};
  for (const { topic, cursor } of op.entries) {
    topics[topic] = cursor.kind === "null" ? null : cursor.kind === "seq" ? `${topic}-${cursor.seq}` : cursor.raw;
  }
  const secret = { none: undefined, valid: VALID_SECRET, invalid: "whsec_short" }[op.secret];
  const answer = await ask(store, "POST", "/consumers/register", { callback: op.callback, topics, ...(secret === undefined ? {} : { secret }) });
  if (Object.keys(topics).length === 0) return expectError(answer, 400, "INVALID_CONSUMER_TOPICS");
  const url = URL.canParse(op.callback) ? new URL(op.callback) : null;
  if (url === null || op.callback.length > 2048 || !["http:", "https:"].includes(url.protocol) || url.hostname === "") {
    return expectError(answer, 400, "INVALID_CALLBACK");
  }
  for (const [topic, value] of Object.entries(topics)) {
    if (!model.topics.has(topic)) return expectError(answer, 400, "TOPIC_NOT_FOUND");
    if (value === null) continue;
    const match = /-(0|[1-9]\d{0,15})$/.exec(value);
    const ok = match !== null && match.index > 0 && value.slice(0, match.index) === topic && Number(match[1]) >= 1 && Number(match[1]) <= model.head(topic);
    if (!ok) return expectError(answer, 400, "INVALID_CONSUMER_TOPICS");
  }
  if (op.secret === "invalid") return expectError(answer, 400, "INVALID_SECRET");
  expect(answer.status).toBe(201);
  expect(answer.body.consumerId).toMatch(UUID);
  if (secret !== undefined) expect(answer.body.secret).toBe(secret);
  else expect(answer.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  model.consumers.push({ id: answer.body.consumerId, callback: op.callback, topics });
}

// ---------------------------------------------------------------- the property

describe("model-based: random API operation sequences", () => {
  test(
    `answers match the model and are never 5xx (${PROPERTY_RUNS} runs, seed ${PROPERTY_SEED})`,
    async () => {
      let operations = 0;
      await fc.assert(
        fc.asyncProperty(fc.subarray([...TYPES], { minLength: 1 }), fc.array(opArb, { minLength: 1, maxLength: 30, size: "medium" }), async (auditTypes, ops) => {
          using dir = tempDir("event-store-prop-");
          const store = await openApiHarness(dir.path, { clock: () => NOW });
          const model = new Model();
          try {
            // Most operations address these two; a run may still create, fail to create or reshape others.
            await step(store, model, { op: "createTopic", name: "orders", types: ["e", "f"], badSchema: false });
            await step(store, model, { op: "createTopic", name: "audit", types: auditTypes, badSchema: false });
            for (const op of ops) {
              operations++;
              await step(store, model, op);
            }
            // Whatever happened, a restart shows the same state.
            await store.restart();
            await step(store, model, { op: "listTopics" });
            await step(store, model, { op: "listConsumers" });
            for (const name of model.topics.keys()) {
              await step(store, model, { op: "read", name, since: { kind: "none" }, limit: null, date: null });
            }
          } finally {
            await store.close();
          }
        }),
        { numRuns: PROPERTY_RUNS, seed: PROPERTY_SEED, endOnFailure: false },
      );
      expect(operations).toBeGreaterThan(PROPERTY_RUNS);
    },
    60_000,
  );
});
