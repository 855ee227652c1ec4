import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { type ConsumerMessages, JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager, type PubAck, type StoredMsg } from "@nats-io/jetstream";
import { ClusterUnavailableError, IdempotencyKeyReusedError, SequenceConflictError, ShuttingDownError } from "../../errors.ts";
import { afterIdJson, eventJson } from "../../events/event-json.ts";
import { EventIdFormatter } from "../../events/event-id.ts";
import { DEFAULT_IDEMPOTENCY_TTL_MS } from "../../log/idempotency-keys.ts";
import type { AppendEvent, AppendResult, CommitListener, EventLog, GroupCommitStats, Idempotency, ReadRange, ReadResult } from "../../store/event-log.ts";
import { BatchIndex, encodeRanges, HEADER_HASH, HEADER_KEY, HEADER_RANGES, HEADER_TIME, type TopicRange } from "./batch-index.ts";
import type { IndexCheckpoints } from "./index-checkpoints.ts";

export interface NatsEventLogOptions {
  connection: NatsConnection;
  jetstream: JetStreamClient;
  manager: JetStreamManager;
  /** The batch stream's name and its one subject. */
  stream: string;
  subject: string;
  /** ms since the epoch. @default Date.now */
  clock?: () => number;
  /** @default DEFAULT_IDEMPOTENCY_TTL_MS (the stream's duplicate window is set to it) */
  idempotencyTtlMs?: number;
  /** How long a publish waits for JetStream's ack before the batch is answered 503. @default DEFAULT_PUBLISH_TIMEOUT_MS */
  publishTimeoutMs?: number;
  onGroupCommit?: (stats: GroupCommitStats) => void;
  /** Where the index is checkpointed; absent: every open replays the whole stream. */
  checkpoints?: IndexCheckpoints;
}

/** @default 5 000 */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;
/** Attempts of one append against writers on other nodes (each lost race costs a catch-up). @default 1 000 */
const MAX_RACES = 1_000;
/** The ordered consumer's pull expiry (its heartbeat is half): how soon a follower whose server died is recreated. */
const FOLLOW_EXPIRES_MS = 5_000;
/** How often a node looks past the last message it applied, whatever its follower does. */
const SWEEP_INTERVAL_MS = 1_000;
/** Direct gets in flight for one read. */
const READ_CONCURRENCY = 64;
const NEWLINE = 10;
const encoder = new TextEncoder();

/**
 * The event log on JetStream. One stream holds batch messages: a batch is
 * one message (so it is atomic across topics on nats-server 2.9, which has
 * no atomic multi-message publish), its body the events' stored JSON lines
 * grouped by topic, its headers the per-topic sequence ranges, its time and
 * its idempotency key and hash.
 *
 * Every node keeps a BatchIndex from those headers (loaded from the index
 * checkpoint at open, then a headers-only ordered consumer replays the
 * stream after it and follows it, so commits of
 * any node reach `subscribe`). Appends from this node go one at a time with
 * `Nats-Expected-Last-Sequence` = the last stream sequence this node has
 * applied: a writer on another node that got there first makes JetStream
 * refuse it, this node catches up and decides again (ids, expectedSequence,
 * idempotency), so ids stay dense across nodes without any lock.
 * `Nats-Msg-Id` is the idempotency key, so JetStream's duplicate window
 * answers a retry on any node with the first message.
 */
export class NatsEventLog implements EventLog {
  private index = new BatchIndex();
  /** StreamInfo.created, which names this incarnation of the stream in checkpoints. */
  private streamCreated = "";
  private opened = false;
  /** Drops the keys past the TTL, so a checkpoint holds only live ones. */
  private readonly pruneKeys = () => void this.index.key("", this.clock() - this.ttlMs);
  /** See `checkpointSeq` and `replayedAtOpen`. */
  private loadedSeq = 0;
  private replayed = 0;
  private readonly clock: () => number;
  private readonly ttlMs: number;
  private readonly publishTimeoutMs: number;
  private readonly listeners = new Map<string | null, Set<CommitListener>>();
  /** Appends of this node, one at a time: concurrent ones would only lose the expected-last-sequence race to each other. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Plain appends waiting their turn, to be published together as one message (see `append`). */
  private gathering: PlainGroup | null = null;
  private catchingUp: Promise<void> | null = null;
  private messages: ConsumerMessages | null = null;
  private following: Promise<void> = Promise.resolve();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  private constructor(private readonly options: NatsEventLogOptions) {
    this.clock = options.clock ?? Date.now;
    this.ttlMs = options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
    this.publishTimeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  }

