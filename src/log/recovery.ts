import { dirname } from "node:path";
import type { CommitMarker } from "./commit-marker.ts";
import { type SegmentRef, listSegments, readWholeFile } from "./segment-files.ts";
import { SegmentIndex } from "./segment-index.ts";
import { scanSegment } from "./segment-scan.ts";
import type { LogStorage } from "./storage.ts";

/** A topic's last non-empty segment, decoded up to its last valid commit. */
export interface RecoveredTail {
  ref: SegmentRef;
  index: SegmentIndex;
  committedBytes: number;
  lastCommit: CommitMarker | null;
  lastGroupStart: { bytes: number; count: number };
  lastTimestampMs: number;
}

export interface RecoveredTopic {
  name: string;
  dir: string;
  /** Segments that hold events, in order; the last one is `tail.ref`. */
  segments: SegmentRef[];
  tail: RecoveredTail | null;
  head: number;
}

export interface RecoveryResult {
  topics: Map<string, RecoveredTopic>;
  /** Number for the next group commit. */
  nextGroup: number;
  /** Latest event timestamp, so timestamps (and date folders) never go backwards. */
  lastTimestampMs: number;
  /** What was repaired, for the start-up log. */
  repairs: string[];
}

/**
 * Brings the log back to its last consistent state after any stop, clean or
 * not, reading only each stream's tail segment (a stream is a topic, or the
 * log's own record of idempotency keys, which commits together with topics):
 *
 * 1. Per topic, decode the last segment up to its last valid commit marker;
 *    bytes after it (a torn line, a partial batch) were never acknowledged.
 * 2. Across topics: group commits are serialized, and acknowledged only once
 *    every file they touched is fsync'd, so only the newest group can be
 *    missing from some topic. If it is, it is removed from all of them, so a
 *    batch spanning topics is never half-present.
 * 3. Cut the files to what survived and delete segments left empty.
 *
 * Running it twice gives the same result as running it once.
 */
export async function recoverLog(
  storage: LogStorage,
  streams: readonly { name: string; dir: string }[],
  dataDir: string,
): Promise<RecoveryResult> {
  const topics = new Map<string, RecoveredTopic>();
  const repairs: string[] = [];
  const emptied: SegmentRef[] = [];

  for (const { name, dir } of streams) {
    const segments = listSegments(storage, dir);
    const tail = loadTail(storage, name, segments, emptied);
    topics.set(name, { name, dir, segments, tail, head: headOf(tail) });
  }

  let newestGroup = 0;
  for (const topic of topics.values()) newestGroup = Math.max(newestGroup, topic.tail?.lastCommit?.group ?? 0);
  const inNewestGroup = [...topics.values()].filter((t) => t.tail?.lastCommit?.group === newestGroup && newestGroup > 0);
  const heads = inNewestGroup[0]?.tail?.lastCommit?.heads ?? {};
  const incomplete = Object.entries(heads).some(([name, head]) => (topics.get(name)?.head ?? 0) < head);
  if (incomplete) {
    for (const topic of inNewestGroup) {
      const tail = topic.tail!;
      repairs.push(`${topic.name}: removed group ${newestGroup} (events ${tail.ref.firstSequence + tail.lastGroupStart.count}..${topic.head}), it did not reach every topic of its batch`);
      tail.index.truncate(tail.lastGroupStart.count);
      tail.committedBytes = tail.lastGroupStart.bytes;
      tail.lastCommit = null;
      if (tail.index.count === 0) {
        emptied.push(topic.segments.pop()!);
        topic.tail = loadTail(storage, topic.name, topic.segments, emptied);
      }
      topic.head = headOf(topic.tail);
    }
  }

  for (const topic of topics.values()) {
    if (topic.tail) await cutFile(storage, topic.tail.ref.path, topic.tail.committedBytes, repairs);
  }
  const emptiedDirs = new Set<string>();
  for (const ref of emptied) {
    storage.removeFile(ref.path);
    emptiedDirs.add(dirname(ref.path));
    repairs.push(`removed segment ${ref.path.slice(dataDir.length + 1)} (no committed events)`);
  }
  for (const dir of emptiedDirs) {
    if (storage.list(dir).length === 0) {
      storage.removeEmptyDirectory(dir);
      storage.syncDirectory(dirname(dir));
    } else {
      storage.syncDirectory(dir);
    }
  }

  let lastTimestampMs = 0;
  for (const topic of topics.values()) lastTimestampMs = Math.max(lastTimestampMs, topic.tail?.lastTimestampMs ?? 0);
  return { topics, nextGroup: newestGroup + 1, lastTimestampMs, repairs };
}

function headOf(tail: RecoveredTail | null): number {
  return tail ? tail.ref.firstSequence - 1 + tail.index.count : 0;
}

/**
 * Walks back from the newest segment to the first that holds a committed
 * event. Newer ones held only uncommitted bytes: they are dropped from
 * `segments` and queued for deletion.
 */
function loadTail(storage: LogStorage, topic: string, segments: SegmentRef[], emptied: SegmentRef[]): RecoveredTail | null {
  while (segments.length > 0) {
    const ref = segments[segments.length - 1]!;
    const bytes = readWholeFile(storage, ref.path);
    const scan = scanSegment(bytes, topic, ref.firstSequence);
    if (scan.index.count > 0) {
      const last = scan.index.count - 1;
      const lastEvent = JSON.parse(new TextDecoder().decode(bytes.subarray(scan.index.start(last), scan.index.end(last)))) as { timestamp: string };
      return { ref, ...scan, lastTimestampMs: Date.parse(lastEvent.timestamp) || 0 };
    }
    segments.pop();
    emptied.push(ref);
  }
  return null;
}

async function cutFile(storage: LogStorage, path: string, size: number, repairs: string[]): Promise<void> {
  const file = storage.openAppend(path);
  try {
    const actual = storage.size(file);
    if (actual === size) return;
    storage.truncate(file, size);
    await storage.sync(file);
    repairs.push(`${path}: cut ${actual - size} uncommitted bytes`);
  } finally {
    storage.close(file);
  }
}
