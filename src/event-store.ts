import { type AppDeps, createApp } from "./app.ts";
import { createMemoryBackend, type MemoryData } from "./backends/memory/memory-backend.ts";
import { openFileBackend } from "./backends/file/file-backend.ts";
import { openNatsBackend } from "./backends/nats/nats-backend.ts";
import { hostname } from "node:os";
import { LocalLeases } from "./backends/local-leases.ts";
import { type Config, nodeIdOf } from "./config.ts";
import type { ResolveFn } from "./consumers/callback-policy.ts";
import { ConsumerService } from "./consumers/consumer-service.ts";
import type { FetchFn } from "./consumers/delivery.ts";
import type { LogStorage } from "./log/storage.ts";
import { StoreMetrics } from "./metrics/store-metrics.ts";
import type { Registry } from "prom-client";
import type { StoreBackend } from "./store/backend.ts";
import type { EventLog, GroupCommitStats } from "./store/event-log.ts";
import { SchemaCompiler } from "./topics/schema-compiler.ts";
import { TopicRegistry } from "./topics/topic-registry.ts";

export interface OpenEventStoreOptions {
  /** The file log's disk; tests inject faults through it. @default NodeLogStorage */
  storage?: LogStorage;
  /** File backend: lock DATA_DIR and CONFIG_DIR to this process (see FileBackendOptions.lock). @default true */
  lockDirectories?: boolean;
  /** For `eventLog: "memory"`: the data to open over (the same object again is a restart). @default a new, empty one */
  memoryData?: MemoryData;
  /** Start-up, recovery and delivery messages. @default console.warn */
  report?: (message: string) => void;
  /** Webhook deliveries go through it. @default globalThis.fetch */
  fetch?: FetchFn;
  /** ms since the epoch, for retry times and webhook timestamps. @default Date.now */
  clock?: () => number;
  /** ms since the epoch, for event timestamps; tests cross midnight with it. @default Date.now */
  logClock?: () => number;
  /** Backoff jitter. @default Math.random */
  random?: () => number;
  /** Host name → addresses for CALLBACK_ALLOW_PRIVATE=false. @default getaddrinfo */
  resolve?: ResolveFn;
  /** Unexpected errors of request handlers. @default console.error */
  reportError?: (error: unknown) => void;
  /** Process metrics served with /metrics (see createProcessMetrics); one per process. @default none */
  processMetrics?: Registry;
  /** Webhook calls start once the store is open. `false` leaves `consumers.start()` to the caller. @default true */
  deliver?: boolean;
  /** Given to `createApp` over what the config and the store provide. */
  app?: Partial<AppDeps>;
}

/** A store that is open: its backend, the services over it, and the HTTP app over those. */
export interface EventStore {
  readonly backend: StoreBackend;
  readonly log: EventLog;
  readonly registry: TopicRegistry;
  readonly consumers: ConsumerService;
  /** Present when `config.metricsEnabled`. */
  readonly metrics: StoreMetrics | undefined;
  readonly app: ReturnType<typeof createApp>;
  /** Stops deliveries, then closes the backend (flushing its writes). Once; later calls wait for the first. */
  close(): Promise<void>;
}

