import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { BENCH_SCHEMA, createStore, publishItem, TOPIC } from "../lib/fixture.ts";
import { int, ms, renderTable } from "../lib/format.ts";
import { type ServerCommand, startServer } from "../lib/server-process.ts";
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
  /** The longest the server's event loop went without turning meanwhile, per repeat (lib/loop-monitor.ts); empty for the compiled binary. */
  loopBlockMs: number[];
}

export interface StallResult {
  /** Longest /health wait with nothing else going on, for comparison. */
  idleWorstHealthMs: number;
  /** Longest event-loop block with only the prober running, for comparison; null for the compiled binary. */
  idleLoopBlockMs: number | null;
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
 * back, from a process of its own, while a single hostile request (the
 * deepest or the largest body the limits allow, and bodies just past them)
 * is handled; the longest /health wait is the stall that request caused.
 */
export async function runStall(ctx: BenchContext): Promise<StallResult> {
  const store = createStore("stall");
  const monitored = withLoopMonitor(ctx.ours, join(store.root, "loop-monitor-url"));
  const server = await startServer(monitored.command, { ...store.env, ...monitored.env });
  const loop = await monitored.connect();
  const prober = startProber(server.url);
  try {
    await loop.longestMs();
    const idle = await prober.during(Bun.sleep(500));
    const idleLoop = await loop.longestMs();
    const rows: StallRow[] = [];
    for (const hostile of HOSTILE) {
      ctx.progress(`stall: ${hostile.method} ${hostile.path(0)} — ${hostile.label}`);
      const row: StallRow = { label: hostile.label, method: hostile.method, path: hostile.path(0), bodyBytes: 0, status: 0, requestMs: [], worstHealthMs: [], loopBlockMs: [] };
      for (let i = 0; i < REPEATS; i++) {
        const body = hostile.body(i);
        row.bodyBytes = Buffer.byteLength(body);
        await loop.longestMs();
        const started = performance.now();
        const request = fetch(`${server.url}${hostile.path(i)}`, { method: hostile.method, body, headers: { "content-type": "application/json" } }).then(async (r) => {
          await r.arrayBuffer();
          row.requestMs.push(performance.now() - started);
          return r.status;
        });
        const worst = await prober.during(request);
        row.status = await request;
        row.worstHealthMs.push(worst);
        const block = await loop.longestMs();
        if (block !== null) row.loopBlockMs.push(block);
      }
      rows.push(row);
    }
    return { idleWorstHealthMs: idle, idleLoopBlockMs: idleLoop, rows };
  } finally {
    prober.stop();
    await server.stop();
    store.remove();
  }
}

/**
 * The server command with lib/loop-monitor.ts preloaded, when it runs from
 * source (a compiled binary cannot preload): `connect` once it is up.
 */
function withLoopMonitor(command: ServerCommand, urlFile: string) {
  const fromSource = command.argv[0] === process.execPath;
  // `bun --preload <file> src/main.ts`: the preload goes before the script, without `run`.
  const script = command.argv.slice(1).filter((arg) => arg !== "run");
  const preloaded: ServerCommand = fromSource ? { ...command, argv: [command.argv[0]!, "--preload", join(import.meta.dir, "..", "lib", "loop-monitor.ts"), ...script] } : command;
  return {
    command: preloaded,
    env: { LOOP_MONITOR_URL_FILE: urlFile },
    async connect() {
      const url = fromSource && existsSync(urlFile) ? readFileSync(urlFile, "utf8") : null;
      return {
        /** The longest block since the last call; null without a monitor. */
        async longestMs(): Promise<number | null> {
          if (url === null) return null;
          return ((await (await fetch(url)).json()) as { longestMs: number }).longestMs;
        },
      };
    },
  };
}

/** The health prober (lib/health-prober.ts) as a child process: `during(work)` is the longest /health wait while `work` runs. */
function startProber(url: string) {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "..", "lib", "health-prober.ts"), url], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error("the health prober exited");
      buffered += value;
    }
  };
  return {
    async during(work: Promise<unknown>): Promise<number> {
      child.stdin.write("start\n");
      child.stdin.flush();
      await work.catch(() => {});
      child.stdin.write("stop\n");
      child.stdin.flush();
      return Number(await nextLine());
    },
    stop() {
      child.kill();
    },
  };
}

export function stallTable(result: StallResult): string {
  const loopColumn = (values: number[]) => (values.length === 0 ? "n/a" : `${ms(Math.max(...values))} / ${ms(median(values))}`);
  const idleLoop = result.idleLoopBlockMs === null ? "n/a" : `${ms(result.idleLoopBlockMs)} ms`;
  return [
    renderTable(
      `Worst single request: the longest GET /health wait while one request is handled, and the server's longest event-loop block (target < 10 ms; idle: ${ms(result.idleWorstHealthMs)} ms, loop ${idleLoop})`,
      ["request", "body bytes", "status", "request ms (median)", "worst /health ms (max of 5)", "median of 5", "loop block ms (max / median)"],
      result.rows.map((row) => [
        `${row.method} ${row.path}: ${row.label}`,
        int(row.bodyBytes),
        String(row.status),
        ms(median(row.requestMs)),
        ms(Math.max(...row.worstHealthMs)),
        ms(median(row.worstHealthMs)),
        loopColumn(row.loopBlockMs ?? []),
      ]),
    ),
  ].join("\n");
}
