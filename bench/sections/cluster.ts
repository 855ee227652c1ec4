import { natsServerBinary } from "../../test/nats-server.ts";
import { topicHead } from "../lib/api.ts";
import { type CeilingTarget, ceilingTarget, type ClusterRig, type ClusterStore, combineLoads, runCeiling, startClusterRig, startClusterStore } from "../lib/cluster-rig.ts";
import type { BenchContext } from "../lib/context.ts";
import { TOPIC, publishItem } from "../lib/fixture.ts";
import { int, ms, percent, renderTable } from "../lib/format.ts";
import { type MeasuredLoad, quietestOf, runLoad, runMeasuredLoad } from "../lib/load.ts";
import type { LoadSpec } from "../lib/load-types.ts";
import type { PublishCase } from "../lib/plan.ts";
import { runCpuMeter } from "../lib/proc.ts";
import { median, percentile } from "../lib/stats.ts";
import { DEFAULT_CLUSTER_LEASE_MS } from "../../src/store/dispatch-leases.ts";
import { startSink } from "../lib/webhook-sink.ts";
import { Deliveries, type LatencyRow, measureLatency, register } from "./delivery.ts";

/** The HTTP loads of the cluster rows; each runs through 1 and through 2 store nodes. */
const CLUSTER_CASES: PublishCase[] = [
  { label: "1 event/req, 16 conns", connections: 16, batch: 1 },
  { label: "1 event/req, 64 conns", connections: 64, batch: 1 },
  { label: "100 events/req, 16 conns", connections: 16, batch: 100 },
];
const STORE_NODES = [1, 2] as const;
const TAIL_PAGE = 10;
/** The read rows' store: this many events in 100-event batches, then TAIL_EVENTS one per batch, so a tail page is TAIL_PAGE batch messages. */
const READ_BULK_EVENTS = 9_900;
const TAIL_EVENTS = 100;

export interface ClusterSample {
  /** Medians over the measured runs. */
  eventsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Store nodes' CPU (ours) or the bare publisher's (ceiling), % of one core. */
  cpuPct: number;
  /** The three nats-servers' CPU, % of one core. */
  natsCpuPct: number;
  noiseCpuPct: number;
  errors: number;
  runs: MeasuredLoad[];
}

export interface ClusterPublishRow extends PublishCase {
  storeNodes: number;
  ours: ClusterSample;
  ceiling: ClusterSample;
  /** Median over the measured pairs of ours ÷ ceiling, each pair run back to back. */
  ratio: number;
  /** The copied batch message the ceiling published. */
  messageBodyBytes: number;
  messageHeaderBytes: number;
}

export interface ClusterTailRead {
  connections: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  serverCpuPct: number;
  natsCpuPct: number;
  noiseCpuPct: number;
  runs: MeasuredLoad[];
}

/** Consumer takeover after a store node is kill -9'd; see measureConsumerTakeover. */
export interface TakeoverRow {
  p50Ms: number;
  p99Ms: number;
  samples: number;
}

export interface ClusterResult {
  available: boolean;
  reason?: string;
  replicas: number;
  publish: ClusterPublishRow[];
  read?: { storedEvents: number; tail: ClusterTailRead[] };
  delivery?: LatencyRow | { unavailable: string };
  takeover?: TakeoverRow;
}

/**
 * Cluster mode on one 3-node nats-server cluster (R3) for the whole section:
 * publish through 1 and 2 store nodes against a bare JetStream publisher
 * (bench/cluster-ceiling.ts) in paired runs, tail reads, and publish →
 * webhook latency. Every row uses a fresh store (its own NATS_PREFIX).
 */
