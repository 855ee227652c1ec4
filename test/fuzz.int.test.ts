/**
 * Hostile input, generated: random methods, paths (traversal, encodings,
 * NUL, unicode, very long segments), query strings, headers and bodies (JSON
 * of any shape, text, raw bytes) against every route of a store that holds
 * topics, events and a consumer. Properties: no answer is a 5xx, every error
 * is `{"error", "code"}` JSON, and no file appears outside DATA_DIR and
 * CONFIG_DIR (a sentinel directory beside them stays empty). With
 * AUTH_TOKEN set and no token sent, nothing but GET /health answers other
 * than 401 and nothing on disk changes. `FC_SEED=<n>` replays a run.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { isValidTopicName } from "../src/topics/topic-name.ts";
import { type Answer, type ApiHarness, openApiHarness } from "./api-harness.ts";
import { ON_DISK, tempDir } from "./utils.ts";

/** FC_STATS=1 prints how often each method/status/code came up, to judge what the generators reach. */
const STATS = process.env.FC_STATS ? new Map<string, number>() : null;
const RUNS = Number(process.env.FC_RUNS ?? 300);
const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

const HOSTILE_SEGMENTS = [
  "..", "../..", "../../etc/passwd", "..%2F..%2Fetc", "%2e%2e", "%2e%2e%2f%2e%2e", ".", "%2F", "a%2Fb", "a%5Cb", "..\\..\\x",
  "%00", "a%00b", "%", "%zz", "%C0%AE%C0%AE", "%E2%80%AE", "%F0%9F%92%A9", "\u202etxt", "CON", "nul", "a:b", "~root",
  "x".repeat(5000), "%25", "%252e%252e", " ", "%20", "+", "orders", "orders-1", "00000000-0000-4000-8000-000000000000",
];

const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => encodeURI(s).replaceAll("?", "%3F").replaceAll("#", "%23")) },
);

const path = fc.oneof(
  fc.constantFrom("/topics", "/events", "/consumers", "/consumers/register", "/health", "/swagger", "/swagger/json", "/", "//", "/topics/", "/../topics"),
  segment.map((s) => `/topics/${s}`),
  segment.map((s) => `/topics/${s}/events`),
  segment.map((s) => `/consumers/${s}`),
  segment.map((s) => `/consumers/${s}/resume`),
  fc.tuple(segment, segment).map(([a, b]) => `/${a}/${b}`),
  segment.map((s) => `/${s}`),
);

const queryValue = fc.oneof(fc.constantFrom("orders-1", "orders-0", "1", "0", "-1", "2025-01-15", "2025-02-30", "", "1e3", "99999999999999999999", "x".repeat(3000)), fc.string({ unit: "binary", maxLength: 20 }));
const query = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom("sinceEventId", "limit", "date", "waitMs", "sinceEventId", "__proto__", "constructor"), fc.string({ maxLength: 10 })), queryValue),
  { maxLength: 4 },
).map((pairs) => {
  // A long poll would only make the run slow: waitMs is kept at or below 1 ms, or invalid.
  const params = new URLSearchParams(pairs.map(([k, v]) => [k, k === "waitMs" && /^\d+$/.test(v) && Number(v) <= 60_000 ? String(Number(v) % 2) : v]));
  return params.size === 0 ? "" : `?${params}`;
});

const headerName = fc.oneof(fc.constantFrom("content-type", "content-encoding", "transfer-encoding", "authorization", "x-forwarded-for", "host", "accept", "expect", "cookie"), fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/));
const headerValue = fc.oneof(fc.constantFrom("application/json", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "gzip", "chunked", "Bearer x", "100-continue", ""), fc.string({ unit: "binary-ascii", maxLength: 40 }));
const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }).map((pairs) => {
  const result = new Headers();
  for (const [name, value] of pairs) {
    try {
      result.set(name, value);
    } catch {
      // Not a legal header (e.g. a control character): no client could send it.
    }
  }
  return result;
});

