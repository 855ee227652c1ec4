/**
 * Cluster mode, in process: how long a node takes to open over N stored
 * single-event batch messages (R1, one nats-server), replaying every
 * message's headers (no checkpoint) and loading the index checkpoint then
 * replaying only the tail after it. Every 10th batch carries an
 * idempotency key, so the snapshot holds keys too.
 * `bun run bench/nats-startup.ts [--batches 50000] [--tail 100] [--runs 3]`
 */
import { jetstream } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { connect } from "@nats-io/transport-node";
import { openNatsBackend } from "../src/backends/nats/nats-backend.ts";
import type { NatsEventLog } from "../src/backends/nats/nats-event-log.ts";
import { startNats } from "../test/nats-server.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const batches = arg("--batches", 50_000);
const tail = arg("--tail", 100);
const runs = arg("--runs", 3);
const NEVER = Number.MAX_SAFE_INTEGER;
const nats = await startNats(1);
const open = (checkpointEvery: number) => openNatsBackend({ servers: nats.urls, replicas: 1, prefix: "startup", checkpointEvery });
const event = (i: number) => ({ topic: `t${i % 50}`, type: "e", payloadJson: JSON.stringify({ n: i, text: "x".repeat(100) }) });

/** The median of `runs` opens, each closed again; with the last open's replay counts. */
async function timeOpen(label: string): Promise<void> {
  const times: number[] = [];
  let log: NatsEventLog | null = null;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const backend = await open(NEVER);
    times.push(performance.now() - started);
    log = backend.log as NatsEventLog;
    await backend.close();
  }
  times.sort((a, b) => a - b);
  console.log(`${label}: open ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms (median of ${runs}: ${times.map((t) => t.toFixed(0)).join(", ")}), checkpoint at ${log!.checkpointSeq}, ${log!.replayedAtOpen} messages replayed`);
}

try {
  // One caller at a time, so each batch is its own message (concurrent plain batches would be grouped).
  const writer = await open(NEVER);
  let started = performance.now();
  for (let i = 0; i < batches; i++) await writer.log.append([event(i)], i % 10 === 0 ? { key: `key-${i}`, hash: "h" } : undefined);
  await writer.close();
  console.log(`stored ${batches} single-event batch messages in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  await timeOpen(`R1, ${batches} batches, no checkpoint`);

  // A node with the default N writes a checkpoint right after its replay (it applied ≥ N past none).
  started = performance.now();
  const checkpointer = await open(10_000);
  const connection = await connect({ servers: nats.urls });
  const store = await new Objm(jetstream(connection)).open("startup_index");
  let info = await store.info("batch-index");
  while (info === null) {
    await Bun.sleep(5);
    info = await store.info("batch-index");
  }
  console.log(`checkpoint at ${info.metadata?.seq}: ${info.size} bytes (${info.chunks} chunks), stored ${(performance.now() - started).toFixed(0)} ms after the node started opening`);
  for (let i = 0; i < tail; i++) await checkpointer.log.append([event(batches + i)]);
  await checkpointer.close();
  await connection.close();

  await timeOpen(`R1, ${batches + tail} batches, checkpoint + ${tail}-message tail`);
} finally {
  await nats.stop();
}
