import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { type NatsCluster, startNats } from "../../test/nats-server.ts";
import type { CeilingSpec } from "../cluster-ceiling.ts";
import { BENCH_SCHEMA, TOPIC } from "./fixture.ts";
import type { LoadResult } from "./load-types.ts";
import { startServer, type ServerCommand, type ServerProcess } from "./server-process.ts";

/** Replicas of every stream of the cluster rows. */
export const CLUSTER_REPLICAS = 3;

/** One 3-node nats-server cluster for a whole section, and the runner's own connection to it. */
export interface ClusterRig {
  nats: NatsCluster;
  connection: NatsConnection;
  manager: JetStreamManager;
  /** The nats-servers' pids, for CPU accounting (they change when a server is restarted). */
  natsPids(): number[];
  stop(): Promise<void>;
}

export async function startClusterRig(): Promise<ClusterRig> {
  const nats = await startNats(3);
  try {
    const connection = await connect({ servers: nats.urls, name: "bench-runner" });
    const manager = await jetstreamManager(connection);
    return {
      nats,
      connection,
      manager,
      natsPids: () => nats.servers.map((server) => server.pid),
      async stop() {
        await connection.close();
        await nats.stop();
      },
    };
  } catch (error) {
    await nats.stop();
    throw error;
  }
}

/** Store nodes sharing one NATS_PREFIX: one store, several stateless nodes. */
export interface ClusterStore {
  prefix: string;
  stream: string;
  subject: string;
  nodes: ServerProcess[];
  /** Starts one more node of this store. */
  addNode(): Promise<ServerProcess>;
  /** Stops the nodes and deletes the store's stream and buckets. */
  remove(): Promise<void>;
}

/**
 * Starts the first node of a fresh store (its own prefix) and creates the
 * bench topic through it. Node k is NODE_ID `<prefix>-<k>` (counting every
 * node started, restarts included), so `dispatcher` says which one delivers.
 */
export async function startClusterStore(rig: ClusterRig, command: ServerCommand, prefix: string, settings: Record<string, string> = {}): Promise<ClusterStore> {
  const env = { NATS_URL: rig.nats.urls.join(","), NATS_REPLICAS: String(CLUSTER_REPLICAS), NATS_PREFIX: prefix, ...settings };
  let started = 0;
  const store: ClusterStore = {
    prefix,
    stream: `${prefix}_events`,
    subject: `${prefix}.batches`,
    nodes: [],
    async addNode() {
      const node = await startServer(command, { ...env, NODE_ID: `${prefix}-${started++}` });
      store.nodes.push(node);
      return node;
    },
    async remove() {
      await Promise.all(store.nodes.map((node) => node.stop()));
      for (const name of [store.stream, `KV_${prefix}_topics`, `KV_${prefix}_consumers`, `KV_${prefix}_leases`, `OBJ_${prefix}_index`]) {
        await rig.manager.streams.delete(name).catch(() => false); // absent: nothing to free
      }
    },
  };
  const first = await store.addNode();
  const res = await fetch(`${first.url}/topics`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: TOPIC, schemas: [BENCH_SCHEMA] }),
  });
  if (res.status !== 201) throw new Error(`POST /topics on the cluster answered ${res.status}: ${await res.text()}`);
  return store;
}

/** What the ceiling publisher needs from a store: its last batch message and a stream configured like the store's. */
export interface CeilingTarget {
  spec: Omit<CeilingSpec, "connections" | "durationS">;
  /** Bytes of the copied message: body, and ES-* headers as name: value. */
  bodyBytes: number;
  headerBytes: number;
  remove(): Promise<void>;
}

/**
 * Copies the store's last batch message (so the ceiling publishes exactly our
 * message sizes) and creates `<prefix>_ceiling` with the store stream's config.
 */
export async function ceilingTarget(rig: ClusterRig, store: ClusterStore): Promise<CeilingTarget> {
  const last = await rig.manager.direct.getMessage(store.stream, { last_by_subj: store.subject });
  if (last === null) throw new Error(`${store.stream} holds no batch message to copy`);
  const headers: Record<string, string> = {};
  for (const name of last.header.keys()) if (name.startsWith("ES-")) headers[name] = last.header.get(name);
  const config = (await rig.manager.streams.info(store.stream)).config;
  const stream = `${store.prefix}_ceiling`;
  const subject = `${store.prefix}.ceiling`;
  await rig.manager.streams.add({ ...config, name: stream, subjects: [subject] });
  return {
    spec: { servers: rig.nats.urls, stream, subject, bodyBase64: Buffer.from(last.data).toString("base64"), headers },
    bodyBytes: last.data.length,
    headerBytes: Object.entries(headers).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0),
    remove: async () => void (await rig.manager.streams.delete(stream).catch(() => false)),
  };
}

/** One run of bench/cluster-ceiling.ts; `generatorCpuS` is the publisher's own CPU (it is the process under test). */
export async function runCeiling(spec: CeilingSpec): Promise<LoadResult> {
  const child = Bun.spawn([process.execPath, "run", join(import.meta.dir, "..", "cluster-ceiling.ts"), JSON.stringify(spec)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const line = stdout.split("\n").find((l) => l.startsWith("LOAD_JSON "));
  if (code !== 0 || line === undefined) throw new Error(`bench/cluster-ceiling.ts failed (exit ${code}): ${stderr || stdout}`);
  const result = JSON.parse(line.slice("LOAD_JSON ".length)) as Omit<LoadResult, "generatorCpuS">;
  return { ...result, generatorCpuS: Number(child.resourceUsage()?.cpuTime.total ?? 0) / 1e6 };
}

/**
 * The load of several generators run side by side (one per store node) as
 * one result: counts and rates add up; latencies are the worst generator's
 * (percentiles of separate runs cannot be merged exactly).
 */
export function combineLoads(results: readonly LoadResult[]): LoadResult {
  return {
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    seconds: Math.max(...results.map((r) => r.seconds)),
    rps: results.reduce((sum, r) => sum + r.rps, 0),
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    maxMs: Math.max(...results.map((r) => r.maxMs)),
    generatorCpuS: results.reduce((sum, r) => sum + r.generatorCpuS, 0),
  };
}