const nearlyValidEvent = fc.record({
  topic: fc.constantFrom("orders", "audit"),
  type: fc.constant("e"),
  payload: fc.dictionary(fc.string({ unit: "binary", maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
});
const publishLike = fc.oneof(fc.array(nearlyValidEvent, { minLength: 1, maxLength: 4 }), fc.array(
  fc.record(
    { topic: fc.oneof(fc.constantFrom("orders", "../orders", "", "nope"), fc.string()), type: fc.oneof(fc.constant("e"), fc.string()), payload: fc.jsonValue({ maxDepth: 3 }), expectedSequence: fc.oneof(fc.integer(), fc.double(), fc.string()) },
    { requiredKeys: [] },
  ),
  { maxLength: 4 },
));
const topicLike = fc.oneof(
  fc.record({ name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/), schemas: fc.constant([{ eventType: "e", type: "object" }]) }),
  fc.record({ name: fc.oneof(fc.constantFrom("../../escape", "a/../../b", "..", ".", "new-topic"), fc.string()), schemas: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }), fc.jsonValue()) }, { requiredKeys: [] }),
);
const consumerLike = fc.record(
  { callback: fc.oneof(fc.constantFrom("file:///etc/passwd", "http://127.0.0.1:1/x", "gopher://x", "http://[::1]/"), fc.webUrl(), fc.string()), topics: fc.oneof(fc.dictionary(fc.oneof(fc.constant("orders"), fc.string()), fc.oneof(fc.constant(null), fc.string())), fc.jsonValue()), secret: fc.oneof(fc.string(), fc.jsonValue()) },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: publishLike.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: topicLike.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: consumerLike.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)) },
  { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"polluted":1}}', '[{"topic":"orders","type":"e","payload":{"__proto__":{"x":1}}}]', '{"a":1,"a":2}', "\ufeff[]", "null", '"', "1e999", "-0", "[" + '{"topic":"orders","type":"e","payload":{}},'.repeat(50) + "0]") },
);

const anyRequest = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "GET", "POST"),
  path,
  query,
  headers,
  body,
});

/** Mostly a real route with a body shaped like its own (but wrong in random ways); now and then any other body. */
const topicSegment = fc.oneof({ weight: 2, arbitrary: fc.constantFrom("orders", "audit") }, { weight: 3, arbitrary: segment });
const routed = <T>(method: string, pathArb: fc.Arbitrary<string>, bodyArb: fc.Arbitrary<T>) =>
  fc.record({
    method: fc.constant(method),
    path: pathArb,
    query,
    headers,
    body: fc.oneof({ weight: 3, arbitrary: bodyArb.map((v) => (v === undefined ? undefined : JSON.stringify(v))) }, { weight: 1, arbitrary: body }),
  });
const none = fc.constant(undefined);
const routedRequest = fc.oneof(
  routed("POST", fc.constant("/topics"), topicLike),
  routed("GET", fc.constant("/topics"), none),
  routed("GET", topicSegment.map((s) => `/topics/${s}`), none),
  routed("PUT", topicSegment.map((s) => `/topics/${s}`), topicLike),
  routed("POST", fc.constant("/events"), publishLike),
  routed("POST", fc.constant("/events"), publishLike),
  routed("GET", topicSegment.map((s) => `/topics/${s}/events`), none),
  routed("GET", topicSegment.map((s) => `/topics/${s}/events`), none),
  routed("POST", fc.constant("/consumers/register"), consumerLike),
  routed("GET", fc.constant("/consumers"), none),
  routed("GET", segment.map((s) => `/consumers/${s}`), none),
  routed("DELETE", segment.map((s) => `/consumers/${s}`), none),
  routed("POST", segment.map((s) => `/consumers/${s}/resume`), none),
  routed("GET", fc.constantFrom("/health", "/swagger/json"), none),
);

const request = fc.oneof({ weight: 3, arbitrary: routedRequest }, { weight: 1, arbitrary: anyRequest });

type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** Every file below `root`, relative to it. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

function snapshot(root: string): string[] {
  if (!ON_DISK) return [];
  return listFiles(root).map((file) => `${file}:${statSync(join(root, file)).size}`);
}

/** A store with two topics, events and a consumer, inside `outer/store`; `outer/sentinel` stays empty. */
async function seededStore(outer: string, authTokens: readonly string[] = []): Promise<{ store: ApiHarness; root: string; sentinel: string }> {
  const root = join(outer, "store");
  const sentinel = join(outer, "sentinel");
  mkdirSync(sentinel);
  const store = await openApiHarness(root, { overrides: { authTokens, maxBodyBytes: 64 * 1024 } });
  const auth = authTokens.length > 0 ? { authorization: `Bearer ${authTokens[0]}` } : undefined;
  const schemas = [{ eventType: "e", type: "object" }];
  expect((await store.request("POST", "/topics", { name: "orders", schemas }, auth)).status).toBe(201);
  expect((await store.request("POST", "/topics", { name: "audit", schemas }, auth)).status).toBe(201);
  expect((await store.request("POST", "/events", [{ topic: "orders", type: "e", payload: { n: 1 } }, { topic: "audit", type: "e", payload: {} }], auth)).status).toBe(201);
  expect((await store.request("POST", "/consumers/register", { callback: "https://receiver.example/hook", topics: { orders: null } }, auth)).status).toBe(201);
  return { store, root, sentinel };
}

