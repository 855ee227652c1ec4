/**
 * Fallback load generator for machines without wrk. Runs as its own process
 * (so its CPU is not the server's nor the runner's): N keep-alive connections,
 * each a closed loop of fetch calls, for a fixed duration, recording the
 * latency of every request.
 *
 *   bun bench/load.ts '<LoadSpec as JSON>'
 *
 * Prints one line "LOAD_JSON {LoadResult}".
 */
import { publishItem } from "./lib/fixture.ts";
import type { LoadResult, LoadSpec } from "./lib/load-types.ts";
import { percentile } from "./lib/stats.ts";

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
const url = spec.kind === "publish" ? `${spec.baseUrl}/events` : `${spec.baseUrl}${spec.path ?? "/"}`;
const headers = { "content-type": "application/json" };

let n = 0;
function body(): string {
  const items: string[] = [];
  for (let i = 0; i < spec.batch; i++) items.push(publishItem(++n));
  return `[${items.join(",")}]`;
}

// Latencies go into a preallocated, growable typed array: no per-request garbage in the hot loop.
let latencies = new Float64Array(1 << 16);
let count = 0;
let errors = 0;
function record(ms: number): void {
  if (count === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[count++] = ms;
}

const started = performance.now();
const deadline = started + spec.durationS * 1000;

async function connection(): Promise<void> {
  while (performance.now() < deadline) {
    const init: RequestInit =
      spec.kind === "publish" ? { method: "POST", headers, body: body(), keepalive: true } : { keepalive: true };
    const sent = performance.now();
    try {
      const res = await fetch(url, init);
      await res.arrayBuffer();
      if (res.ok) record(performance.now() - sent);
      else errors++;
    } catch {
      errors++;
    }
  }
}

await Promise.all(Array.from({ length: spec.connections }, connection));
const seconds = (performance.now() - started) / 1000;
const sorted = latencies.subarray(0, count).sort();
// The parent adds generatorCpuS from the process's resource usage.
const result: Omit<LoadResult, "generatorCpuS"> = {
  ok: count,
  errors,
  seconds,
  rps: count / seconds,
  p50Ms: percentile(sorted, 50),
  p99Ms: percentile(sorted, 99),
  maxMs: percentile(sorted, 100),
};
console.log(`LOAD_JSON ${JSON.stringify(result)}`);
process.exit(0);
