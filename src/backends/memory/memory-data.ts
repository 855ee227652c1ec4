import type { KeyRecord } from "../../log/idempotency-keys.ts";
import type { CommitListener } from "../../store/event-log.ts";

/** One topic's events: stored JSON and timestamps, index i = sequence i + 1. */
export interface MemoryStream {
  events: Uint8Array[];
  timesMs: number[];
}

/**
 * Everything a memory backend holds. A backend opened again over the same
 * `MemoryData` sees it all, as a restart of a durable backend would: test
 * harnesses use that to restart the app within one process. Nothing of it
 * survives the process.
 */
export class MemoryData {
  readonly streams = new Map<string, MemoryStream>();
  /** Idempotency keys in commit order, so the oldest are first. */
  readonly keys = new Map<string, KeyRecord>();
  lastTimestampMs = 0;
  /** Topic name → its stored document. */
  readonly topicDocuments = new Map<string, string>();
  /** The consumer store's last saved snapshot (JSON), or null before the first. */
  consumers: string | null = null;
  /** Subscribers of every log open over this data: a commit by any of them reaches all. */
  readonly listeners = new Map<string | null, Set<CommitListener>>();
}