  /**
   * Opens over an existing stream: loads the index checkpoint, if any,
   * replays the headers (no bodies) after it up to the last sequence the
   * stream held at open, then keeps following it.
   */
  static async open(options: NatsEventLogOptions): Promise<NatsEventLog> {
    const log = new NatsEventLog(options);
    const info = await options.manager.streams.info(options.stream);
    log.streamCreated = info.created;
    const checkpoint = await options.checkpoints?.load(info);
    if (checkpoint) log.index = checkpoint;
    log.loadedSeq = log.index.lastStreamSeq;
    const consumer = await options.jetstream.consumers.get(options.stream, { headers_only: true, opt_start_seq: log.loadedSeq + 1 });
    // Shorter than the 30 s default: after the server holding it dies, the ordered consumer is recreated in seconds.
    log.messages = await consumer.consume({ expires: FOLLOW_EXPIRES_MS });
    const { promise: replayed, resolve } = Promise.withResolvers<void>();
    const target = info.state.last_seq;
    if (log.index.lastStreamSeq >= target) resolve();
    const messages = log.messages;
    log.following = (async () => {
      for await (const message of messages) {
        if (message.seq <= target) log.replayed++;
        log.applyMessage(message.seq, message.headers);
        if (log.index.lastStreamSeq >= target) resolve();
      }
    })();
    await replayed;
    log.opened = true;
    log.checkpointIfDue();
    log.sweeper = setInterval(() => log.sweep(), SWEEP_INTERVAL_MS);
    log.sweeper.unref?.();
    return log;
  }

  /** The stream sequence of the checkpoint loaded at open (0: none, the whole stream was replayed). */
  get checkpointSeq(): number {
    return this.loadedSeq;
  }

  /** Messages whose headers the replay at open received (those after the checkpoint, when it starts there). */
  get replayedAtOpen(): number {
    return this.replayed;
  }

  /**
   * The safety net under the ordered consumer: once a second, one direct get
   * past the last applied message (null when caught up), so a follower that
   * stalled — its server restarted, say — delays other nodes' commits here by
   * a second at most, not until it recovers.
   */
  private sweep(): void {
    if (this.closed || this.catchingUp !== null) return;
    this.catchUp().catch(() => {
      // Unreachable now; the next sweep tries again.
    });
  }

  head(topic: string): Promise<number> {
    return Promise.resolve(this.index.head(topic));
  }

  /** The head as this node has seen it (its own commits and those the stream delivered so far). */
  committedHead(topic: string): number {
    return this.index.head(topic);
  }

  idempotencyKeyCount(): Promise<number> {
    this.index.key("", this.clock() - this.ttlMs);
    return Promise.resolve(this.index.keys.size);
  }

