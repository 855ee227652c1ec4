/**
 * Where a publish spends its CPU: each stage of POST /events timed in
 * process, with the real modules, for 1- and 100-event bodies. Not part of
 * `bun run bench`; run it when the publish rows fall behind the ceiling.
 *
 *   bun run bench/micro.ts
 *
 * "log.append" uses the real FileEventLog on a temp dir with fdatasync
 * replaced by a no-op, so it is the log's CPU cost; "fdatasync" is the disk.
 * "app.handle" is the whole Elysia app without a socket; what it costs beyond
 * the sum of the stages is the framework's share.
 */
import { fdatasync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Elysia, t } from "elysia";
import { getSchemaValidator } from "elysia/schema";
import { createApp } from "../src/app.ts";
import { defaultConfig } from "../src/config.ts";
import { openEventStore } from "../src/event-store.ts";
import { jsonBody } from "../src/http/json-body.ts";
import { publishBatchModel } from "../src/http/models.ts";
import { NodeLogStorage } from "../src/log/storage.ts";
import { StoreMetrics } from "../src/metrics/store-metrics.ts";
import type { AppendEvent, EventLog } from "../src/store/event-log.ts";
import { validateBatch } from "../src/topics/event-validation.ts";
import { createStore, publishItem } from "./lib/fixture.ts";
import { renderTable } from "./lib/format.ts";

/** The log's disk I/O minus the fsync: what the log costs in CPU. */
class NoSyncStorage extends NodeLogStorage {
  override sync(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The real log, except that append answers at once without formatting or
 * writing anything: the app's cost without the log's. A Proxy, so it keeps
 * up with methods added to EventLog.
 */
function withInstantAppend(log: EventLog): EventLog {
  const append = (events: readonly AppendEvent[]) => Promise.resolve({ ids: events.map((e, i) => `${e.topic}-${i + 1}`), replayed: false });
  return new Proxy(log, { get: (target, key) => (key === "append" ? append : Reflect.get(target, key, target)) });
}

/** Mean µs per call over ~`ms` milliseconds, after a warm-up. */
async function time(fn: () => unknown, ms = 600): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    for (let i = 0; i < 50; i++) await fn();
    calls += 50;
  }
  return ((performance.now() - started) * 1000) / calls;
}

const store = createStore("micro");
try {
  const limits = { maxBodyBytes: 1024 * 1024, maxJsonDepth: 64, bodyTimeoutMs: 30_000, maxBatchEvents: 10_000, maxPageSize: 10_000, reportError: () => {} };
  const opened = await openEventStore(
    { ...defaultConfig(), ...limits, dataDir: store.dataDir, configDir: store.configDir },
    { storage: new NoSyncStorage(), report: () => {}, app: { reportError: () => {} } },
  );
  const { registry, log, app } = opened;
  const appWithoutLog = createApp({ registry, log: withInstantAppend(log), ...limits });
  // As the server runs it: every request counted and timed for /metrics.
  const appWithMetrics = createApp({ registry, log, ...limits, metrics: new StoreMetrics() });
  // The publish route's body schema as the framework runs it: normalize (Clean), then Check.
  const bodySchema = publishBatchModel({ examples: [] });
  const bodyValidator = getSchemaValidator(bodySchema, { normalize: true }) as unknown as { Clean(v: unknown): unknown; Check(v: unknown): boolean };
  // The framework alone: our body parser and the publish route's schemas, a handler that does nothing.
  const idsFor = (n: number) => Array.from({ length: n }, (_, i) => `bench-${i + 1}`);
  const bare = new Elysia().use(jsonBody({ maxBodyBytes: 1024 * 1024, maxJsonDepth: 64, bodyTimeoutMs: 30_000 })).post(
    "/events",
    ({ body, set }) => {
      set.status = 201;
      return { eventIds: idsFor((body as unknown[]).length) };
    },
    { body: bodySchema, response: { 201: t.Object({ eventIds: t.Array(t.String()) }) } },
  );
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const syncFd = openSync(join(store.root, "fsync-probe"), "a");
  const line = new TextEncoder().encode(`${publishItem(1)}\n`);

  const rows: string[][] = [];
  const stages: [string, (batch: number) => Promise<() => unknown>][] = [
    ["TextDecoder.decode (json-body)", async (b) => { const bytes = new TextEncoder().encode(body(b)); return () => decoder.decode(bytes); }],
    ["JSON.parse (json-body)", async (b) => { const text = body(b); return () => JSON.parse(text); }],
    ["framework body Clean + Check (publishBatchModel)", async (b) => { const parsed = JSON.parse(body(b)); return () => bodyValidator.Check(bodyValidator.Clean(parsed)); }],
    ["validateBatch (ajv + JSON.stringify)", async (b) => { const parsed = JSON.parse(body(b)); return () => validateBatch(registry, parsed, 10_000); }],
    ["log.append, no fsync (format, write)", async (b) => { const events = await validateBatch(registry, JSON.parse(body(b)), 10_000); return () => log.append(events); }],
    ["fdatasync of one small append", async () => () => new Promise<void>((resolve, reject) => { writeSync(syncFd, line); fdatasync(syncFd, (e) => (e ? reject(e) : resolve())); })],
    ["app.handle POST /events, no fsync", async (b) => handleLoop(app, body(b))],
    ["app.handle POST /events, no fsync, metrics on", async (b) => handleLoop(appWithMetrics, body(b))],
    ["app.handle, append answered at once", async (b) => handleLoop(appWithoutLog, body(b))],
    ["Elysia + json-body + schemas, empty handler", async (b) => handleLoop(bare, body(b))],
    ["ceiling handler: json() + stringify + Response.json", async (b) => { const text = body(b); return async () => { const items = (await request(text).json()) as unknown[]; let out = ""; for (const item of items) out += `${JSON.stringify(item)}\n`; await Response.json({ eventIds: items.map((_, i) => `bench-${i}`) }, { status: 201 }).arrayBuffer(); return out; }; }],
  ];
  for (const [name, make] of stages) {
    const one = await time(await make(1));
    const hundred = await time(await make(100));
    rows.push([name, one.toFixed(1), hundred.toFixed(1), (hundred / 100).toFixed(2)]);
  }
  console.log(renderTable("Publish pipeline, µs of CPU per request (in process, no socket)", ["stage", "1 event", "100 events", "per event @100"], rows));
  await opened.close();
} finally {
  store.remove();
}

/** A publish through `app.handle`, checked once to answer 201 so a 4xx path is never what gets timed. */
async function handleLoop(app: { handle(request: Request): Promise<Response> }, text: string): Promise<() => Promise<void>> {
  const first = await app.handle(request(text));
  if (first.status !== 201) throw new Error(`app.handle answered ${first.status}: ${await first.text()}`);
  return async () => {
    const res = await app.handle(request(text));
    await res.arrayBuffer();
  };
}

function body(batch: number): string {
  return `[${Array.from({ length: batch }, (_, i) => publishItem(i + 1)).join(",")}]`;
}

/** As wrk sends it: with a Content-Length, so the body parser takes its non-streaming path. */
function request(text: string): Request {
  const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) };
  return new Request("http://localhost/events", { method: "POST", headers, body: text });
}
