import { join } from "node:path";
import type { LogStorage } from "./storage.ts";

/**
 * On disk a topic is `<topic>/<UTC date>/<first sequence>.jsonl`: one folder
 * per day, one file per segment, named by the sequence of its first event so
 * the file holding any sequence is found by binary search over names.
 */
export interface SegmentRef {
  readonly date: string;
  readonly firstSequence: number;
  readonly path: string;
}

const DATE_DIR = /^\d{4}-\d{2}-\d{2}$/;
const SEGMENT_FILE = /^(\d{1,16})\.jsonl$/;

export function segmentPath(topicDir: string, date: string, firstSequence: number): string {
  return join(topicDir, date, `${String(firstSequence).padStart(12, "0")}.jsonl`);
}

/** Lists a topic's segments in sequence order: one directory read per day, no file reads. */
export function listSegments(storage: LogStorage, topicDir: string): SegmentRef[] {
  const segments: SegmentRef[] = [];
  for (const date of storage.list(topicDir)) {
    if (!DATE_DIR.test(date)) continue;
    for (const file of storage.list(join(topicDir, date))) {
      const match = SEGMENT_FILE.exec(file);
      if (match) segments.push({ date, firstSequence: Number(match[1]), path: join(topicDir, date, file) });
    }
  }
  return segments.sort((a, b) => a.firstSequence - b.firstSequence);
}

/** Index of the segment holding `sequence` (the last one starting at or before it), or -1. */
export function findSegment(segments: readonly SegmentRef[], sequence: number): number {
  let low = 0;
  let high = segments.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (segments[mid]!.firstSequence <= sequence) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

export function readWholeFile(storage: LogStorage, path: string): Uint8Array {
  const file = storage.openRead(path);
  try {
    const bytes = new Uint8Array(storage.size(file));
    let offset = 0;
    while (offset < bytes.length) {
      const read = storage.read(file, bytes.subarray(offset), offset);
      if (read === 0) break;
      offset += read;
    }
    return bytes.subarray(0, offset);
  } finally {
    storage.close(file);
  }
}
