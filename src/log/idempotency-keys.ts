/** What the log remembers of a batch stored under an `Idempotency-Key`. */
export interface KeyRecord {
  key: string;
  /** SHA-256 of the batch as validated, to tell a true retry from a reuse. */
  hash: string;
  ids: string[];
  /** When the batch was stored, ms since the epoch. */
  at: number;
}

/** @default 24 hours */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * The idempotency keys of the last TTL, in memory. The durable copy is the
 * log's `$keys` stream, written in the same group commit as each batch, so
 * a key exists after a crash exactly when its batch does.
 */
export class IdempotencyKeys {
  // Insertion order is commit order, so the oldest records are first.
  private readonly records = new Map<string, KeyRecord>();
  /** Appends in flight per key, so racing requests with one key store one batch. */
  readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number,
  ) {}

  /** Records within the TTL. */
  get size(): number {
    this.expire();
    return this.records.size;
  }

  get(key: string): KeyRecord | undefined {
    this.expire();
    return this.records.get(key);
  }

  remember(record: KeyRecord): void {
    this.records.delete(record.key);
    this.records.set(record.key, record);
    this.expire();
  }

  /** The oldest commit time a record must have to still count. */
  cutoff(): number {
    return this.clock() - this.ttlMs;
  }

  private expire(): void {
    const cutoff = this.cutoff();
    for (const [key, record] of this.records) {
      if (record.at >= cutoff) break;
      this.records.delete(key);
    }
  }
}
