import { topicHead } from "../lib/api.ts";
import type { BenchContext } from "../lib/context.ts";
import { TOPIC, createStore, publishItem, type StoreDirs } from "../lib/fixture.ts";
import { int, ms, percent, renderTable } from "../lib/format.ts";
import { cpuMeter } from "../lib/proc.ts";
import { seedStore } from "../lib/seed.ts";
import { startServer, type ServerProcess } from "../lib/server-process.ts";
import { percentile, sortedCopy } from "../lib/stats.ts";
import { type DeliveryHandler, startSink } from "../lib/webhook-sink.ts";

export interface LatencyRow {
  consumers: number;
  /** Publish request sent → webhook received, over every (event, consumer) pair. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  delivered: number;
  expected: number;
}

export interface DeliveryResult {
  available: boolean;
  /** Why not, when not available. */
  reason?: string;
  latency: LatencyRow[];
  idleCpuPct?: number;
  idleConsumers?: number;
  catchUp?: { events: number; delivered: number; ms: number; eventsPerS: number };
}

const DELIVERY_DEADLINE_MS = 30_000;
const CATCH_UP_DEADLINE_MS = 180_000;

/** Routes deliveries to whichever measurement is running; the sink lives for the whole section. */
export class Deliveries {
  handler: DeliveryHandler = () => {};
  readonly onDelivery: DeliveryHandler = (consumer, sequences, at) => this.handler(consumer, sequences, at);
}

export async function runDelivery(ctx: BenchContext): Promise<DeliveryResult> {
  const deliveries = new Deliveries();
  const sink = startSink(deliveries.onDelivery);
  const store = createStore("delivery");
  let server: ServerProcess | null = await startServer(ctx.ours, store.env);
  try {
    const probe = await register(server.url, `${sink.url}/c/0`);
    if (probe !== 201) return { available: false, reason: `POST /consumers/register answered ${probe}`, latency: [] };
    // The probe is consumer 0 of the first latency row: it was registered with the same callback.
    const result: DeliveryResult = { available: true, latency: [] };
    let registered = 1;
    for (const consumers of ctx.plan.delivery.consumerCounts) {
      ctx.progress(`delivery: latency with ${consumers} consumer(s)`);
      for (; registered < consumers; registered++) {
        const status = await register(server.url, `${sink.url}/c/${registered}`);
        if (status !== 201) throw new Error(`registering consumer ${registered} answered ${status}`);
      }
      result.latency.push(await measureLatency(ctx, server.url, consumers, deliveries));
    }
    ctx.progress(`delivery: idle CPU with ${registered} consumers`);
    deliveries.handler = () => {};
    await Bun.sleep(1000); // let the last deliveries and cursor writes settle
    const cpu = cpuMeter(server.pid);
    await Bun.sleep(ctx.plan.delivery.idleSeconds * 1000);
    result.idleCpuPct = cpu();
    result.idleConsumers = registered;
    await server.stop();
    server = null;

    ctx.progress(`delivery: catch-up of ${int(ctx.plan.delivery.catchUpEvents)} events`);
    result.catchUp = await measureCatchUp(ctx, sink.url, deliveries);
    return result;
  } finally {
    await server?.stop();
    store.remove();
    sink.stop();
  }
}

/** Registers a consumer of the bench topic from `after` (the last event it has processed; null: from the start). */
export async function register(url: string, callback: string, after: string | null = null): Promise<number> {
  const res = await fetch(`${url}/consumers/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ callback, topics: { [TOPIC]: after } }),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Publishes events one at a time with a pause between them and times each
 * from the moment its POST was sent to its arrival at each consumer.
 */
export async function measureLatency(ctx: BenchContext, url: string, consumers: number, deliveries: Deliveries): Promise<LatencyRow> {
  const { latencyEvents: count, latencyGapMs } = ctx.plan.delivery;
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const seen = new Set<string>();
  const expected = count * consumers;
  const { promise: allDelivered, resolve } = Promise.withResolvers<void>();
  deliveries.handler = (consumer, sequences, at) => {
    for (const sequence of sequences) {
      const sent = sentAt.get(sequence);
      const key = `${consumer}:${sequence}`;
      // Events from earlier rows (re-sent to new consumers) and duplicates are not this row's.
      if (sent === undefined || seen.has(key)) continue;
      seen.add(key);
      latencies.push(at - sent);
    }
    if (latencies.length >= expected) resolve();
  };
  // Sequences are known before publishing (this runner is the only publisher): a webhook
  // can arrive before the 201 does, so its send time must already be recorded.
  const head = await topicHead(url);
  for (let i = 1; i <= count; i++) {
    sentAt.set(head + i, performance.now());
    const res = await fetch(`${url}/events`, { method: "POST", headers: { "content-type": "application/json" }, body: `[${publishItem(i)}]` });
    const { eventIds } = (await res.json()) as { eventIds: string[] };
    if (eventIds[0] !== `${TOPIC}-${head + i}`) throw new Error(`published ${eventIds[0]}, expected ${TOPIC}-${head + i}`);
    await Bun.sleep(latencyGapMs);
  }
  await Promise.race([allDelivered, Bun.sleep(DELIVERY_DEADLINE_MS)]);
  deliveries.handler = () => {};
  const sorted = sortedCopy(latencies);
  return {
    consumers,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: percentile(sorted, 100),
    delivered: latencies.length,
    expected,
  };
}

/** A consumer registered with `null` on a seeded store: how fast it is brought up to the head. */
async function measureCatchUp(ctx: BenchContext, sinkUrl: string, deliveries: Deliveries): Promise<DeliveryResult["catchUp"]> {
  const events = ctx.plan.delivery.catchUpEvents;
  const store: StoreDirs = createStore("catch-up");
  try {
    await seedStore(store.dataDir, events);
    const server = await startServer(ctx.ours, store.env);
    try {
      let highest = 0;
      const { promise: caughtUp, resolve } = Promise.withResolvers<void>();
      deliveries.handler = (_consumer, sequences) => {
        for (const sequence of sequences) if (sequence > highest) highest = sequence;
        if (highest >= events) resolve();
      };
      const started = performance.now();
      const status = await register(server.url, `${sinkUrl}/c/0`);
      if (status !== 201) throw new Error(`registering the catch-up consumer answered ${status}`);
      await Promise.race([caughtUp, Bun.sleep(CATCH_UP_DEADLINE_MS)]);
      const elapsed = performance.now() - started;
      deliveries.handler = () => {};
      return { events, delivered: highest, ms: elapsed, eventsPerS: highest / (elapsed / 1000) };
    } finally {
      await server.stop();
    }
  } finally {
    store.remove();
  }
}

export function deliveryTable(result: DeliveryResult): string {
  if (!result.available) return `Delivery: n/a (consumers not available: ${result.reason})`;
  const rows: string[][] = result.latency.map((r) => [
    `publish → webhook, ${r.consumers} consumer(s)`,
    `p50 ${ms(r.p50Ms)} ms, p99 ${ms(r.p99Ms)} ms, max ${ms(r.maxMs)} ms`,
    `${int(r.delivered)}/${int(r.expected)} delivered`,
  ]);
  if (result.catchUp) {
    const c = result.catchUp;
    rows.push([`catch-up from null over ${int(c.events)} events`, `${int(c.eventsPerS)} ev/s`, `${int(c.delivered)} in ${(c.ms / 1000).toFixed(2)} s`]);
  }
  rows.push([`idle CPU, ${result.idleConsumers} consumers, no traffic`, percent(result.idleCpuPct), "of one core"]);
  return renderTable("Delivery", ["row", "result", "notes"], rows);
}
