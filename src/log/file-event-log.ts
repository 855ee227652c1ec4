import { dirname, join } from "node:path";
import { IdempotencyKeyReusedError, LogCorruptError, SequenceConflictError, ShuttingDownError, WriteFailedError } from "../errors.ts";
import { formatCommitMarker } from "./commit-marker.ts";
import type { AppendEvent, EventLog, IdempotentAppend, ReadRange, ReadResult } from "./event-log.ts";
import { GroupBuilder } from "./group-builder.ts";
import { DEFAULT_IDEMPOTENCY_TTL_MS, IdempotencyKeys, type KeyRecord } from "./idempotency-keys.ts";
import { recoverLog } from "./recovery.ts";
import { type SegmentRef, findSegment, readWholeFile, segmentPath } from "./segment-files.ts";
import { SegmentIndex } from "./segment-index.ts";
import { scanSegment } from "./segment-scan.ts";
import { type FileHandle, type LogStorage, NodeLogStorage } from "./storage.ts";

/** @default 32 MiB */
export const DEFAULT_SEGMENT_MAX_BYTES = 32 * 1024 * 1024;
/** Closed-segment indexes kept in memory; older ones are rebuilt on demand. @default 32 */
export const DEFAULT_CACHED_SEGMENT_INDEXES = 32;
/** A group commit stops taking batches once it holds this many payload bytes. */
const GROUP_MAX_BYTES = 8 * 1024 * 1024;
/** The write buffer is kept between groups up to this size. */
const MAX_RETAINED_WRITE_BUFFER_BYTES = 8 * 1024 * 1024;
/**
 * The stream of idempotency keys. `$` cannot start a topic name, so it never
 * collides with a topic; it lives in `<dataDir>/idempotency/<date>/…`.
 */
const KEYS_STREAM = "$keys";

export interface FileEventLogOptions {
  /** Events live under `<dataDir>/topics`. */
  dataDir: string;
  /** @default NodeLogStorage */
  storage?: LogStorage;
  /** @default DEFAULT_SEGMENT_MAX_BYTES */
  segmentMaxBytes?: number;
  /** Milliseconds since the epoch; injectable so tests can cross midnight. @default Date.now */
  clock?: () => number;
  /** Accepts a directory name as a topic (the registry's naming rule). */
  isTopicName: (name: string) => boolean;
  /** Where recovery reports what it repaired. @default console.warn */
  report?: (message: string) => void;
  /** How long an idempotency key is remembered. @default DEFAULT_IDEMPOTENCY_TTL_MS */
  idempotencyTtlMs?: number;
  /** Told of every group commit once it is durable (for metrics); must be cheap, it runs on the append path. */
  onGroupCommit?: (stats: GroupCommitStats) => void;
}

/** One durable group commit: its batches, their events, and the seconds from the first write to the last fsync. */
export interface GroupCommitStats {
  batches: number;
  events: number;
  seconds: number;
}

interface Tail {
  ref: SegmentRef;
  file: FileHandle;
  index: SegmentIndex;
  /** Bytes covered by the last commit; anything beyond is not yet (or never) durable. */
  size: number;
}

interface TopicState {
  name: string;
  dir: string;
  segments: SegmentRef[];
  tail: Tail | null;
  /** Last acknowledged sequence; readers never see past it. */
  head: number;
  waiters: Set<() => void>;
}

interface PendingAppend {
  events: readonly AppendEvent[];
  idempotency?: { key: string; hash: string };
  bytes: number;
  resolve: (ids: string[]) => void;
  reject: (error: Error) => void;
}

/** What one group commit wrote to one stream. */
interface WrittenStream {
  state: TopicState;
  tail: Tail;
  /** The stream's head once the group is durable. */
  head: number;
  /** Where the group's lines start in the segment. */
  sizeBefore: number;
  /** Each of the group's lines in bytes, newline included, in order. */
  lineBytes: readonly number[];
  sizeAfter: number;
}


