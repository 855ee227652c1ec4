import type { BenchContext } from "../lib/context.ts";
import { BENCH_SCHEMA, createStore, publishItem, TOPIC } from "../lib/fixture.ts";
import { int, ms, renderTable } from "../lib/format.ts";
import { startServer } from "../lib/server-process.ts";
import { median } from "../lib/stats.ts";

/** The limits the bodies are built against: the server's defaults. */
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_SCHEMA_BYTES = 256 * 1024;
const MAX_JSON_DEPTH = 64;
const MAX_BATCH_EVENTS = 10_000;
const REPEATS = 5;

export interface StallRow {
  label: string;
  method: string;
  path: string;
  bodyBytes: number;
  status: number;
  /** The hostile request's own time, per repeat. */
  requestMs: number[];
  /** The longest a GET /health waited while the hostile request was in flight, per repeat. */
  worstHealthMs: number[];
}

export interface StallResult {
  /** Longest /health wait with nothing else going on, for comparison. */
  idleWorstHealthMs: number;
  rows: StallRow[];
}

interface HostileRequest {
  label: string;
  method: string;
  path: (repeat: number) => string;
  body: (repeat: number) => string;
}

/** Nested arrays `levels` deep, e.g. 2 → `[[]]`. */
const nestedArrays = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

/** `count` copies of `item` joined by commas, as many as fit in `bytes`. */
function fill(item: string, bytes: number): string {
  return Array.from({ length: Math.max(1, Math.floor(bytes / (item.length + 1))) }, () => item).join(",");
}

/** An object schema whose properties nest `levels` schema objects deep (2 JSON levels each). */
function deepSchema(levels: number): string {
  return '{"type":"object","properties":{"a":'.repeat(levels) + '{"type":"string"}' + "}}".repeat(levels);
}

/**
 * A topic body of `most` properties, or as many as fit under
 * MAX_SCHEMA_BYTES once stored; each nested as deep as MAX_JSON_DEPTH allows when `deep`.
 */
function topicBody(name: string | null, deep: boolean, most = Number.POSITIVE_INFINITY): string {
  // body { schemas [ schema { properties { pN <chain> } } ] }: 5 levels before the chain.
  const property = deep ? deepSchema(Math.floor((MAX_JSON_DEPTH - 6) / 2)) : '{"type":"string","maxLength":64}';
  const room = MAX_SCHEMA_BYTES - 512;
  const count = Math.min(most, Math.max(1, Math.floor(room / (property.length + 10))));
  const properties = Array.from({ length: count }, (_, i) => `"p${i}":${property}`).join(",");
  const schema = `{"eventType":"e","type":"object","properties":{${properties}}}`;
  return name === null ? `{"schemas":[${schema}]}` : `{"name":"${name}","schemas":[${schema}]}`;
}

