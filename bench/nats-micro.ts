/**
 * Cluster mode, in process: append latency of the JetStream backend on a
 * real nats-server (R1, or R3 with `--r3`), sequential and 16 concurrent, and the start-up
 * cost of a node opening over N stored batches (the headers-only replay).
 * `bun run bench/nats-micro.ts [--r3] [--batches 20000]`
 */
import { openNatsBackend } from "../src/backends/nats/nats-backend.ts";
import { startNats } from "../test/nats-server.ts";

const r3 = process.argv.includes("--r3");
const batchesArg = process.argv.indexOf("--batches");
const stored = batchesArg > 0 ? Number(process.argv[batchesArg + 1]) : 20_000;
const nats = await startNats(r3 ? 3 : 1);
const replicas = r3 ? 3 : 1;
try {
  const backend = await openNatsBackend({ servers: nats.urls, replicas, prefix: "bench" });
  const event = { topic: "t", type: "e", payloadJson: JSON.stringify({ n: 1, text: "x".repeat(100) }) };
  const samples: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const started = performance.now();
    await backend.log.append([event]);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.floor(samples.length * p)]!.toFixed(3);
  console.log(`R${replicas} append 1 event, sequential: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
  let started = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = 0; i < 125; i++) await backend.log.append([event]);
  }));
  console.log(`R${replicas} append 1 event, 16 concurrent callers: ${(2_000 / ((performance.now() - started) / 1000)).toFixed(0)} batches/s`);
  started = performance.now();
  for (let i = 0; i < 200; i++) await backend.log.append(Array.from({ length: 100 }, () => event));
  console.log(`R${replicas} append 100-event batches: ${((performance.now() - started) / 200).toFixed(3)} ms each`);
  started = performance.now();
  for (let i = 0; i < 1_000; i++) await backend.log.read("t", { after: 4_000 + i, limit: 100 });
  console.log(`R${replicas} read 100 events (1-event batches): ${((performance.now() - started) / 1_000).toFixed(3)} ms each`);
  const more = stored - 4_200;
  const filler = Array.from({ length: 16 }, async (_, w) => {
    for (let i = w; i < more; i += 16) await backend.log.append([{ ...event, topic: `t${i % 50}` }]);
  });
  await Promise.all(filler);
  await backend.close();
  started = performance.now();
  const reopened = await openNatsBackend({ servers: nats.urls, replicas, prefix: "bench" });
  console.log(`R${replicas} open over ${stored} stored batches (headers-only replay): ${(performance.now() - started).toFixed(0)} ms`);
  await reopened.close();
} finally {
  await nats.stop();
}