/**
 * The durable log: JSON-lines segments per topic and date, appended by
 * serialized group commits. Every append waiting while a commit is on its way
 * to disk joins the next one, which costs one write and one fdatasync per
 * topic it touches; promises resolve only after every fdatasync of the group
 * succeeded. See recovery.ts for how a crash at any point is undone.
 */
export class FileEventLog implements EventLog {
  private readonly topics = new Map<string, TopicState>();
  /** Streams whose file may hold bytes beyond `tail.size` that a failed append left; cut before the next append. */
  private readonly damaged = new Set<TopicState>();
  private readonly storage: LogStorage;
  private readonly topicsDir: string;
  private readonly keysDir: string;
  private readonly keys: IdempotencyKeys;
  private readonly segmentMaxBytes: number;
  private readonly clock: () => number;
  private readonly report: (message: string) => void;
  private readonly indexCache = new Map<string, SegmentIndex>();
  private readonly commitListeners = new Set<(topic: string, head: number) => void>();
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | null = null;
  private nextGroup = 1;
  private lastTimestampMs = 0;
  private closed = false;
  private writeBuffer = Buffer.allocUnsafe(64 * 1024);

  private constructor(private readonly options: FileEventLogOptions) {
    this.storage = options.storage ?? new NodeLogStorage();
    this.topicsDir = join(options.dataDir, "topics");
    this.keysDir = join(options.dataDir, "idempotency");
    this.segmentMaxBytes = options.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES;
    this.clock = options.clock ?? Date.now;
    this.report = options.report ?? ((message: string) => console.warn(message));
    this.keys = new IdempotencyKeys(options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS, this.clock);
  }

  /** Opens (and if needed repairs) the log under `dataDir`. */
  static async open(options: FileEventLogOptions): Promise<FileEventLog> {
    const log = new FileEventLog(options);
    await log.recover();
    return log;
  }

  private async recover(): Promise<void> {
    this.storage.makeDirectory(this.topicsDir);
    // A freshly made topics folder must itself survive a crash before anything is acknowledged in it.
    this.storage.syncDirectory(this.options.dataDir);
    const streams = this.storage
      .list(this.topicsDir)
      .filter(this.options.isTopicName)
      .map((name) => ({ name, dir: join(this.topicsDir, name) }));
    streams.push({ name: KEYS_STREAM, dir: this.keysDir });
    const result = await recoverLog(this.storage, streams, this.options.dataDir);
    for (const repair of result.repairs) this.report(`recovery: ${repair}`);
    this.nextGroup = result.nextGroup;
    this.lastTimestampMs = result.lastTimestampMs;
    for (const recovered of result.topics.values()) {
      const state = this.newTopicState(recovered.name, recovered.dir);
      state.segments = recovered.segments;
      state.head = recovered.head;
      if (recovered.tail) {
        const { ref, index, committedBytes } = recovered.tail;
        state.tail = { ref, index, size: committedBytes, file: this.storage.openAppend(ref.path) };
      }
      this.topics.set(recovered.name, state);
    }
    this.loadKeys();
  }

  /** Reads the keys of the last TTL: only the date folders that can hold them. */
  private loadKeys(): void {
    const state = this.topics.get(KEYS_STREAM);
    if (state === undefined) return;
    const cutoff = this.keys.cutoff();
    const cutoffDate = new Date(cutoff).toISOString().slice(0, 10);
    this.pruneKeySegments(state, cutoffDate);
    const first = state.segments.find((ref) => ref.date >= cutoffDate);
    if (first === undefined) return;
    for (let after = first.firstSequence - 1; after < state.head; ) {
      const { lines, lastSequence } = this.read(KEYS_STREAM, { after, limit: 10_000 });
      for (const line of lines) {
        const record = JSON.parse(new TextDecoder().decode(line)) as KeyRecord;
        if (record.at >= cutoff) this.keys.remember(record);
      }
      after = lastSequence;
    }
  }

