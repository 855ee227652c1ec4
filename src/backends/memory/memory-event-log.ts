import { IdempotencyKeyReusedError, SequenceConflictError, ShuttingDownError } from "../../errors.ts";
import { afterIdJson, eventJson } from "../../events/event-json.ts";
import { EventIdFormatter } from "../../events/event-id.ts";
import { DEFAULT_IDEMPOTENCY_TTL_MS, type KeyRecord } from "../../log/idempotency-keys.ts";
import type { AppendEvent, AppendResult, CommitListener, EventLog, GroupCommitStats, Idempotency, ReadRange, ReadResult } from "../../store/event-log.ts";
import type { MemoryData, MemoryStream } from "./memory-data.ts";
import { lowerBound } from "../lower-bound.ts";

export interface MemoryEventLogOptions {
  data: MemoryData;
  /** ms since the epoch. @default Date.now */
  clock?: () => number;
  /** @default DEFAULT_IDEMPOTENCY_TTL_MS */
  idempotencyTtlMs?: number;
  /** Told of every append once stored (one batch per commit here), for metrics. */
  onGroupCommit?: (stats: GroupCommitStats) => void;
}

const encoder = new TextEncoder();

/**
 * The event log in memory, for tests and demos: the same semantics as the
 * file log (dense ids, atomic batches, expectedSequence, idempotency keys,
 * timestamps that never go backwards), with "durable" meaning "stored in
 * `MemoryData`". An append is decided synchronously, so batches are atomic
 * without a commit queue.
 */
export class MemoryEventLog implements EventLog {
  private readonly data: MemoryData;
  private readonly clock: () => number;
  private readonly ttlMs: number;
  private readonly onGroupCommit: ((stats: GroupCommitStats) => void) | undefined;
  /** This log's subscriptions, ended when it closes. */
  private readonly own = new Map<CommitListener, (string | null)[]>();
  private closed = false;

  constructor(options: MemoryEventLogOptions) {
    this.data = options.data;
    this.clock = options.clock ?? Date.now;
    this.ttlMs = options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
    this.onGroupCommit = options.onGroupCommit;
  }

  idempotencyKeyCount(): Promise<number> {
    this.keyRecord("");
    return Promise.resolve(this.data.keys.size);
  }

  head(topic: string): Promise<number> {
    return Promise.resolve(this.committedHead(topic));
  }

  committedHead(topic: string): number {
    return this.data.streams.get(topic)?.events.length ?? 0;
  }

  append(events: readonly AppendEvent[], idempotency?: Idempotency): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new ShuttingDownError());
    if (idempotency !== undefined) {
      const record = this.keyRecord(idempotency.key);
      if (record !== undefined) {
        if (record.hash !== idempotency.hash) return Promise.reject(new IdempotencyKeyReusedError(idempotency.key));
        return Promise.resolve({ ids: record.ids, replayed: true });
      }
    }
    const conflict = this.conflict(events);
    if (conflict !== null) return Promise.reject(conflict);

    const nowMs = Math.max(this.clock(), this.data.lastTimestampMs);
    const afterId = afterIdJson(new Date(nowMs).toISOString());
    const ids: string[] = [];
    const touched = new Set<string>();
    for (const event of events) {
      const stream = this.streamFor(event.topic);
      const id = new EventIdFormatter(event.topic).format(stream.events.length + 1);
      ids.push(id);
      stream.events.push(encoder.encode(eventJson(id, afterId, JSON.stringify(event.type), event.payloadJson)));
      stream.timesMs.push(nowMs);
      touched.add(event.topic);
    }
    this.data.lastTimestampMs = nowMs;
    if (idempotency !== undefined) this.data.keys.set(idempotency.key, { key: idempotency.key, hash: idempotency.hash, ids, at: nowMs });
    this.onGroupCommit?.({ batches: 1, events: events.length, seconds: 0 });
    for (const topic of touched) this.notify(topic, this.committedHead(topic));
    return Promise.resolve({ ids, replayed: false });
  }

  read(topic: string, range: ReadRange): Promise<ReadResult> {
    const stream = this.data.streams.get(topic);
    if (stream === undefined) return Promise.resolve({ events: [], lastSequence: range.after });
    let first = range.after + 1;
    let last = Math.min(stream.events.length, range.after + range.limit);
    if (range.fromTime !== undefined || range.beforeTime !== undefined) {
      // Sequences whose time is in [fromTime, beforeTime): times never go backwards in a topic.
      const start = lowerBound(stream.timesMs, range.fromTime ?? Number.NEGATIVE_INFINITY);
      const end = lowerBound(stream.timesMs, range.beforeTime ?? Number.POSITIVE_INFINITY);
      first = Math.max(first, start + 1);
      last = Math.min(end, first + range.limit - 1);
    }
    if (last < first) return Promise.resolve({ events: [], lastSequence: range.after });
    return Promise.resolve({ events: stream.events.slice(first - 1, last), lastSequence: last });
  }

  subscribe(topics: readonly string[] | null, listener: CommitListener, signal: AbortSignal): void {
    if (signal.aborted) return;
    if (this.closed) {
      for (const topic of topics ?? []) listener(topic, this.committedHead(topic));
      return;
    }
    const keys = topics === null ? [null] : [...topics];
    for (const key of keys) {
      let set = this.data.listeners.get(key);
      if (set === undefined) this.data.listeners.set(key, (set = new Set()));
      set.add(listener);
    }
    this.own.set(listener, keys);
    signal.addEventListener("abort", () => this.unsubscribe(listener), { once: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [listener, keys] of [...this.own]) {
      this.unsubscribe(listener);
      for (const key of keys) if (key !== null) listener(key, this.committedHead(key));
    }
  }

  private unsubscribe(listener: CommitListener): void {
    for (const key of this.own.get(listener) ?? []) this.data.listeners.get(key)?.delete(listener);
    this.own.delete(listener);
  }

  private notify(topic: string, head: number): void {
    for (const key of [topic, null]) {
      for (const listener of [...(this.data.listeners.get(key) ?? [])]) {
        try {
          listener(topic, head);
        } catch {
          // A listener's failure is its own: the commit stands and the others still hear of it.
        }
      }
    }
  }

  private streamFor(topic: string): MemoryStream {
    let stream = this.data.streams.get(topic);
    if (stream === undefined) this.data.streams.set(topic, (stream = { events: [], timesMs: [] }));
    return stream;
  }

  private keyRecord(key: string): KeyRecord | undefined {
    const cutoff = this.clock() - this.ttlMs;
    for (const [oldest, record] of this.data.keys) {
      if (record.at >= cutoff) break;
      this.data.keys.delete(oldest);
    }
    return this.data.keys.get(key);
  }

  /** The first `expectedSequence` that does not hold, earlier events of the batch counted. */
  private conflict(events: readonly AppendEvent[]): SequenceConflictError | null {
    const heads = new Map<string, number>();
    for (const event of events) {
      const current = heads.get(event.topic) ?? this.committedHead(event.topic);
      if (event.expectedSequence !== undefined && event.expectedSequence !== current) {
        return new SequenceConflictError(event.topic, event.expectedSequence, current);
      }
      heads.set(event.topic, current + 1);
    }
    return null;
  }
}
