import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, nanos, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { DiscardPolicy, jetstream, jetstreamManager, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { DEFAULT_IDEMPOTENCY_TTL_MS } from "../../log/idempotency-keys.ts";
import type { ClusterView, StoreBackend } from "../../store/backend.ts";
import { DEFAULT_CLUSTER_LEASE_MS } from "../../store/dispatch-leases.ts";
import type { GroupCommitStats } from "../../store/event-log.ts";
import { IndexCheckpoints } from "./index-checkpoints.ts";
import { NatsEventLog } from "./nats-event-log.ts";
import { NatsConsumerStore, NatsTopicStore } from "./nats-kv-stores.ts";
import { NatsLeases } from "./nats-leases.ts";

export interface NatsBackendOptions {
  /** `nats://host:port` of one or more servers of the cluster. */
  servers: readonly string[];
  /** Replicas of the stream and both buckets. @default 3 */
  replicas?: number;
  /** Names the stream (`<prefix>_events`) and buckets (`<prefix>_topics`, `<prefix>_consumers`, `<prefix>_leases`, the object store `<prefix>_index`). @default "event_store" */
  prefix?: string;
  /** Path of a `.creds` file. */
  credsFile?: string;
  token?: string;
  /** Path of a PEM CA file for TLS to the servers. */
  tlsCaFile?: string;
  /** ms since the epoch, for event timestamps. @default Date.now */
  clock?: () => number;
  /** Also the stream's duplicate window. @default DEFAULT_IDEMPOTENCY_TTL_MS */
  idempotencyTtlMs?: number;
  /** Per publish and per JetStream API call. @default DEFAULT_PUBLISH_TIMEOUT_MS */
  timeoutMs?: number;
  onGroupCommit?: (stats: GroupCommitStats) => void;
  /** This node's id, shown as the holder of the consumer leases it takes. @default "event-store" */
  nodeId?: string;
  /** A dead node's consumers are taken over within this (CLUSTER_LEASE_MS). @default DEFAULT_CLUSTER_LEASE_MS */
  leaseMs?: number;
  /** Lease changes and outages, index checkpoints ignored or not written. @default console.warn */
  report?: (message: string) => void;
  /** An index checkpoint is written after this many messages (tests set it low; not a user setting). @default DEFAULT_CHECKPOINT_EVERY */
  checkpointEvery?: number;
  /** At most one index checkpoint per this, per node. @default DEFAULT_CHECKPOINT_INTERVAL_MS */
  checkpointIntervalMs?: number;
}

/** How long `GET /health` waits for JetStream before calling it unreachable. */
const HEALTH_TIMEOUT_MS = 2_000;

/** The NATS client's options from the store's settings. */
export function connectionOptions(options: NatsBackendOptions): NodeConnectionOptions {
  return {
    servers: [...options.servers],
    name: "event-store",
    maxReconnectAttempts: -1,
    ...(options.token ? { token: options.token } : {}),
    ...(options.credsFile ? { authenticator: credsAuthenticator(readFileSync(options.credsFile)) } : {}),
    ...(options.tlsCaFile ? { tls: { caFile: options.tlsCaFile } } : {}),
  };
}

/** The batch stream: file storage, kept forever, duplicate window = the idempotency TTL, direct gets on. */
function streamConfig(name: string, subject: string, replicas: number, ttlMs: number): Partial<StreamConfig> {
  return {
    name,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    duplicate_window: nanos(ttlMs),
    allow_direct: true,
    max_msgs_per_subject: -1,
  };
}

async function ensureStream(manager: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await manager.streams.info(config.name);
  } catch {
    // Absent: create it. Two nodes creating it at once is fine, JetStream takes the same config twice.
    await manager.streams.add(config);
  }
}

/** How long a node keeps trying to set up its stream, buckets and index while JetStream does not answer (a server restarting, a leader being elected). */
const START_RETRY_MS = 60_000;
const TRANSIENT = /timeout|timed out|no responders|temporarily unavailable|no suitable peers|insufficient resources|leader/i;

/**
 * One start-up step, tried again every second while JetStream answers with
 * something that passes (a timeout, no leader yet, too few servers up), so a
 * node started during a nats-server's restart waits instead of exiting.
 * Anything else (a stream of the same name configured otherwise, say) fails at once.
 */
async function retrying<T>(what: string, step: () => Promise<T>, report: (message: string) => void): Promise<T> {
  const deadline = Date.now() + START_RETRY_MS;
  let reported = false;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      if (!TRANSIENT.test(message) || Date.now() > deadline) throw error;
      if (!reported) report(`cluster mode: JetStream did not answer while opening ${what} (${message}); retrying for up to ${START_RETRY_MS / 1000} s`);
      reported = true;
      await Bun.sleep(1_000);
    }
  }
}