export async function runCluster(ctx: BenchContext): Promise<ClusterResult> {
  const empty = { replicas: 3, publish: [] };
  if (natsServerBinary() === null) return { ...empty, available: false, reason: "nats-server is not installed (apt-get install -y nats-server)" };
  ctx.progress("cluster: starting 3 nats-servers");
  const rig = await startClusterRig();
  try {
    const result: ClusterResult = { ...empty, available: true };
    let stores = 0;
    for (const c of CLUSTER_CASES) {
      for (const storeNodes of STORE_NODES) {
        ctx.progress(`cluster: publish ${c.label}, ${storeNodes} store node(s)`);
        result.publish.push(await publishRow(ctx, rig, `benchc${++stores}`, c, storeNodes));
      }
    }
    const store = await startClusterStore(rig, ctx.ours, `benchc${++stores}`);
    try {
      result.read = await tailReads(ctx, rig, store);
      result.delivery = await webhookLatency(ctx, store);
    } finally {
      await store.remove();
    }
    const takeover = await measureConsumerTakeover(ctx, rig);
    if (takeover !== null) result.takeover = takeover;
    return result;
  } finally {
    await rig.stop();
  }
}

/** kill -9s of the dispatching node in the takeover row. */
const TAKEOVER_SAMPLES = 3;

/**
 * Consumer takeover after kill -9, at the default CLUSTER_LEASE_MS: two
 * store nodes, a consumer dispatched by one of them (`dispatcher` names it),
 * events published through the other every 50 ms; the dispatcher is
 * SIGKILLed and the row is the time until the next webhook arrives, which
 * only the surviving node can send. The killed node is started again before
 * the next sample, so each sample kills whichever node dispatches by then.
 */
