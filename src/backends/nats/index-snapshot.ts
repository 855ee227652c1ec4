import { promisify } from "node:util";
import { gunzipSync, gzip } from "node:zlib";
import { BatchIndex, TopicIndex } from "./batch-index.ts";

/** Bumped whenever the encoding below changes; a snapshot of another format is ignored (the node replays). */
export const SNAPSHOT_FORMAT = 1;

/**
 * What a checkpoint captures, taken synchronously at stream sequence `seq`:
 * the topics' entry counts (their arrays only ever grow, so the first
 * `entries` of each are what the index held at `seq` however long the
 * encoding waits) and a copy of the keys within the TTL.
 */
export interface SnapshotCapture {
  seq: number;
  lastTimeMs: number;
  /** StreamInfo.created of the stream the index was built from: a recreated stream has another. */
  streamCreated: string;
  index: BatchIndex;
  entries: Map<string, number>;
  keys: { key: string; hash: string; at: number; streamSeq: number }[];
}

export function captureSnapshot(index: BatchIndex, streamCreated: string): SnapshotCapture {
  const entries = new Map<string, number>();
  for (const [topic, topicIndex] of index.topics) entries.set(topic, topicIndex.lasts.length);
  const keys = [...index.keys.values()].map(({ key, hash, at, streamSeq }) => ({ key, hash, at, streamSeq }));
  return { seq: index.lastStreamSeq, lastTimeMs: index.lastTimeMs, streamCreated, index, entries, keys };
}

/**
 * The on-store format (gzip of one JSON document):
 * `{ format, seq, lastTimeMs, streamCreated, topics: { name: [counts, streamSeqs, lines, times] }, keys: [[key, hash, at, streamSeq]] }`.
 * Per topic entry i: `counts` = last_i − last_{i−1}, `streamSeqs` and
 * `times` are deltas from the previous entry (the first from 0), `lines`
 * as they are. `firsts` is not stored: a range always continues its
 * topic, so first_i = last_{i−1} + 1. Deltas of a long history are mostly
 * 0 and 1, which gzip folds to almost nothing.
 */
export async function encodeSnapshot(capture: SnapshotCapture): Promise<Uint8Array> {
  // Topic by topic with a turn of the event loop between them, and gzip off the main thread, so a node writing a
  // checkpoint of a long history keeps serving: 1 M batches over 50 topics stalled it 75 ms at most, not 250 (measured).
  const topics: string[] = [];
  for (const [topic, count] of capture.entries) {
    const t = capture.index.topics.get(topic)!;
    const counts = new Array<number>(count);
    const seqs = new Array<number>(count);
    const lines = new Array<number>(count);
    const times = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      counts[i] = t.lasts[i]! - (i === 0 ? 0 : t.lasts[i - 1]!);
      seqs[i] = t.streamSeqs[i]! - (i === 0 ? 0 : t.streamSeqs[i - 1]!);
      lines[i] = t.lines[i]!;
      times[i] = t.timesMs[i]! - (i === 0 ? 0 : t.timesMs[i - 1]!);
    }
    topics.push(`${JSON.stringify(topic)}:${JSON.stringify([counts, seqs, lines, times])}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const header = JSON.stringify({ format: SNAPSHOT_FORMAT, seq: capture.seq, lastTimeMs: capture.lastTimeMs, streamCreated: capture.streamCreated });
  const keys = JSON.stringify(capture.keys.map((k) => [k.key, k.hash, k.at, k.streamSeq]));
  const document = `${header.slice(0, -1)},"topics":{${topics.join(",")}},"keys":${keys}}`;
  return new Uint8Array(await gzipAsync(document));
}

const gzipAsync = promisify(gzip);

export class SnapshotInvalidError extends Error {
  override readonly name = "SnapshotInvalidError";
}

/** Decodes and checks a snapshot; throws SnapshotInvalidError on anything it would not have written. */
export function decodeSnapshot(bytes: Uint8Array): { index: BatchIndex; streamCreated: string } {
  let document: any;
  try {
    document = JSON.parse(new TextDecoder().decode(gunzipSync(bytes)));
  } catch (error) {
    throw new SnapshotInvalidError("not a gzipped JSON document", { cause: error });
  }
  if (typeof document !== "object" || document === null) throw new SnapshotInvalidError("not an object");
  if (document.format !== SNAPSHOT_FORMAT) throw new SnapshotInvalidError(`format ${JSON.stringify(document.format)}, this node reads ${SNAPSHOT_FORMAT}`);
  const { seq, lastTimeMs, streamCreated, topics, keys } = document;
  if (!count(seq) || !count(lastTimeMs) || typeof streamCreated !== "string" || typeof topics !== "object" || topics === null || !Array.isArray(keys)) {
    throw new SnapshotInvalidError("malformed header fields");
  }
  const index = new BatchIndex();
  index.lastStreamSeq = seq;
  index.lastTimeMs = lastTimeMs;
  for (const [topic, arrays] of Object.entries<any>(topics)) {
    if (!Array.isArray(arrays) || arrays.length !== 4 || !arrays.every(Array.isArray)) throw new SnapshotInvalidError(`topic ${topic}: malformed`);
    const [counts, seqs, lines, times] = arrays as number[][];
    const n = counts!.length;
    if (seqs!.length !== n || lines!.length !== n || times!.length !== n) throw new SnapshotInvalidError(`topic ${topic}: arrays of different lengths`);
    const t = new TopicIndex();
    let last = 0;
    let streamSeq = 0;
    let time = 0;
    for (let i = 0; i < n; i++) {
      const c = counts![i]!;
      const s = seqs![i]!;
      const line = lines![i]!;
      const dt = times![i]!;
      // Every entry holds at least one event and a later stream message. Times are kept as the headers had them
      // (this store's never go backwards, but the index does not rely on it), so a delta may be negative.
      if (!count(c) || c < 1 || !count(s) || s < 1 || !count(line) || !Number.isSafeInteger(dt)) throw new SnapshotInvalidError(`topic ${topic}: bad entry ${i}`);
      t.firsts.push(last + 1);
      last += c;
      streamSeq += s;
      time += dt;
      t.lasts.push(last);
      t.streamSeqs.push(streamSeq);
      t.lines.push(line);
      t.timesMs.push(time);
    }
    if (streamSeq > seq) throw new SnapshotInvalidError(`topic ${topic}: entry past the snapshot's sequence`);
    index.topics.set(topic, t);
  }
  for (const entry of keys) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "string" || !count(entry[2]) || !count(entry[3]) || entry[3] > seq) {
      throw new SnapshotInvalidError("malformed idempotency key");
    }
    const [key, hash, at, streamSeq] = entry as [string, string, number, number];
    index.keys.set(key, { key, hash, ids: [], at, streamSeq });
  }
  return { index, streamCreated };
}

function count(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