  /**
   * Deletes key segments of days wholly before the TTL: nothing in them can
   * still be replayed. The tail stays, as appends continue there.
   */
  private pruneKeySegments(state: TopicState, cutoffDate: string): void {
    const expired = state.segments.filter((ref) => ref.date < cutoffDate && ref !== state.tail?.ref);
    if (expired.length === 0) return;
    const dirs = new Set<string>();
    for (const ref of expired) {
      this.storage.removeFile(ref.path);
      dirs.add(dirname(ref.path));
    }
    state.segments = state.segments.filter((ref) => !expired.includes(ref));
    for (const dir of dirs) if (this.storage.list(dir).length === 0) this.storage.removeEmptyDirectory(dir);
    this.storage.syncDirectory(state.dir);
  }

  head(topic: string): number {
    return this.topics.get(topic)?.head ?? 0;
  }

  /** Idempotency keys still remembered (within the TTL). */
  idempotencyKeyCount(): number {
    return this.keys.size;
  }

  append(events: readonly AppendEvent[]): Promise<string[]> {
    return this.enqueue(events);
  }

  async appendIdempotent(events: readonly AppendEvent[], key: string, hash: string): Promise<IdempotentAppend> {
    for (;;) {
      const record = this.keys.get(key);
      if (record !== undefined) {
        if (record.hash !== hash) throw new IdempotencyKeyReusedError(key);
        return { ids: record.ids, replayed: true };
      }
      const inFlight = this.keys.pending.get(key);
      if (inFlight === undefined) break;
      // Another request with this key is being stored: its outcome decides this one.
      await inFlight.catch(() => {});
    }
    const appended = this.enqueue(events, { key, hash });
    this.keys.pending.set(key, appended);
    try {
      return { ids: await appended, replayed: false };
    } finally {
      this.keys.pending.delete(key);
    }
  }

  private enqueue(events: readonly AppendEvent[], idempotency?: { key: string; hash: string }): Promise<string[]> {
    if (this.closed) return Promise.reject(new ShuttingDownError());
    let bytes = 0;
    for (const event of events) bytes += event.payloadJson.length + event.type.length + 96;
    const { promise, resolve, reject } = Promise.withResolvers<string[]>();
    this.queue.push({ events, bytes, resolve, reject, ...(idempotency ? { idempotency } : {}) });
    this.flushing ??= this.flush();
    return promise;
  }

  read(topic: string, range: ReadRange): ReadResult {
    const state = this.topics.get(topic);
    if (state === undefined) return { lines: [], lastSequence: range.after };
    let first = range.after + 1;
    let last = Math.min(state.head, range.after + range.limit);
    if (range.date !== undefined) {
      const span = this.dateSpan(state, range.date);
      if (span === null) return { lines: [], lastSequence: range.after };
      first = Math.max(first, span.first);
      last = Math.min(span.last, first + range.limit - 1);
    }
    const lines: Uint8Array[] = [];
    let sequence = first;
    while (sequence <= last) {
      const at = findSegment(state.segments, sequence);
      const ref = state.segments[at];
      if (ref === undefined) throw new LogCorruptError(`Topic '${topic}' has no segment for sequence ${sequence}`);
      const index = this.indexOf(state, ref);
      const from = sequence - ref.firstSequence;
      const to = Math.min(last - ref.firstSequence, index.count - 1);
      if (from > to) throw new LogCorruptError(`Topic '${topic}' is missing events from sequence ${sequence}`);
      // A loop, not push(...spread): a page may hold more lines than a call has argument slots.
      for (const line of this.readLines(state, ref, index, from, to)) lines.push(line);
      sequence = ref.firstSequence + to + 1;
    }
    return { lines, lastSequence: last < first ? range.after : last };
  }

