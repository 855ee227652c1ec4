import { join } from "node:path";
import { IdempotencyKeyReusedError, SequenceConflictError, ShuttingDownError, WriteFailedError } from "../errors.ts";
import type { AppendEvent, AppendResult, CommitListener, EventLog, GroupCommitStats, Idempotency, ReadRange, ReadResult } from "../store/event-log.ts";
import { CommitListeners } from "./commit-listeners.ts";
import { GroupBuilder } from "./group-builder.ts";
import { DEFAULT_IDEMPOTENCY_TTL_MS, IdempotencyKeys } from "./idempotency-keys.ts";
import { loadKeyStream } from "./key-stream.ts";
import { recoverLog } from "./recovery.ts";
import { SegmentReader } from "./segment-reader.ts";
import { DEFAULT_SEGMENT_MAX_BYTES, SegmentWriter, type WrittenStream } from "./segment-writer.ts";
import { type LogStorage, NodeLogStorage } from "./storage.ts";
import { KEYS_STREAM, newTopicState, type TopicState } from "./stream-state.ts";
import { TailRepair } from "./tail-repair.ts";

/** A group commit stops taking batches once it holds this many payload bytes. */
const GROUP_MAX_BYTES = 8 * 1024 * 1024;

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

export type { GroupCommitStats };

interface PendingAppend {
  events: readonly AppendEvent[];
  idempotency?: Idempotency;
  bytes: number;
  resolve: (result: AppendResult) => void;
  reject: (error: Error) => void;
}

/**
 * The file backend's event log: JSON-lines segments per topic and date,
 * appended by serialized group commits. Every append waiting while a commit
 * is on its way to disk joins the next one, which costs one write and one
 * fdatasync per topic it touches; promises resolve only after every
 * fdatasync of the group succeeded. This file is the commit queue; the
 * other jobs have a file each: segment-writer.ts (encoding, segment
 * rolling), segment-reader.ts (reads, index cache), tail-repair.ts
 * (rollback of a failed group), key-stream.ts and idempotency-keys.ts (the
 * idempotency window), recovery.ts (start-up after any stop),
 * commit-listeners.ts (subscriptions).
 */
export class FileEventLog implements EventLog {
  private readonly topics = new Map<string, TopicState>();
  private readonly storage: LogStorage;
  private readonly topicsDir: string;
  private readonly keysDir: string;
  private readonly keys: IdempotencyKeys;
  private readonly clock: () => number;
  private readonly report: (message: string) => void;
  private readonly reader: SegmentReader;
  private readonly writer: SegmentWriter;
  private readonly repair: TailRepair;
  private readonly listeners: CommitListeners;
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | null = null;
  private nextGroup = 1;
  private lastTimestampMs = 0;
  private closed = false;

  private constructor(private readonly options: FileEventLogOptions) {
    this.storage = options.storage ?? new NodeLogStorage();
    this.topicsDir = join(options.dataDir, "topics");
    this.keysDir = join(options.dataDir, "idempotency");
    this.clock = options.clock ?? Date.now;
    this.report = options.report ?? ((message: string) => console.warn(message));
    this.keys = new IdempotencyKeys(options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS, this.clock);
    this.reader = new SegmentReader(this.storage);
    this.writer = new SegmentWriter({
      storage: this.storage,
      segmentMaxBytes: options.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES,
      closedSegment: (path, index) => this.reader.cacheIndex(path, index),
    });
    this.repair = new TailRepair(this.storage, this.report);
    this.listeners = new CommitListeners(this.report);
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
      const state = newTopicState(recovered.name, recovered.dir);
      state.segments = recovered.segments;
      state.head = recovered.head;
      if (recovered.tail) {
        const { ref, index, committedBytes } = recovered.tail;
        state.tail = { ref, index, size: committedBytes, file: this.storage.openAppend(ref.path) };
      }
      this.topics.set(recovered.name, state);
    }
    loadKeyStream(this.storage, this.topics.get(KEYS_STREAM), this.keys, (range) => this.readNow(KEYS_STREAM, range));
  }

  head(topic: string): Promise<number> {
    return Promise.resolve(this.committedHead(topic));
  }

  /** `head` without a promise: this process is the log's only writer, so its memory is the truth. */
  committedHead(topic: string): number {
    return this.topics.get(topic)?.head ?? 0;
  }

  /** Idempotency keys still remembered (within the TTL). */
  idempotencyKeyCount(): Promise<number> {
    return Promise.resolve(this.keys.size);
  }

  append(events: readonly AppendEvent[], idempotency?: Idempotency): Promise<AppendResult> {
    return idempotency === undefined ? this.enqueue(events) : this.appendIdempotent(events, idempotency);
  }

  private async appendIdempotent(events: readonly AppendEvent[], { key, hash }: Idempotency): Promise<AppendResult> {
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
      return await appended;
    } finally {
      this.keys.pending.delete(key);
    }
  }

  private enqueue(events: readonly AppendEvent[], idempotency?: Idempotency): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new ShuttingDownError());
    let bytes = 0;
    for (const event of events) bytes += event.payloadJson.length + event.type.length + 96;
    const { promise, resolve, reject } = Promise.withResolvers<AppendResult>();
    this.queue.push({ events, bytes, resolve, reject, ...(idempotency ? { idempotency } : {}) });
    this.flushing ??= this.flush();
    return promise;
  }

  read(topic: string, range: ReadRange): Promise<ReadResult> {
    try {
      return Promise.resolve(this.readNow(topic, range));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `read`, synchronously (see SegmentReader). */
  readNow(topic: string, range: ReadRange): ReadResult {
    return this.reader.read(this.topics.get(topic), range);
  }

  subscribe(topics: readonly string[] | null, listener: CommitListener, signal: AbortSignal): void {
    if (signal.aborted) return;
    if (this.closed) {
      for (const topic of topics ?? []) listener(topic, this.committedHead(topic));
      return;
    }
    this.listeners.add(topics === null ? null : topics.map((topic) => this.topicState(topic)), listener, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    this.listeners.close(this.topics.values());
    for (const state of this.topics.values()) {
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
    if (this.repair.pending) {
      try {
        await this.repair.repair();
      } catch (error) {
        for (const pending of group) pending.reject(new WriteFailedError({ cause: error }));
        return;
      }
    }
    const builder = new GroupBuilder(Math.max(this.clock(), this.lastTimestampMs), (stream) => this.committedHead(stream), KEYS_STREAM);
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
      this.writer.write(builder, this.nextGroup++, (stream) => this.topicState(stream), written);
      await Promise.all(written.map(({ tail }) => this.storage.sync(tail.file)));
    } catch (error) {
      await this.repair.rollBack(written.map(({ state }) => state));
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
    for (const { pending, ids } of accepted) pending.resolve({ ids, replayed: false });
    for (const { state } of written) this.listeners.notify(state);
  }

  private topicState(topic: string): TopicState {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = newTopicState(topic, topic === KEYS_STREAM ? this.keysDir : join(this.topicsDir, topic));
      this.topics.set(topic, state);
    }
    return state;
  }
}
