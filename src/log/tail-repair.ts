import type { LogStorage } from "./storage.ts";
import type { TopicState } from "./stream-state.ts";

/**
 * Streams whose tail file may hold bytes beyond `tail.size` that a failed
 * append left, and the cut that undoes them. After a failed fsync the page
 * cache cannot be trusted, so the file is reopened rather than reused. A
 * cut that fails leaves the stream damaged; it is retried before the next
 * append, which must not start on a file that holds unacknowledged bytes.
 */
export class TailRepair {
  private readonly damaged = new Set<TopicState>();

  constructor(
    private readonly storage: LogStorage,
    private readonly report: (message: string) => void,
  ) {}

  get pending(): boolean {
    return this.damaged.size > 0;
  }

  /** Undo a failed group: cut every touched file back to its last commit, now if possible. */
  async rollBack(touched: readonly TopicState[]): Promise<void> {
    for (const state of touched) this.damaged.add(state);
    try {
      await this.repair();
    } catch (error) {
      this.report(`log: could not undo a failed append yet: ${(error as Error).message}`);
    }
  }

  /** Cuts every damaged tail back to its last commit; throws if one still cannot be. */
  async repair(): Promise<void> {
    for (const state of this.damaged) {
      const tail = state.tail;
      if (tail === null) {
        this.damaged.delete(state);
        continue;
      }
      // Open the new handle before closing the old one: if the open fails (EMFILE, EIO) the tail
      // keeps a valid descriptor. Closing first would leave a closed descriptor number behind,
      // which reads and the next close would use, after the kernel may have handed it to another file.
      const reopened = this.storage.openAppend(tail.ref.path);
      try {
        this.storage.close(tail.file);
      } catch {
        // The old handle may already be unusable; the reopened one is what matters.
      }
      tail.file = reopened;
      this.storage.truncate(tail.file, tail.size);
      await this.storage.sync(tail.file);
      this.damaged.delete(state);
    }
  }
}
