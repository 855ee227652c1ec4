import type { StoreBackend } from "../../store/backend.ts";
import type { GroupCommitStats } from "../../store/event-log.ts";
import { MemoryData } from "./memory-data.ts";
import { MemoryEventLog } from "./memory-event-log.ts";
import { MemoryConsumerStore, MemoryTopicStore } from "./memory-stores.ts";

export interface MemoryBackendOptions {
  /** What to open over; a fresh, empty store when absent. Pass the same object again to "restart". */
  data?: MemoryData;
  /** ms since the epoch. @default Date.now */
  clock?: () => number;
  /** @default DEFAULT_IDEMPOTENCY_TTL_MS */
  idempotencyTtlMs?: number;
  /** Told of every append once stored, for metrics. */
  onGroupCommit?: (stats: GroupCommitStats) => void;
}

/** `EVENT_LOG=memory`: for tests and demos. Nothing survives the process. */
export function createMemoryBackend(options: MemoryBackendOptions = {}): StoreBackend {
  const data = options.data ?? new MemoryData();
  const log = new MemoryEventLog({
    data,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.idempotencyTtlMs ? { idempotencyTtlMs: options.idempotencyTtlMs } : {}),
    ...(options.onGroupCommit ? { onGroupCommit: options.onGroupCommit } : {}),
  });
  const consumers = new MemoryConsumerStore(data);
  return {
    kind: "memory",
    durable: false,
    log,
    topics: new MemoryTopicStore(data),
    consumers,
    async close() {
      await consumers.close();
      await log.close();
    },
  };
}

export { MemoryData };
