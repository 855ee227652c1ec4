import type { ConsumerStore } from "./consumer-store.ts";
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
  /** Closes the log and the consumer store (flushing their writes) and releases what the backend holds. */
  close(): Promise<void>;
}
