import { dirname } from "node:path";
import type { ReadRange, ReadResult } from "../store/event-log.ts";
import type { IdempotencyKeys, KeyRecord } from "./idempotency-keys.ts";
import type { LogStorage } from "./storage.ts";
import type { TopicState } from "./stream-state.ts";

const decoder = new TextDecoder();

/**
 * Loads the idempotency window at start-up from the keys stream: only the
 * date folders that can hold keys of the last TTL are read, and key segments
 * of days wholly before it are deleted (nothing in them can still be
 * replayed; the tail stays, as appends continue there).
 */
export function loadKeyStream(
  storage: LogStorage,
  state: TopicState | undefined,
  keys: IdempotencyKeys,
  read: (range: ReadRange) => ReadResult,
): void {
  if (state === undefined) return;
  const cutoff = keys.cutoff();
  const cutoffDate = new Date(cutoff).toISOString().slice(0, 10);
  pruneKeySegments(storage, state, cutoffDate);
  const first = state.segments.find((ref) => ref.date >= cutoffDate);
  if (first === undefined) return;
  for (let after = first.firstSequence - 1; after < state.head; ) {
    const { events, lastSequence } = read({ after, limit: 10_000 });
    for (const line of events) {
      const record = JSON.parse(decoder.decode(line)) as KeyRecord;
      if (record.at >= cutoff) keys.remember(record);
    }
    after = lastSequence;
  }
}

function pruneKeySegments(storage: LogStorage, state: TopicState, cutoffDate: string): void {
  const expired = state.segments.filter((ref) => ref.date < cutoffDate && ref !== state.tail?.ref);
  if (expired.length === 0) return;
  const dirs = new Set<string>();
  for (const ref of expired) {
    storage.removeFile(ref.path);
    dirs.add(dirname(ref.path));
  }
  state.segments = state.segments.filter((ref) => !expired.includes(ref));
  for (const dir of dirs) if (storage.list(dir).length === 0) storage.removeEmptyDirectory(dir);
  storage.syncDirectory(state.dir);
}