const HOSTILE: HostileRequest[] = [
  { label: "largest batch (10 000 events)", method: "POST", path: () => "/events", body: () => `[${Array.from({ length: MAX_BATCH_EVENTS }, (_, n) => publishItem(n)).join(",")}]` },
  {
    label: "deepest payload allowed, 1 MiB",
    method: "POST",
    path: () => "/events",
    // [ { payload { d [ <60 levels> ] } } ]: 64 levels.
    body: () => `[{"topic":"${TOPIC}","type":"e","payload":{"id":"x","n":1,"d":[${fill(nestedArrays(MAX_JSON_DEPTH - 4), MAX_BODY_BYTES - 200)}]}}]`,
  },
  { label: "1 MiB nested too deep (refused)", method: "POST", path: () => "/events", body: () => "[".repeat(MAX_BODY_BYTES - 16) },
  { label: "a schema of 100 properties", method: "POST", path: () => "/topics", body: (i) => topicBody(`p100-${i}`, false, 100) },
  { label: "a schema of 1 000 properties", method: "POST", path: () => "/topics", body: (i) => topicBody(`p1000-${i}`, false, 1000) },
  { label: "256 KiB of properties (ajv cannot compile: 400)", method: "POST", path: () => "/topics", body: (i) => topicBody(`wide-${i}`, false) },
  { label: "deepest schema allowed, 256 KiB", method: "POST", path: () => "/topics", body: (i) => topicBody(`deep-${i}`, true) },
  { label: "1 MiB schema (refused: too large)", method: "POST", path: () => "/topics", body: (i) => `{"name":"big-${i}","schemas":[{"eventType":"e","type":"object","description":"${"x".repeat(MAX_BODY_BYTES - 200)}"}]}` },
  { label: "1 MiB schema nested too deep (refused)", method: "POST", path: () => "/topics", body: (i) => `{"name":"n-${i}","schemas":[${"[".repeat(MAX_BODY_BYTES - 100)}]}` },
  { label: "256 KiB of properties (ajv cannot compile: 400)", method: "PUT", path: () => `/topics/${TOPIC}`, body: () => topicBody(null, false).replace('"eventType":"e"', `"eventType":"${BENCH_SCHEMA.eventType}"`) },
  { label: "1 MiB nested too deep (refused)", method: "POST", path: () => "/consumers/register", body: () => `{"callback":"http://127.0.0.1:9/","topics":{"${TOPIC}":${"[".repeat(MAX_BODY_BYTES - 100)}}}` },
];

/**
 * How long one request can hold up the others: GET /health is sent back to
 * back while a single hostile request (the deepest or the largest body the
 * limits allow, and bodies just past them) is handled; the longest /health
 * wait is the stall that request caused.
 */
export async function runStall(ctx: BenchContext): Promise<StallResult> {
  const store = createStore("stall");
  const server = await startServer(ctx.ours, store.env);
  try {
    const idle = await probeWhile(server.url, Bun.sleep(500));
    const rows: StallRow[] = [];
    for (const hostile of HOSTILE) {
      ctx.progress(`stall: ${hostile.method} ${hostile.path(0)} — ${hostile.label}`);
      const row: StallRow = { label: hostile.label, method: hostile.method, path: hostile.path(0), bodyBytes: 0, status: 0, requestMs: [], worstHealthMs: [] };
      for (let i = 0; i < REPEATS; i++) {
        const body = hostile.body(i);
        row.bodyBytes = Buffer.byteLength(body);
        const started = performance.now();
        const request = fetch(`${server.url}${hostile.path(i)}`, { method: hostile.method, body, headers: { "content-type": "application/json" } }).then(async (r) => {
          await r.arrayBuffer();
          row.requestMs.push(performance.now() - started);
          return r.status;
        });
        const worst = await probeWhile(server.url, request);
        row.status = await request;
        row.worstHealthMs.push(worst);
      }
      rows.push(row);
    }
    return { idleWorstHealthMs: idle, rows };
  } finally {
    await server.stop();
    store.remove();
  }
}

/** Sends GET /health back to back until `until` settles; the longest wait. */
async function probeWhile(url: string, until: Promise<unknown>): Promise<number> {
  let done = false;
  until.then(
    () => (done = true),
    () => (done = true),
  );
  let worst = 0;
  do {
    const started = performance.now();
    await (await fetch(`${url}/health`)).arrayBuffer();
    worst = Math.max(worst, performance.now() - started);
  } while (!done);
  return worst;
}

export function stallTable(result: StallResult): string {
  return [
    renderTable(
      `Worst single request: the longest GET /health wait while one request is handled (target < 10 ms; idle: ${ms(result.idleWorstHealthMs)} ms)`,
      ["request", "body bytes", "status", "request ms (median)", "worst /health ms (max of 5)", "median of 5"],
      result.rows.map((row) => [
        `${row.method} ${row.path}: ${row.label}`,
        int(row.bodyBytes),
        String(row.status),
        ms(median(row.requestMs)),
        ms(Math.max(...row.worstHealthMs)),
        ms(median(row.worstHealthMs)),
      ]),
    ),
  ].join("\n");
}
