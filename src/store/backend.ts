import type { ConsumerStore } from "./consumer-store.ts";
import type { DispatchLeases } from "./dispatch-leases.ts";
import type { EventLog } from "./event-log.ts";
import type { TopicStore } from "./topic-store.ts";

/** The backends `EVENT_LOG` chooses from. */
export type BackendKind = "file" | "memory" | "nats";

/**
 * One backend: the three stores the services talk to. A new backend (NATS
 * JetStream next) is one more object of this shape; see docs/ARCHITECTURE.md.
 */
export interface StoreBackend {
  readonly kind: BackendKind;
  /** Whether its data survives a restart of the process (the contract suite checks it when so). */
  readonly durable: boolean;
  readonly log: EventLog;
  readonly topics: TopicStore;
  readonly consumers: ConsumerStore;
  /** Present when several nodes share the consumers (cluster mode); a backend without it has one node, which delivers every consumer. */
  readonly leases?: DispatchLeases;
  /** Present in cluster mode: the engine's state as `GET /health` shows it. */
  clusterView?(): Promise<ClusterView>;
  /** Closes the log and the consumer store (flushing their writes) and releases what the backend holds. */
  close(): Promise<void>;
}

/** One replica of the event stream, as JetStream reports it. */
export interface StreamReplica {
  /** The nats-server's name. */
  name: string;
  /** Caught up with the leader. */
  current: boolean;
  /** Operations it is behind the leader. */
  lag: number;
}

/** What a cluster-mode node sees of JetStream, for `GET /health`. */
export interface ClusterView {
  /** JetStream answered just now. */
  reachable: boolean;
  /** The event stream's replica group; null when JetStream did not answer. */
  stream: {
    name: string;
    /** The nats-server leading the stream; null while it has no quorum (publishes answer 503). */
    leader: string | null;
    /** The other replicas (the leader is not listed). */
    replicas: StreamReplica[];
  } | null;
}