  /**
   * Appends wait for the one in flight. Plain batches (no idempotency key,
   * no expectedSequence) that wait together are published as one message —
   * the group commit of this backend — so a node's throughput is not one
   * batch per JetStream round trip. Each keeps its own ids; the message is
   * atomic, so they are stored all together or (503) none of them.
   */
  append(events: readonly AppendEvent[], idempotency?: Idempotency): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new ShuttingDownError());
    if (idempotency !== undefined || events.some((event) => event.expectedSequence !== undefined)) {
      const result = this.queue.then(() => this.appendNow(events, idempotency));
      this.queue = result.catch(() => {});
      return result;
    }
    const bytes = estimatedBytes(events);
    if (this.gathering === null || this.gathering.bytes + bytes > this.groupLimitBytes()) {
      const group: PlainGroup = { batches: [], bytes: 0 };
      this.gathering = group;
      this.queue = this.queue.then(() => {
        if (this.gathering === group) this.gathering = null;
        return this.appendGroup(group);
      });
    }
    const { promise, resolve, reject } = Promise.withResolvers<AppendResult>();
    this.gathering.batches.push({ events, resolve, reject });
    this.gathering.bytes += bytes;
    return promise;
  }

  /** Half the servers' max_payload: the estimate is rough, and a message over it is refused whole. */
  private groupLimitBytes(): number {
    return (this.options.connection.info?.max_payload ?? 1024 * 1024) / 2;
  }

  /** Publishes a group of plain batches as one message; never rejects (each batch's promise carries the outcome). */
  private async appendGroup(group: PlainGroup): Promise<void> {
    try {
      if (this.closed) throw new ShuttingDownError();
      if (group.batches.length === 1) {
        const only = group.batches[0]!;
        only.resolve(await this.appendNow(only.events, undefined));
        return;
      }
      for (let race = 0; race < MAX_RACES; race++) {
        const started = performance.now();
        const expected = this.index.lastStreamSeq;
        const { body, header, ids } = this.encode(group.batches.map((batch) => batch.events), undefined);
        try {
          const ack = await this.options.jetstream.publish(this.options.subject, body, { expect: { lastSequence: expected }, headers: header, timeout: this.publishTimeoutMs });
          if (this.applyMessage(ack.seq, header) === null) await this.catchUp();
        } catch (error) {
          if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence) {
            await this.catchUp();
            continue;
          }
          throw new ClusterUnavailableError({ cause: error });
        }
        const events = group.batches.reduce((sum, batch) => sum + batch.events.length, 0);
        this.options.onGroupCommit?.({ batches: group.batches.length, events, seconds: (performance.now() - started) / 1000 });
        group.batches.forEach((batch, i) => batch.resolve({ ids: ids[i]!, replayed: false }));
        return;
      }
      throw new ClusterUnavailableError({ cause: new Error(`lost ${MAX_RACES} races to other writers`) });
    } catch (error) {
      for (const batch of group.batches) batch.reject(error);
    }
  }

  async read(topic: string, range: ReadRange): Promise<ReadResult> {
    const index = this.index.topics.get(topic);
    const empty = { events: [], lastSequence: range.after };
    if (index === undefined) return empty;
    let first = range.after + 1;
    let last = Math.min(index.head, range.after + range.limit);
    if (range.fromTime !== undefined || range.beforeTime !== undefined) {
      first = Math.max(first, range.fromTime === undefined ? 1 : index.firstSequenceAt(range.fromTime));
      const end = range.beforeTime === undefined ? index.head : index.firstSequenceAt(range.beforeTime) - 1;
      last = Math.min(end, first + range.limit - 1);
    }
    if (last < first) return empty;
    // The batch messages holding first..last, each fetched once.
    const wanted: { entry: number; from: number; to: number }[] = [];
    for (let entry = index.entryOf(first); entry < index.lasts.length && index.firsts[entry]! <= last; entry++) {
      wanted.push({ entry, from: Math.max(first, index.firsts[entry]!), to: Math.min(last, index.lasts[entry]!) });
    }
    const events: Uint8Array[] = [];
    for (let start = 0; start < wanted.length; start += READ_CONCURRENCY) {
      const chunk = wanted.slice(start, start + READ_CONCURRENCY);
      const bodies = await Promise.all(chunk.map((w) => this.body(index.streamSeqs[w.entry]!)));
      chunk.forEach((w, i) => {
        const firstLine = index.lines[w.entry]! + (w.from - index.firsts[w.entry]!);
        events.push(...lines(bodies[i]!, firstLine, w.to - w.from + 1));
      });
    }
    return { events, lastSequence: last };
  }

  subscribe(topics: readonly string[] | null, listener: CommitListener, signal: AbortSignal): void {
    if (signal.aborted) return;
    if (this.closed) {
      for (const topic of topics ?? []) listener(topic, this.index.head(topic));
      return;
    }
    const keys = topics === null ? [null] : [...topics];
    for (const key of keys) {
      let set = this.listeners.get(key);
      if (set === undefined) this.listeners.set(key, (set = new Set()));
      set.add(listener);
    }
    signal.addEventListener("abort", () => {
      for (const key of keys) this.listeners.get(key)?.delete(listener);
    }, { once: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    await this.queue;
    await this.options.checkpoints?.stop();
    await this.messages?.close();
    await this.following.catch(() => {});
    for (const [key, set] of [...this.listeners]) {
      if (key === null) continue;
      for (const listener of [...set]) listener(key, this.index.head(key));
    }
    this.listeners.clear();
  }

  private async appendNow(events: readonly AppendEvent[], idempotency: Idempotency | undefined): Promise<AppendResult> {
    if (this.closed) throw new ShuttingDownError();
    let withoutMsgId = false;
    for (let race = 0; race < MAX_RACES; race++) {
      if (idempotency !== undefined) {
        const record = this.index.key(idempotency.key, this.clock() - this.ttlMs);
        if (record !== undefined) return this.replay(events, idempotency, record.hash, record.streamSeq);
      }
      let conflict = this.conflict(events);
      if (conflict !== null) {
        // Decided on what this node has seen: another node may have moved the topic since.
        await this.catchUp();
        if (idempotency !== undefined && this.index.key(idempotency.key, this.clock() - this.ttlMs) !== undefined) continue;
        conflict = this.conflict(events);
        if (conflict !== null) throw conflict;
      }
      const started = performance.now();
      const expected = this.index.lastStreamSeq;
      const encoded = this.encode([events], idempotency);
      const { body, header } = encoded;
      const ids = encoded.ids[0]!;
      let ack: PubAck;
      try {
        ack = await this.options.jetstream.publish(this.options.subject, body, {
          expect: { lastSequence: expected },
          ...(idempotency === undefined || withoutMsgId ? {} : { msgID: idempotency.key }),
          headers: header,
          timeout: this.publishTimeoutMs,
        });
      } catch (error) {
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence) {
          await this.catchUp();
          continue;
        }
        throw new ClusterUnavailableError({ cause: error });
      }
      if (ack.duplicate) {
        await this.catchUp();
        const record = this.index.key(idempotency!.key, this.clock() - this.ttlMs);
        if (record !== undefined) return this.replay(events, idempotency!, record.hash, record.streamSeq);
        // JetStream's window (real time) still holds the key, but by this store's clock it is older than
        // the TTL: a new batch under it. Stored without Nats-Msg-Id; its ES-Key header makes it the key's record.
        withoutMsgId = true;
        continue;
      }
      // JetStream took it as the message after `expected`: this node's index continues with it.
      if (this.applyMessage(ack.seq, header) === null) await this.catchUp();
      this.options.onGroupCommit?.({ batches: 1, events: events.length, seconds: (performance.now() - started) / 1000 });
      return { ids, replayed: false };
    }
    throw new ClusterUnavailableError({ cause: new Error(`lost ${MAX_RACES} races to other writers`) });
  }

  /** The first answer's ids, rebuilt from its ranges and the (same) batch's topics. */
  private async replay(events: readonly AppendEvent[], idempotency: Idempotency, hash: string, streamSeq: number): Promise<AppendResult> {
    if (hash !== idempotency.hash) throw new IdempotencyKeyReusedError(idempotency.key);
    const message = await this.message(streamSeq);
    const next = new Map<string, number>();
    for (const part of (message?.header.get(HEADER_RANGES) ?? "").split(",")) {
      const [topic, first] = part.split(" ");
      if (topic !== undefined) next.set(topic, Number(first));
    }
    const ids = events.map((event) => {
      const sequence = next.get(event.topic) ?? 0;
      next.set(event.topic, sequence + 1);
      return `${event.topic}-${sequence}`;
    });
    return { ids, replayed: true };
  }

  /** One message of `batches` in order (their events numbered on from the heads); `ids[i]` are batch i's. */
  private encode(batches: readonly (readonly AppendEvent[])[], idempotency: Idempotency | undefined): { body: Uint8Array; header: MsgHdrs; ids: string[][] } {
    const nowMs = Math.max(this.clock(), this.index.lastTimeMs);
    const afterId = afterIdJson(new Date(nowMs).toISOString());
    const byTopic = new Map<string, { formatter: EventIdFormatter; next: number; lines: string[] }>();
    const ids: string[][] = [];
    for (const events of batches) {
      const batchIds: string[] = [];
      for (const event of events) {
        let group = byTopic.get(event.topic);
        if (group === undefined) byTopic.set(event.topic, (group = { formatter: new EventIdFormatter(event.topic), next: this.index.head(event.topic) + 1, lines: [] }));
        const id = group.formatter.format(group.next++);
        batchIds.push(id);
        group.lines.push(eventJson(id, afterId, JSON.stringify(event.type), event.payloadJson));
      }
      ids.push(batchIds);
    }
    const ranges: TopicRange[] = [];
    const allLines: string[] = [];
    for (const [topic, group] of byTopic) {
      ranges.push({ topic, first: group.next - group.lines.length, last: group.next - 1, line: allLines.length });
      allLines.push(...group.lines);
    }
    const header = natsHeaders();
    header.set(HEADER_RANGES, encodeRanges(ranges));
    header.set(HEADER_TIME, String(nowMs));
    if (idempotency !== undefined) {
      header.set(HEADER_KEY, idempotency.key);
      header.set(HEADER_HASH, idempotency.hash);
    }
    return { body: encoder.encode(allLines.join("\n")), header, ids };
  }

  private conflict(events: readonly AppendEvent[]): SequenceConflictError | null {
    const heads = new Map<string, number>();
    for (const event of events) {
      const current = heads.get(event.topic) ?? this.index.head(event.topic);
      if (event.expectedSequence !== undefined && event.expectedSequence !== current) {
        return new SequenceConflictError(event.topic, event.expectedSequence, current);
      }
      heads.set(event.topic, current + 1);
    }
    return null;
  }

  /** Applies the stream's messages after the last applied one, up to its end, by direct get. */
  private catchUp(): Promise<void> {
    this.catchingUp ??= (async () => {
      try {
        for (;;) {
          const message = await this.message(this.index.lastStreamSeq + 1, false);
          if (message === null) return;
          this.applyMessage(message.seq, message.header);
        }
      } catch (error) {
        throw error instanceof ClusterUnavailableError ? error : new ClusterUnavailableError({ cause: error });
      } finally {
        this.catchingUp = null;
      }
    })();
    return this.catchingUp;
  }

  private applyMessage(streamSeq: number, header: MsgHdrs | undefined): TopicRange[] | null {
    const ranges = this.index.apply(streamSeq, (name) => header?.get(name) ?? "");
    if (ranges !== null) {
      for (const range of ranges) this.notify(range.topic, range.last);
      if (this.opened) this.checkpointIfDue();
    }
    return ranges;
  }

  private checkpointIfDue(): void {
    this.options.checkpoints?.applied(this.index, this.streamCreated, this.pruneKeys);
  }

  private notify(topic: string, head: number): void {
    for (const key of [topic, null]) {
      for (const listener of [...(this.listeners.get(key) ?? [])]) {
        try {
          listener(topic, head);
        } catch {
          // A listener's failure is its own: the commit stands and the others still hear of it.
        }
      }
    }
  }

  /**
   * A message by stream sequence. Direct gets may be answered by a replica
   * that lags, so a message this node knows to exist and a replica does not
   * have yet is asked of the stream leader.
   */
  private async message(streamSeq: number, mustExist = true): Promise<StoredMsg | null> {
    try {
      const direct = await this.options.manager.direct.getMessage(this.options.stream, { seq: streamSeq });
      if (direct !== null || !mustExist) return direct;
      return await this.options.manager.streams.getMessage(this.options.stream, { seq: streamSeq });
    } catch (error) {
      // A get timing out while a nats-server is down is the cluster's state, not a bug: 503, not 500.
      throw new ClusterUnavailableError({ cause: error });
    }
  }

  private async body(streamSeq: number): Promise<Uint8Array> {
    const message = await this.message(streamSeq);
    if (message === null) throw new ClusterUnavailableError({ cause: new Error(`batch message ${streamSeq} is missing from ${this.options.stream}`) });
    return message.data;
  }
}

/** Plain batches gathered while an append was in flight, with the callers waiting for them. */
interface PlainGroup {
  batches: { events: readonly AppendEvent[]; resolve(result: AppendResult): void; reject(error: unknown): void }[];
  /** `estimatedBytes` of them all. */
  bytes: number;
}

/** About what a batch adds to a message: each event's JSON line is its payload, type, id and time. */
function estimatedBytes(events: readonly AppendEvent[]): number {
  let bytes = 0;
  for (const event of events) bytes += event.payloadJson.length + event.type.length + event.topic.length + 96;
  return bytes;
}

/** `count` lines of `body` from line `firstLine` (lines are separated by `\n`; event JSON holds none). */
function lines(body: Uint8Array, firstLine: number, count: number): Uint8Array[] {
  let start = 0;
  for (let line = 0; line < firstLine; line++) start = body.indexOf(NEWLINE, start) + 1;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    let end = body.indexOf(NEWLINE, start);
    if (end < 0) end = body.length;
    out.push(body.subarray(start, end));
    start = end + 1;
  }
  return out;
}