/** Opens the backend `config.eventLog` names, or JetStream when `config.natsUrls` is set (cluster mode). */
export function openBackend(config: Config, options: OpenEventStoreOptions & { onGroupCommit?: (stats: GroupCommitStats) => void } = {}): Promise<StoreBackend> {
  const onGroupCommit = options.onGroupCommit ? { onGroupCommit: options.onGroupCommit } : {};
  if (config.natsUrls.length > 0) {
    return openNatsBackend({
      ...onGroupCommit,
      nodeId: nodeIdOf(config, hostname()),
      leaseMs: config.clusterLeaseMs,
      ...(options.report ? { report: options.report } : {}),
      servers: config.natsUrls,
      replicas: config.natsReplicas,
      prefix: config.natsPrefix,
      idempotencyTtlMs: config.idempotencyTtlHours * 3_600_000,
      ...(config.natsCreds ? { credsFile: config.natsCreds } : {}),
      ...(config.natsToken ? { token: config.natsToken } : {}),
      ...(config.natsTlsCa ? { tlsCaFile: config.natsTlsCa } : {}),
      ...(options.logClock ? { clock: options.logClock } : {}),
    });
  }
  if (config.eventLog === "memory") {
    return Promise.resolve(
      createMemoryBackend({
        ...onGroupCommit,
        idempotencyTtlMs: config.idempotencyTtlHours * 3_600_000,
        ...(options.memoryData ? { data: options.memoryData } : {}),
        ...(options.logClock ? { clock: options.logClock } : {}),
      }),
    );
  }
  return openFileBackend({
    ...onGroupCommit,
    dataDir: config.dataDir,
    configDir: config.configDir,
    segmentMaxBytes: config.segmentMaxBytes,
    idempotencyTtlMs: config.idempotencyTtlHours * 3_600_000,
    maxDocumentDepth: config.maxJsonDepth,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.logClock ? { clock: options.logClock } : {}),
    ...(options.report ? { report: options.report } : {}),
    ...(options.lockDirectories === false ? { lock: false } : {}),
  });
}

/**
 * The one composition of the store: backend → topic registry and consumer
 * service → HTTP app. The server, the testing kit, the test harnesses and
 * the benchmarks all open a store through it; none of them listens here.
 */
export async function openEventStore(config: Config, options: OpenEventStoreOptions = {}): Promise<EventStore> {
  const report = options.report ?? ((message: string) => console.warn(message));
  // Made first: the log and the dispatchers count into it from their first commit and delivery.
  const metrics = config.metricsEnabled
    ? new StoreMetrics({ maxLabelled: config.metricsMaxLabelled, ...(options.processMetrics ? { processMetrics: options.processMetrics } : {}) })
    : undefined;
  const nodeId = nodeIdOf(config, hostname());
  const backend = await openBackend(config, { ...options, report, ...(metrics ? { onGroupCommit: (stats: GroupCommitStats) => metrics.observeGroupCommit(stats) } : {}) });
  let consumers: ConsumerService;
  const registry = new TopicRegistry({ store: backend.topics, maxDocumentBytes: config.maxSchemaBytes, compiler: new SchemaCompiler({ report }) });
  // Ends what follows other nodes' changes (cluster mode) when the store closes.
  const following = new AbortController();
  try {
    await registry.load();
    for (const failure of registry.loadFailures) report(`topic config ${failure.source} could not be loaded and is skipped: ${failure.reason}`);
    registry.follow(following.signal);
    consumers = ConsumerService.create({
      ...config,
      log: backend.log,
      store: backend.consumers,
      leases: backend.leases ?? new LocalLeases(nodeId),
      topicExists: (topic) => registry.get(topic) !== undefined,
      refreshTopics: (names) => registry.refresh(names),
      report,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.clock ? { now: options.clock } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.resolve ? { resolve: options.resolve } : {}),
      ...(metrics ? { onDelivery: metrics.observeDelivery.bind(metrics) } : {}),
    });
  } catch (error) {
    following.abort();
    registry.close();
    await backend.close();
    throw error;
  }
  if (options.deliver !== false) consumers.start();
  const log = backend.log;
  metrics?.attach({
    topics: () => registry.names(),
    head: (topic) => log.head(topic),
    consumers: () => consumers.list(),
    idempotencyKeys: () => log.idempotencyKeyCount(),
  });
  const app = createApp({
    ...config,
    registry,
    log,
    consumers,
    delivery: consumers,
    ...(backend.clusterView ? { cluster: { nodeId, view: backend.clusterView.bind(backend) } } : {}),
    ...(metrics ? { metrics } : {}),
    ...(options.reportError ? { reportError: options.reportError } : {}),
    ...options.app,
  });
  let closing: Promise<void> | null = null;
  return {
    backend,
    log: backend.log,
    registry,
    consumers,
    metrics,
    app,
    close() {
      closing ??= (async () => {
        try {
          following.abort();
          registry.close();
          await consumers.stop();
        } finally {
          await backend.close();
        }
      })();
      return closing;
    },
  };
}
