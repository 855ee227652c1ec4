/**
 * The ceiling of the cluster rows: a bare JetStream publisher doing what one
 * POST /events costs the store on NATS and nothing else. It publishes the
 * same batch message our store wrote (body and ES-* headers copied from the
 * store's stream) to a stream with the same config, each publish with
 * `Nats-Expected-Last-Sequence` as ours, awaiting every PubAck at R3.
 *
 * `connections` publishes are in flight at once, the HTTP load's
 * concurrency. Each takes the next expected last sequence when it is sent;
 * one connection delivers them to the stream leader in that order, so every
 * expectation holds (the leader checks against the sequence its pending
 * proposals will reach). Our store sends one publish at a time per node
 * instead; that difference is what the ratio shows.
 *
 *   bun bench/cluster-ceiling.ts '<CeilingSpec as JSON>'   → one line "LOAD_JSON {LoadResult}"
 */
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { LoadResult } from "./lib/load-types.ts";
import { percentile } from "./lib/stats.ts";

export interface CeilingSpec {
  servers: string[];
  stream: string;
  subject: string;
  /** The batch message's body, base64. */
  bodyBase64: string;
  /** Its ES-* headers. */
  headers: Record<string, string>;
  connections: number;
  durationS: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as CeilingSpec;
const body = Buffer.from(spec.bodyBase64, "base64");
const connection = await connect({ servers: spec.servers, name: "bench-ceiling" });
const manager = await jetstreamManager(connection);
const js = jetstream(connection, { timeout: 10_000 });

let next = (await manager.streams.info(spec.stream)).state.last_seq;
let inFlight = 0;
/** Set after a refused publish: the expectations of those still in flight are void, so wait for them and re-read the stream's end. */
let resync: Promise<void> | null = null;

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

async function resynced(): Promise<void> {
  while (inFlight > 0) await Bun.sleep(1);
  next = (await manager.streams.info(spec.stream)).state.last_seq;
}

const started = performance.now();
const deadline = started + spec.durationS * 1000;

async function publisher(): Promise<void> {
  while (performance.now() < deadline) {
    if (resync !== null) await resync;
    const header = natsHeaders();
    for (const [name, value] of Object.entries(spec.headers)) header.set(name, value);
    const expected = next++;
    inFlight++;
    const sent = performance.now();
    try {
      await js.publish(spec.subject, body, { expect: { lastSequence: expected }, headers: header });
      record(performance.now() - sent);
    } catch {
      errors++;
      resync ??= resynced().finally(() => (resync = null));
    } finally {
      inFlight--;
    }
  }
}

await Promise.all(Array.from({ length: spec.connections }, publisher));
const seconds = (performance.now() - started) / 1000;
await connection.close();
const sorted = latencies.subarray(0, count).sort();
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