function send(store: ApiHarness, r: FuzzRequest): Promise<Answer> {
  const canHaveBody = r.method !== "GET" && r.method !== "HEAD";
  return store.request(r.method, `${r.path}${r.query}`, canHaveBody ? r.body : undefined, r.headers);
}

/** Files only under data/ and config/, named as the store names them; nothing beside the store. */
function expectContained(outer: string, root: string, sentinel: string): void {
  expect(readdirSync(outer).sort()).toEqual(ON_DISK ? ["sentinel", "store"] : ["sentinel"]);
  expect(readdirSync(sentinel)).toEqual([]);
  if (!ON_DISK) return;
  expect(readdirSync(root).sort()).toEqual(["config", "data"]);
  for (const file of listFiles(root)) {
    const [area, ...rest] = file.split(sep);
    if (area === "config") {
      expect(rest.length).toBe(2);
      expect(rest[0]).toBe("topics");
      expect(isValidTopicName(rest[1]!.replace(/\.json$/, "")) && rest[1]!.endsWith(".json")).toBe(true);
    } else {
      expect(area).toBe("data");
      if (rest[0] === "topics") expect(isValidTopicName(rest[1])).toBe(true);
      else if (rest[0] === "idempotency") expect(rest.length).toBe(3);
      else expect(["consumers.json", "consumer-cursors.jsonl"]).toContain(rest.join(sep));
    }
  }
}

describe("hostile input (generated)", () => {
  test(
    `random requests: never a 5xx, errors are {error, code} JSON, files stay inside DATA_DIR/CONFIG_DIR (${RUNS} runs, seed ${SEED})`,
    async () => {
      using outer = tempDir("event-store-fuzz-");
      const { store, root, sentinel } = await seededStore(outer.path);
      try {
        await fc.assert(
          fc.asyncProperty(request, async (r) => {
            const answer = await send(store, r);
            STATS?.set(`${r.method} ${answer.status} ${answer.body?.code ?? ""}`, (STATS.get(`${r.method} ${answer.status} ${answer.body?.code ?? ""}`) ?? 0) + 1);
            expect(answer.status).toBeLessThan(500);
            if (answer.status >= 400 && r.method !== "HEAD") {
              expect(answer.json).toBe(true);
              expect(typeof answer.body.error).toBe("string");
              expect(answer.body.code).toMatch(/^[A-Z_]+$/);
              expect(JSON.stringify(answer.body)).not.toContain(root);
            }
          }),
          { numRuns: RUNS, seed: SEED },
        );
        if (STATS) console.log([...STATS].sort().map(([k, v]) => `${v}\t${k}`).join("\n"));
        expectContained(outer.path, root, sentinel);
        // The store still works and its data is intact.
        await store.restart();
        const events = await store.request("GET", "/topics/orders/events?limit=1");
        expect(events.body.events[0]).toMatchObject({ id: "orders-1", payload: { n: 1 } });
      } finally {
        await store.close();
      }
    },
    60_000,
  );

  test(
    `with AUTH_TOKEN and no valid token: every random request but GET /health → 401, nothing on disk changes (${Math.ceil(RUNS / 2)} runs, seed ${SEED})`,
    async () => {
      using outer = tempDir("event-store-fuzz-auth-");
      const { store, root, sentinel } = await seededStore(outer.path, ["the-real-token"]);
      const before = snapshot(root);
      try {
        await fc.assert(
          fc.asyncProperty(request, async (r) => {
            if (r.headers.get("authorization") === "Bearer the-real-token") r.headers.delete("authorization");
            const answer = await send(store, r);
            const isHealth = r.method === "GET" && new URL(`http://x${r.path}${r.query}`).pathname === "/health";
            expect(answer.status).toBe(isHealth ? 200 : 401);
          }),
          { numRuns: Math.ceil(RUNS / 2), seed: SEED },
        );
        expect(snapshot(root)).toEqual(before);
        expectContained(outer.path, root, sentinel);
      } finally {
        await store.close();
      }
    },
    60_000,
  );
});
