/** A consumer registration as stored, with its cursors. */
export interface StoredConsumer {
  id: string;
  callback: string;
  /** `whsec_…`; stored so deliveries after a restart carry valid signatures. */
  secret: string;
  /** Topic → sequence of the last event delivered (or registered as seen); 0 = none. */
  cursors: Record<string, number>;
  paused: boolean;
  createdAt: string;
}

/** Why and when a consumer was removed after failed deliveries. */
export interface ConsumerRemoval {
  id: string;
  callback: string;
  removedAt: string;
  reason: string;
}

/**
 * Registrations, cursors and removals. Reads are of the store's memory
 * (loaded when it was opened); every change is persisted before its
 * promise resolves. A cursor only moves forward.
 */
export interface ConsumerStore {
  list(): StoredConsumer[];
  get(id: string): StoredConsumer | undefined;
  /** The last removals (bounded), so `GET /consumers/{id}` can say why a consumer is gone. */
  removal(id: string): ConsumerRemoval | undefined;
  /** Adds and persists a registration; on a failed write nothing is kept. @throws ConsumersWriteFailedError */
  add(consumer: StoredConsumer): Promise<void>;
  /** Removes a registration, remembering why when `removal` is given. @throws ConsumersWriteFailedError */
  remove(id: string, removal?: Omit<ConsumerRemoval, "id" | "callback">): Promise<void>;
  /** Moves a cursor forward (never back) and persists it. @throws ConsumersWriteFailedError */
  advance(id: string, topic: string, sequence: number): Promise<void>;
  setPaused(id: string, paused: boolean): Promise<void>;
  /**
   * Calls `listener` with a consumer's id after another writer of this
   * backend (another node of a cluster) changed or removed it; `get(id)`
   * then answers the new record, or undefined. Single-node backends have
   * no other writer and never call it.
   */
  watch(listener: (consumerId: string) => void, signal: AbortSignal): void;
  /** Waits for writes in flight and writes what is still unsaved. */
  close(): Promise<void>;
}

/** @default 100 */
export const MAX_REMEMBERED_REMOVALS = 100;
