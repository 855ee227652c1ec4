import type { CommitListener } from "../store/event-log.ts";
import type { TopicState } from "./stream-state.ts";

/**
 * Who hears of commits: listeners of every topic here, listeners of one
 * topic on its state (so a commit tells only its own topics' readers).
 * A listener's failure is reported and isolated: the commit is durable and
 * acknowledged, and the others still hear of it.
 */
export class CommitListeners {
  private readonly everyTopic = new Set<CommitListener>();

  constructor(private readonly report: (message: string) => void) {}

  /** `states` are the named topics' states, or null for every topic. */
  add(states: readonly TopicState[] | null, listener: CommitListener, signal: AbortSignal): void {
    const sets = states === null ? [this.everyTopic] : states.map((state) => state.listeners);
    for (const set of sets) set.add(listener);
    signal.addEventListener("abort", () => {
      for (const set of sets) set.delete(listener);
    }, { once: true });
  }

  notify(state: TopicState): void {
    for (const listener of [...state.listeners]) this.tell(listener, state);
    for (const listener of this.everyTopic) this.tell(listener, state);
  }

  /** Ends every subscription; a topic's own listeners hear once more, so a waiting reader answers now. */
  close(states: Iterable<TopicState>): void {
    for (const state of states) {
      for (const listener of [...state.listeners]) this.tell(listener, state);
      state.listeners.clear();
    }
    this.everyTopic.clear();
  }

  private tell(listener: CommitListener, state: TopicState): void {
    try {
      listener(state.name, state.head);
    } catch (error) {
      this.report(`log: a commit listener failed: ${(error as Error)?.stack ?? String(error)}`);
    }
  }
}