async function measureConsumerTakeover(ctx: BenchContext, rig: ClusterRig): Promise<TakeoverRow | null> {
  ctx.progress(`cluster: consumer takeover after kill -9 (${TAKEOVER_SAMPLES} kills, CLUSTER_LEASE_MS=${DEFAULT_CLUSTER_LEASE_MS})`);
  const store = await startClusterStore(rig, ctx.ours, `bench_takeover_${Date.now()}`);
  const arrivals: number[] = [];
  const sink = startSink((_consumer, _sequences, receivedAt) => arrivals.push(receivedAt));
  try {
    await store.addNode();
    const first = store.nodes[0]!;
    const answer = await fetch(`${first.url}/consumers/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ callback: `${sink.url}/c/0`, topics: { [TOPIC]: null } }),
    });
    if (answer.status !== 201) throw new Error(`POST /consumers/register answered ${answer.status}: ${await answer.text()}`);
    const { consumerId } = (await answer.json()) as { consumerId: string };
    const samples: number[] = [];
    let n = 0;
    for (let sample = 0; sample < TAKEOVER_SAMPLES; sample++) {
      const dispatcher = await dispatcherOf(store, consumerId);
      const victim = store.nodes.find((node) => node.url === dispatcher)!;
      const survivor = store.nodes.find((node) => node !== victim)!;
      // Counted before the publish: its delivery may arrive before the publish's own answer.
      const seen = arrivals.length;
      await publishOne(survivor.url, ++n);
      await waitFor(() => arrivals.length > seen, 30_000, "a delivery before the kill");
      await victim.kill();
      const killedAt = performance.now();
      const before = arrivals.length;
      while (arrivals.length === before) {
        if (performance.now() - killedAt > 6 * DEFAULT_CLUSTER_LEASE_MS) throw new Error("no delivery after the kill within 6 leases");
        await publishOne(survivor.url, ++n);
        await Bun.sleep(50);
      }
      samples.push(arrivals[before]! - killedAt);
      store.nodes.splice(store.nodes.indexOf(victim), 1);
      await store.addNode();
    }
    const sorted = [...samples].sort((a, b) => a - b);
    return { p50Ms: median(samples), p99Ms: percentile(sorted, 99), samples: samples.length };
  } finally {
    sink.stop();
    await store.remove();
  }
}

/** The URL of the node whose NODE_ID (its `node` in GET /health) `GET /consumers/{id}` names as the dispatcher. */
async function dispatcherOf(store: ClusterStore, consumerId: string): Promise<string> {
  const getJson = async (url: string) => (await fetch(url)).json() as Promise<Record<string, unknown>>;
  const ids = await Promise.all(store.nodes.map(async (node) => (await getJson(`${node.url}/health`)).node));
  const deadline = performance.now() + 3 * DEFAULT_CLUSTER_LEASE_MS;
  for (;;) {
    const { dispatcher } = await getJson(`${store.nodes[0]!.url}/consumers/${consumerId}`);
    const index = ids.indexOf(dispatcher);
    if (index >= 0) return store.nodes[index]!.url;
    if (performance.now() > deadline) throw new Error(`no node holds consumer ${consumerId}'s lease`);
    await Bun.sleep(100);
  }
}

function publishOne(url: string, n: number): Promise<void> {
  return publishBatch(url, 1, n);
}

/** One POST /events of `size` bench events. */
async function publishBatch(url: string, size: number, first = 1): Promise<void> {
  const items = Array.from({ length: size }, (_, i) => publishItem(first + i));
  const res = await fetch(`${url}/events`, { method: "POST", headers: { "content-type": "application/json" }, body: `[${items.join(",")}]` });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`POST /events answered ${res.status}`);
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

async function publishRow(ctx: BenchContext, rig: ClusterRig, prefix: string, c: PublishCase, storeNodes: number): Promise<ClusterPublishRow> {
  const store = await startClusterStore(rig, ctx.ours, prefix);
  let ceiling: CeilingTarget | null = null;
  try {
    while (store.nodes.length < storeNodes) await store.addNode();
    const ours = (durationS: number) => oursLoad(ctx, rig, store, c, durationS);
    await ours(ctx.plan.warmupS);
    // One request of the row's shape, alone (under load a node packs the batches waiting for it into one
    // message): the ceiling publishes one such message per request, the bytes our node wrote for it.
    await publishBatch(store.nodes[0]!.url, c.batch);
    ceiling = await ceilingTarget(rig, store);
    const target = ceiling;
    const ceilingRun = (durationS: number) => ceilingLoad(ctx, rig, target, c, durationS);
    await ceilingRun(ctx.plan.warmupS);
    const oursRuns: MeasuredLoad[] = [];
    const ceilingRuns: MeasuredLoad[] = [];
    for (let r = 0; r < ctx.plan.repeats; r++) {
      const pair = [async () => oursRuns.push(await ours(ctx.plan.durationS)), async () => ceilingRuns.push(await ceilingRun(ctx.plan.durationS))];
      for (const run of r % 2 === 0 ? pair : pair.reverse()) await run();
    }
    return {
      ...c,
      storeNodes,
      ours: summarize(oursRuns, c.batch),
      ceiling: summarize(ceilingRuns, c.batch),
      ratio: median(oursRuns.map((run, i) => run.rps / ceilingRuns[i]!.rps)),
      messageBodyBytes: ceiling.bodyBytes,
      messageHeaderBytes: ceiling.headerBytes,
    };
  } finally {
    await store.remove();
    await ceiling?.remove();
  }
}

/** The HTTP load split evenly over the store's nodes, one load generator per node, all at once. */
function oursLoad(ctx: BenchContext, rig: ClusterRig, store: ClusterStore, c: PublishCase, durationS: number): Promise<MeasuredLoad> {
  const nodes = store.nodes;
  return quietestOf(ctx.plan.maxAttempts, async () => {
    const meter = runCpuMeter(nodes.map((node) => node.pid), { helperPids: rig.natsPids() });
    const results = await Promise.all(
      nodes.map((node, i) => {
        const share = Math.floor(c.connections / nodes.length) + (i < c.connections % nodes.length ? 1 : 0);
        const spec: LoadSpec = { baseUrl: node.url, kind: "publish", topic: TOPIC, batch: c.batch, connections: share, durationS };
        return runLoad(ctx.generator, spec);
      }),
    );
    return { ...combineLoads(results), cpu: meter() };
  });
}

function ceilingLoad(ctx: BenchContext, rig: ClusterRig, target: CeilingTarget, c: PublishCase, durationS: number): Promise<MeasuredLoad> {
  return quietestOf(ctx.plan.maxAttempts, async () => {
    // The publisher is a child that exits with the run: its CPU is the runner's (reaped children), not noise.
    const meter = runCpuMeter([], { helperPids: rig.natsPids() });
    const result = await runCeiling({ ...target.spec, connections: c.connections, durationS });
    const cpu = meter();
    return { ...result, cpu: { ...cpu, serverPct: (result.generatorCpuS / result.seconds) * 100 } };
  });
}

function summarize(runs: MeasuredLoad[], batch: number): ClusterSample {
  return {
    eventsPerS: median(runs.map((r) => r.rps * batch)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuPct: median(runs.map((r) => r.cpu.serverPct)),
    natsCpuPct: median(runs.map((r) => r.cpu.helpersPct)),
    noiseCpuPct: median(runs.map((r) => r.cpu.noisePct)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    runs,
  };
}

async function post(url: string, items: string[]): Promise<void> {
  const res = await fetch(`${url}/events`, { method: "POST", headers: { "content-type": "application/json" }, body: `[${items.join(",")}]` });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`seeding the cluster store: POST /events answered ${res.status}`);
}

/** Tail pages through one node, as the read section does for the file store, at each of the plan's connection counts. */
async function tailReads(ctx: BenchContext, rig: ClusterRig, store: ClusterStore): Promise<NonNullable<ClusterResult["read"]>> {
  const node = store.nodes[0]!;
  ctx.progress(`cluster: seeding ${int(READ_BULK_EVENTS + TAIL_EVENTS)} events`);
  let n = 0;
  const next = (count: number) => Array.from({ length: count }, () => publishItem(++n));
  for (let i = 0; i < READ_BULK_EVENTS / 100; i++) await post(node.url, next(100));
  for (let i = 0; i < TAIL_EVENTS; i++) await post(node.url, next(1));
  const head = await topicHead(node.url);
  const path = `/topics/${TOPIC}/events?sinceEventId=${TOPIC}-${head - TAIL_PAGE}&limit=${TAIL_PAGE}`;
  const page = (await (await fetch(node.url + path)).json()) as { events?: unknown[] };
  if (page.events?.length !== TAIL_PAGE) throw new Error(`GET ${path} answered ${page.events?.length} events, expected ${TAIL_PAGE}`);
  const tail: ClusterTailRead[] = [];
  for (const connections of ctx.plan.readConnections) {
    ctx.progress(`cluster: tail reads, ${connections} conn(s)`);
    const spec = { baseUrl: node.url, kind: "get" as const, path, topic: TOPIC, batch: 0, connections };
    await runLoad(ctx.generator, { ...spec, durationS: ctx.plan.warmupS });
    const runs: MeasuredLoad[] = [];
    for (let r = 0; r < ctx.plan.repeats; r++) {
      runs.push(await runMeasuredLoad(ctx.generator, { ...spec, durationS: ctx.plan.durationS }, node.pid, ctx.plan.maxAttempts, { helperPids: rig.natsPids() }));
    }
    tail.push({
      connections,
      rps: median(runs.map((r) => r.rps)),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
      serverCpuPct: median(runs.map((r) => r.cpu.serverPct)),
      natsCpuPct: median(runs.map((r) => r.cpu.helpersPct)),
      noiseCpuPct: median(runs.map((r) => r.cpu.noisePct)),
      runs,
    });
  }
  return { storedEvents: head, tail };
}

/**
 * One consumer, registered at the head with a receiver in this process, on the
 * store's only node: publish → webhook as in the delivery section.
 */
async function webhookLatency(ctx: BenchContext, store: ClusterStore): Promise<LatencyRow | { unavailable: string }> {
  ctx.progress("cluster: publish → webhook latency");
  const node = store.nodes[0]!;
  const deliveries = new Deliveries();
  const sink = startSink(deliveries.onDelivery);
  try {
    const status = await register(node.url, `${sink.url}/c/0`, `${TOPIC}-${await topicHead(node.url)}`);
    if (status !== 201) return { unavailable: `POST /consumers/register answered ${status}` };
    return await measureLatency(ctx, node.url, 1, deliveries);
  } finally {
    sink.stop();
  }
}

export function clusterTable(result: ClusterResult): string {
  if (!result.available) return `Cluster: n/a (${result.reason})`;
  const publish = renderTable(
    `Cluster publish, 3 nats-servers, R${result.replicas} (events/s; latency per request, ms; CPU % of one core: ours = store nodes, ceiling = bare JetStream publisher, nats = the 3 nats-servers; noise = other processes + steal)`,
    ["case", "nodes", "ours ev/s", "p50", "p99", "CPU", "nats", "ceiling ev/s", "p50", "p99", "CPU", "nats", "ours÷ceiling (paired)", "errors", "noise"],
    result.publish.map((r) => [
      r.label,
      String(r.storeNodes),
      int(r.ours.eventsPerS),
      ms(r.ours.p50Ms),
      ms(r.ours.p99Ms),
      percent(r.ours.cpuPct),
      percent(r.ours.natsCpuPct),
      int(r.ceiling.eventsPerS),
      ms(r.ceiling.p50Ms),
      ms(r.ceiling.p99Ms),
      percent(r.ceiling.cpuPct),
      percent(r.ceiling.natsCpuPct),
      `${r.ratio.toFixed(2)}×`,
      String(r.ours.errors + r.ceiling.errors),
      percent(Math.max(r.ours.noiseCpuPct, r.ceiling.noiseCpuPct)),
    ]),
  );
  const tables = [publish];
  if (result.read) {
    const connections = result.read.tail.map((t) => t.connections);
    tables.push(
      renderTable(
        `Cluster tail read through 1 node: GET /topics/${TOPIC}/events?sinceEventId=<head-${TAIL_PAGE}>&limit=${TAIL_PAGE}, the page = ${TAIL_PAGE} one-event batch messages (latency ms)`,
        ["stored events", ...connections.flatMap((c) => [`req/s @${c}`, "p50", "p99", "CPU", "nats"]), "errors", "noise"],
        [[
          int(result.read.storedEvents),
          ...result.read.tail.flatMap((t) => [int(t.rps), ms(t.p50Ms), ms(t.p99Ms), percent(t.serverCpuPct), percent(t.natsCpuPct)]),
          String(result.read.tail.reduce((sum, t) => sum + t.errors, 0)),
          percent(Math.max(...result.read.tail.map((t) => t.noiseCpuPct))),
        ]],
      ),
    );
  }
  const rows: string[][] = [];
  const d = result.delivery;
  if (d !== undefined && "unavailable" in d) rows.push(["publish → webhook, 1 consumer, 1 node", "n/a", d.unavailable]);
  else if (d !== undefined) rows.push(["publish → webhook, 1 consumer, 1 node", `p50 ${ms(d.p50Ms)} ms, p99 ${ms(d.p99Ms)} ms, max ${ms(d.maxMs)} ms`, `${int(d.delivered)}/${int(d.expected)} delivered`]);
  if (result.takeover) rows.push(["consumer takeover after kill -9", `p50 ${ms(result.takeover.p50Ms)} ms, p99 ${ms(result.takeover.p99Ms)} ms`, `${result.takeover.samples} kills`]);
  if (rows.length > 0) tables.push(renderTable("Cluster delivery", ["row", "result", "notes"], rows));
  return tables.join("\n\n");
}
