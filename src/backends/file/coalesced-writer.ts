interface Waiter {
  version: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Saves a snapshot of in-memory state with at most one write in flight: every
 * `save()` made while a write runs is served by the next write, which carries
 * all changes made since. So a thousand cursor advances during one fsync
 * cost one more write, not a thousand. A `save()` resolves once a write that
 * started after it succeeded, and rejects if that write failed.
 */
export class CoalescedWriter<T = string> {
  private requested = 0;
  private running: Promise<void> | null = null;
  private waiters: Waiter[] = [];
  private lastWriteFailed = false;

  constructor(
    private readonly snapshot: () => T,
    private readonly write: (data: T) => Promise<void>,
  ) {}

  save(): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.waiters.push({ version: ++this.requested, resolve, reject });
    this.running ??= this.drain();
    return promise;
  }

  /** Waits for the write in flight; retries once more if the last write failed, so a clean stop leaves the latest state. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.lastWriteFailed) await this.save();
  }

  private async drain(): Promise<void> {
    while (this.waiters.length > 0) {
      const version = this.requested;
      const served = this.waiters.filter((w) => w.version <= version);
      this.waiters = this.waiters.filter((w) => w.version > version);
      try {
        await this.write(this.snapshot());
        this.lastWriteFailed = false;
        for (const waiter of served) waiter.resolve();
      } catch (error) {
        this.lastWriteFailed = true;
        for (const waiter of served) waiter.reject(error);
      }
    }
    this.running = null;
  }
}
