import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, nanos, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { DiscardPolicy, jetstream, jetstreamManager, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { DEFAULT_IDEMPOTENCY_TTL_MS } from "../../log/idempotency-keys.ts";
import type { StoreBackend } from "../../store/backend.ts";
import type { GroupCommitStats } from "../../store/event-log.ts";
import { NatsEventLog } from "./nats-event-log.ts";
import { NatsConsumerStore, NatsTopicStore } from "./nats-kv-stores.ts";

export interface NatsBackendOptions {
  /** `nats://host:port` of one or more servers of the cluster. */
  servers: readonly string[];
  /** Replicas of the stream and both buckets. @default 3 */
  replicas?: number;
  /** Names the stream (`<prefix>_events`) and buckets (`<prefix>_topics`, `<prefix>_consumers`). @default "event_store" */
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
}

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
    await ensureStream(manager, { name: stream, ...streamConfig(stream, subject, replicas, ttlMs) });
    const kvm = new Kvm(js);
    const topicsBucket = `${prefix}_topics`;
    const topicsKv = await kvm.create(topicsBucket, { replicas, history: 1, storage: StorageType.File });
    const consumersKv = await kvm.create(`${prefix}_consumers`, { replicas, history: 1, storage: StorageType.File });
    const log = await NatsEventLog.open({
      connection,
      jetstream: js,
      manager,
      stream,
      subject,
      idempotencyTtlMs: ttlMs,
      ...(options.timeoutMs ? { publishTimeoutMs: options.timeoutMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.onGroupCommit ? { onGroupCommit: options.onGroupCommit } : {}),
    });
    const consumers = await NatsConsumerStore.open(consumersKv);
    let closing: Promise<void> | null = null;
    return {
      kind: "nats",
      durable: true,
      log,
      topics: new NatsTopicStore(topicsKv, topicsBucket),
      consumers,
      close() {
        closing ??= (async () => {
          try {
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
