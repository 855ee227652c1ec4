import { type CommitMarker, MARKER_PREFIX, parseCommitMarker } from "./commit-marker.ts";
import { SegmentIndex } from "./segment-index.ts";

const NEWLINE = 0x0a;
const MARKER_BYTES = new TextEncoder().encode(MARKER_PREFIX);
const decoder = new TextDecoder();

export interface SegmentScan {
  /** Events closed by a valid commit marker. */
  index: SegmentIndex;
  /** Bytes up to and including the last valid marker; anything after is an uncommitted tail. */
  committedBytes: number;
  lastCommit: CommitMarker | null;
  /** Where the last committed group's lines begin, to undo that group if it proves incomplete. */
  lastGroupStart: { bytes: number; count: number };
}

/**
 * Decodes a segment: every event line up to the last commit marker that is
 * well-formed, dense (its head matches the events before it) and whose CRC
 * matches the lines it closes. Decoding stops at the first line that fails,
 * as everything from there on was never acknowledged.
 */
export function scanSegment(bytes: Uint8Array, topic: string, firstSequence: number): SegmentScan {
  const index = new SegmentIndex();
  const pendingStarts: number[] = [];
  const pendingEnds: number[] = [];
  let committedBytes = 0;
  let lastCommit: CommitMarker | null = null;
  let lastGroupStart = { bytes: 0, count: 0 };
  let position = 0;

  while (position < bytes.length) {
    const newline = bytes.indexOf(NEWLINE, position);
    if (newline === -1) break; // torn last line
    if (startsWith(bytes, position, MARKER_BYTES)) {
      const marker = parseCommitMarker(decoder.decode(bytes.subarray(position, newline)));
      const expectedHead = firstSequence - 1 + index.count + pendingStarts.length;
      const groupBytes = bytes.subarray(committedBytes, position);
      if (marker === null || marker.heads[topic] !== expectedHead || Bun.hash.crc32(groupBytes) !== marker.crc) break;
      lastGroupStart = { bytes: committedBytes, count: index.count };
      for (let i = 0; i < pendingStarts.length; i++) index.push(pendingStarts[i]!, pendingEnds[i]!);
      pendingStarts.length = 0;
      pendingEnds.length = 0;
      committedBytes = newline + 1;
      lastCommit = marker;
    } else {
      pendingStarts.push(position);
      pendingEnds.push(newline);
    }
    position = newline + 1;
  }
  return { index, committedBytes, lastCommit, lastGroupStart };
}

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}