/**
 * `NATS_URL` set: cluster mode. Events in one JetStream stream of batch
 * messages (see NatsEventLog), topics and consumers in KV buckets. The
 * node keeps nothing on disk.
 */
export async function openNatsBackend(options: NatsBackendOptions): Promise<StoreBackend> {
  const prefix = options.prefix ?? "event_store";
  const replicas = options.replicas ?? 3;
  const ttlMs = options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const connection: NatsConnection = await connect(connectionOptions(options));
  try {
    const manager = await jetstreamManager(connection, { timeout: options.timeoutMs ?? 5_000 });
    const js = jetstream(connection, { timeout: options.timeoutMs ?? 5_000 });
    const stream = `${prefix}_events`;
    const subject = `${prefix}.batches`;
    const report = options.report ?? ((message: string) => console.warn(message));
    await retrying(stream, () => ensureStream(manager, { name: stream, ...streamConfig(stream, subject, replicas, ttlMs) }), report);
    const kvm = new Kvm(js);
    const topicsBucket = `${prefix}_topics`;
    const bucket = (name: string, extra: { ttl?: number } = {}) =>
      retrying(name, () => kvm.create(name, { replicas, history: 1, storage: StorageType.File, ...extra }), report);
    const topicsKv = await bucket(topicsBucket);
    const consumersKv = await bucket(`${prefix}_consumers`);
    const checkpoints = new IndexCheckpoints({
      store: await retrying(`${prefix}_index`, () => new Objm(js).create(`${prefix}_index`, { replicas, storage: StorageType.File }), report),
      report,
      ...(options.checkpointEvery !== undefined ? { every: options.checkpointEvery } : {}),
      ...(options.checkpointIntervalMs !== undefined ? { intervalMs: options.checkpointIntervalMs } : {}),
    });
    const log = await retrying("the event index", () => NatsEventLog.open({
      connection,
      jetstream: js,
      manager,
      stream,
      subject,
      idempotencyTtlMs: ttlMs,
      checkpoints,
      ...(options.timeoutMs ? { publishTimeoutMs: options.timeoutMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.onGroupCommit ? { onGroupCommit: options.onGroupCommit } : {}),
    }), report);
    const consumers = await retrying("the consumers", () => NatsConsumerStore.open(consumersKv), report);
    // The entry's age is the server's clock: a lease lives 0.75 × leaseMs after its last renewal (see NatsLeases).
    const leaseMs = options.leaseMs ?? DEFAULT_CLUSTER_LEASE_MS;
    const leasesKv = await bucket(`${prefix}_leases`, { ttl: Math.round(leaseMs * 0.75) });
    const leases = new NatsLeases({
      kv: leasesKv,
      nodeId: options.nodeId ?? "event-store",
      // The bucket's own TTL: an existing bucket keeps the one it was created with.
      ttlMs: (await retrying(`${prefix}_leases`, () => leasesKv.status(), report)).ttl,
      report,
      beforeGain: (id) => consumers.refresh(id),
    });
    const healthManager = await jetstreamManager(connection, { timeout: HEALTH_TIMEOUT_MS });
    let closing: Promise<void> | null = null;
    return {
      kind: "nats",
      durable: true,
      log,
      topics: new NatsTopicStore(topicsKv, topicsBucket),
      consumers,
      leases,
      clusterView: () => streamView(healthManager, stream, connection),
      close() {
        closing ??= (async () => {
          try {
            await leases.stop();
            await consumers.close();
            await log.close();
          } finally {
            await connection.drain().catch(() => connection.close());
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/**
 * The event stream's replica group as JetStream reports it; unreachable when
 * it does not answer in time. Only a stream's leader answers its info
 * request, so an answer means there is one; a single nats-server names
 * none, and is the leader itself.
 */
async function streamView(manager: JetStreamManager, stream: string, connection: NatsConnection): Promise<ClusterView> {
  try {
    const info = await manager.streams.info(stream);
    const cluster = info.cluster;
    return {
      reachable: true,
      stream: {
        name: stream,
        leader: cluster?.leader ?? connection.info?.server_name ?? null,
        replicas: (cluster?.replicas ?? []).map((replica) => ({ name: replica.name, current: replica.current, lag: replica.lag ?? 0 })),
      },
    };
  } catch {
    return { reachable: false, stream: null };
  }
}
