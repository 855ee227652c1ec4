import { type ConsumerRemoval, MAX_REMEMBERED_REMOVALS, type StoredConsumer } from "../store/consumer-store.ts";

/**
 * What every consumer store holds in memory, whatever it persists to:
 * registrations by id, in registration order, and the latest removals,
 * at most MAX_REMEMBERED_REMOVALS of them.
 */
export abstract class HeldConsumers {
  protected readonly consumers = new Map<string, StoredConsumer>();
  protected readonly removals = new Map<string, ConsumerRemoval>();

  list(): StoredConsumer[] {
    return [...this.consumers.values()];
  }

  get(id: string): StoredConsumer | undefined {
    return this.consumers.get(id);
  }

  removal(id: string): ConsumerRemoval | undefined {
    return this.removals.get(id);
  }

  /** One writer (this process): nothing changes behind the store's back. */
  watch(_listener: (consumerId: string) => void, _signal: AbortSignal): void {}

  /** Keeps `removal` as the newest; returns the id of the oldest one it pushed out, if any. */
  protected rememberRemoval(removal: ConsumerRemoval): string | undefined {
    this.removals.delete(removal.id);
    this.removals.set(removal.id, removal);
    if (this.removals.size <= MAX_REMEMBERED_REMOVALS) return undefined;
    const oldest = this.removals.keys().next().value;
    if (oldest !== undefined) this.removals.delete(oldest);
    return oldest;
  }
}