  onCommit(listener: (topic: string, head: number) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  waitForEvents(topic: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const state = this.topicState(topic);
    if (state.head > after || timeoutMs <= 0 || signal?.aborted || this.closed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    const done = () => {
      clearTimeout(timer);
      state.waiters.delete(done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    state.waiters.add(done);
    signal?.addEventListener("abort", done);
    return promise;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    for (const state of this.topics.values()) {
      for (const wake of [...state.waiters]) wake();
      if (state.tail) this.storage.close(state.tail.file);
      state.tail = null;
    }
  }

  /**
   * Commits queued appends group by group until the queue is empty. Whatever
   * a group throws, its appends are settled and the queue moves on: a
   * commit queue left "in flight" would make every later append wait forever.
   */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        let take = 0;
        let bytes = 0;
        while (take < this.queue.length && (take === 0 || bytes + this.queue[take]!.bytes <= GROUP_MAX_BYTES)) {
          bytes += this.queue[take]!.bytes;
          take++;
        }
        const group = this.queue.splice(0, take);
        try {
          await this.commitGroup(group);
        } catch (error) {
          // Only appends the group had not settled yet are affected: a promise settles once.
          for (const pending of group) pending.reject(new WriteFailedError({ cause: error }));
          this.report(`log: a group commit failed unexpectedly: ${(error as Error)?.stack ?? String(error)}`);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /**
   * One group commit. Sequences are assigned here, in queue order, so a
   * batch that fails or conflicts leaves no gap: the next group starts from
   * the last acknowledged head.
   */
  private async commitGroup(group: PendingAppend[]): Promise<void> {
    if (this.damaged.size > 0) {
      try {
        await this.repairDamaged();
      } catch (error) {
        for (const pending of group) pending.reject(new WriteFailedError({ cause: error }));
        return;
      }
    }
    const builder = new GroupBuilder(Math.max(this.clock(), this.lastTimestampMs), (stream) => this.head(stream), KEYS_STREAM);
    const accepted: { pending: PendingAppend; ids: string[] }[] = [];
    for (const pending of group) {
      const ids = builder.add(pending.events, pending.idempotency);
      if (ids instanceof SequenceConflictError) pending.reject(ids);
      else accepted.push({ pending, ids });
    }
    if (accepted.length === 0) return;

    const written: WrittenStream[] = [];
    const started = performance.now();
    try {
      this.writeGroup(builder, written);
      await Promise.all(written.map(({ tail }) => this.storage.sync(tail.file)));
    } catch (error) {
      await this.rollBack(written.map(({ state }) => state));
      for (const { pending } of accepted) pending.reject(new WriteFailedError({ cause: error }));
      return;
    }

    this.lastTimestampMs = builder.nowMs;
    for (const record of builder.keyRecords) this.keys.remember(record);
    for (const { state, tail, head, sizeBefore, lineBytes, sizeAfter } of written) {
      let start = sizeBefore;
      for (const length of lineBytes) {
        tail.index.push(start, start + length - 1);
        start += length;
      }
      tail.size = sizeAfter;
      state.head = head;
    }
    const onGroupCommit = this.options.onGroupCommit;
    if (onGroupCommit) {
      let events = 0;
      for (const { pending } of accepted) events += pending.events.length;
      onGroupCommit({ batches: accepted.length, events, seconds: (performance.now() - started) / 1000 });
    }
    for (const { pending, ids } of accepted) pending.resolve(ids);
    for (const { state } of written) this.notify(state);
  }

  /**
   * Appends each stream's lines and commit marker to its tail segment,
   * recording in `written` what was touched, so a failure part-way can be
   * rolled back.
   */
  private writeGroup(builder: GroupBuilder, written: WrittenStream[]): void {
    const group = this.nextGroup++;
    const heads = builder.heads();
    // Stream names are ASCII, so this many characters is this many bytes; no CRC-32 has more digits.
    const markerRoom = formatCommitMarker({ group, heads, crc: 0xffffffff }).length;
    for (const write of builder.writes.values()) {
      const state = this.topicState(write.stream);
      const tail = this.tailFor(state, builder.date);
      const { buffer, events } = this.encode(builder.chunksOf(write), markerRoom, (events) => formatCommitMarker({ group, heads, crc: Bun.hash.crc32(events) }));
      // Listed before the write: a write that fails part-way must be rolled back too.
      const entry: WrittenStream = { state, tail, head: write.head, sizeBefore: tail.size, lineBytes: [], sizeAfter: tail.size };
      written.push(entry);
      this.appendFully(tail.file, buffer);
      // As many bytes as UTF-16 units: every character was ASCII, so each line's length is known without a scan.
      entry.lineBytes = events.length === write.chars ? write.lineChars : lineByteLengths(events);
      entry.sizeAfter = tail.size + buffer.length;
    }
  }

  /** The segment the next group writes to, starting a new one on a new date or when full. */
  private tailFor(state: TopicState, date: string): Tail {
    const tail = state.tail;
    if (tail && tail.ref.date === date && tail.size < this.segmentMaxBytes) return tail;
    if (tail) {
      this.storage.close(tail.file);
      if (tail.index.count === 0) {
        // Left empty by a failed append: its name would clash with the new segment's.
        this.storage.removeFile(tail.ref.path);
        state.segments.pop();
      } else {
        this.cacheIndex(tail.ref.path, tail.index);
      }
      state.tail = null;
    }
    const ref: SegmentRef = { date, firstSequence: state.head + 1, path: segmentPath(state.dir, date, state.head + 1) };
    const dateDir = dirname(ref.path);
    const isNewDir = this.storage.list(dateDir).length === 0;
    this.storage.makeDirectory(dateDir);
    const file = this.storage.openAppend(ref.path);
    try {
      // The new file (and its folders) must survive a crash as surely as its contents.
      this.storage.syncDirectory(dateDir);
      if (isNewDir) {
        this.storage.syncDirectory(state.dir);
        this.storage.syncDirectory(dirname(state.dir));
      }
    } catch (error) {
      // Not the tail yet, so nothing else would close it: every failed directory fsync would leak a descriptor.
      try {
        this.storage.close(file);
      } catch {
        // The sync error is the one to report; the empty file is reused or removed by the next attempt or recovery.
      }
      throw error;
    }
    state.segments.push(ref);
    state.tail = { ref, file, index: new SegmentIndex(), size: 0 };
    return state.tail;
  }

  /**
   * `chunks` then their marker (at most `markerRoom` bytes), UTF-8, in the
   * log's reusable write buffer: a group can be megabytes, and a fresh buffer
   * per group costs more in page faults than the encoding. The views are
   * valid until the next call.
   */
  private encode(chunks: readonly string[], markerRoom: number, markerFor: (events: Uint8Array) => string): { buffer: Uint8Array; events: Uint8Array } {
    let chars = 0;
    for (const chunk of chunks) chars += chunk.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const worstCase = chars * 3 + markerRoom;
    let target = this.writeBuffer;
    if (target.length < worstCase) {
      target = Buffer.allocUnsafe(worstCase);
      // Beyond the cap a group gets a buffer of its own, so one huge batch does not pin memory for good.
      if (worstCase <= MAX_RETAINED_WRITE_BUFFER_BYTES) this.writeBuffer = target;
    }
    let eventBytes = 0;
    for (const chunk of chunks) eventBytes += target.write(chunk, eventBytes);
    const events = target.subarray(0, eventBytes);
    const marker = markerFor(events);
    const markerBytes = target.write(marker, eventBytes);
    // A cut marker would make recovery drop the group: refuse it (rolled back, 503) rather than store it.
    if (markerBytes !== marker.length) throw new Error("commit marker did not fit the write buffer");
    return { buffer: target.subarray(0, eventBytes + markerBytes), events };
  }

  private appendFully(file: FileHandle, buffer: Uint8Array): void {
    let offset = 0;
    while (offset < buffer.length) {
      const wrote = this.storage.append(file, buffer.subarray(offset));
      if (wrote <= 0) throw new Error("write made no progress");
      offset += wrote;
    }
  }

  /**
   * Undo a failed group: cut every touched file back to its last commit. After
   * a failed fsync the page cache cannot be trusted, so the file is reopened
   * rather than reused. If this fails too the topic stays damaged and the cut
   * is retried before the next append.
   */
  private async rollBack(touched: TopicState[]): Promise<void> {
    for (const state of touched) this.damaged.add(state);
    try {
      await this.repairDamaged();
    } catch (error) {
      (this.options.report ?? console.warn)(`log: could not undo a failed append yet: ${(error as Error).message}`);
    }
  }

  private async repairDamaged(): Promise<void> {
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

  private topicState(topic: string): TopicState {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = this.newTopicState(topic, topic === KEYS_STREAM ? this.keysDir : join(this.topicsDir, topic));
      this.topics.set(topic, state);
    }
    return state;
  }

  private newTopicState(name: string, dir: string): TopicState {
    return { name, dir, segments: [], tail: null, head: 0, waiters: new Set() };
  }

  private notify(state: TopicState): void {
    for (const wake of [...state.waiters]) wake();
    for (const listener of this.commitListeners) {
      // A listener's failure is its own: the commit is durable and acknowledged, and the others still hear of it.
      try {
        listener(state.name, state.head);
      } catch (error) {
        this.report(`log: a commit listener failed: ${(error as Error)?.stack ?? String(error)}`);
      }
    }
  }

  /** First and last sequence stored under a date folder, or null when there are none. */
  private dateSpan(state: TopicState, date: string): { first: number; last: number } | null {
    const at = state.segments.findIndex((ref) => ref.date === date);
    if (at === -1) return null;
    let next = at;
    while (next < state.segments.length && state.segments[next]!.date === date) next++;
    const last = next < state.segments.length ? state.segments[next]!.firstSequence - 1 : state.head;
    const first = state.segments[at]!.firstSequence;
    return first <= last ? { first, last } : null;
  }

  private indexOf(state: TopicState, ref: SegmentRef): SegmentIndex {
    if (state.tail?.ref === ref) return state.tail.index;
    const cached = this.indexCache.get(ref.path);
    if (cached) {
      this.indexCache.delete(ref.path);
      this.indexCache.set(ref.path, cached);
      return cached;
    }
    const scan = scanSegment(readWholeFile(this.storage, ref.path), state.name, ref.firstSequence);
    this.cacheIndex(ref.path, scan.index);
    return scan.index;
  }

  private cacheIndex(path: string, index: SegmentIndex): void {
    this.indexCache.set(path, index);
    while (this.indexCache.size > DEFAULT_CACHED_SEGMENT_INDEXES) {
      this.indexCache.delete(this.indexCache.keys().next().value!);
    }
  }

  /** Event lines `from..to` (segment positions) as views into one read of the file. */
  private readLines(state: TopicState, ref: SegmentRef, index: SegmentIndex, from: number, to: number): Uint8Array[] {
    const start = index.start(from);
    const bytes = new Uint8Array(index.end(to) - start);
    const isTail = state.tail?.ref === ref;
    const file = isTail ? state.tail!.file : this.storage.openRead(ref.path);
    try {
      let offset = 0;
      while (offset < bytes.length) {
        const read = this.storage.read(file, bytes.subarray(offset), start + offset);
        if (read === 0) throw new LogCorruptError(`Segment of topic '${state.name}' is shorter than its index`);
        offset += read;
      }
    } finally {
      if (!isTail) this.storage.close(file);
    }
    const lines: Uint8Array[] = [];
    for (let i = from; i <= to; i++) lines.push(bytes.subarray(index.start(i) - start, index.end(i) - start));
    return lines;
  }
}

/** The length in bytes of each newline-terminated line of `bytes`, newline included. */
function lineByteLengths(bytes: Uint8Array): number[] {
  const lengths: number[] = [];
  for (let start = 0; start < bytes.length; ) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline === -1) break;
    lengths.push(newline + 1 - start);
    start = newline + 1;
  }
  return lengths;
}
