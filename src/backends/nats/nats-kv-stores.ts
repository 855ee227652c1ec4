import { type KV, type KvEntry, KvWatchInclude, type KvWatchEntry } from "@nats-io/kv";
import type { QueuedIterator } from "@nats-io/transport-node";
import { ClusterUnavailableError, ConsumersCorruptError, ConsumersWriteFailedError, TopicExistsError, WriteFailedError } from "../../errors.ts";
import { type ConsumerRemoval, type ConsumerStore, MAX_REMEMBERED_REMOVALS, type StoredConsumer } from "../../store/consumer-store.ts";
import { HeldConsumers } from "../held-consumers.ts";
import type { StoredTopics, TopicDefinition, TopicLoadFailure, TopicStore } from "../../store/topic-store.ts";

/** KV keys allow `[-/_=.A-Za-z0-9]` with non-empty dot-separated tokens; names may hold `..`, so they are base64url'd. */
export function kvKey(name: string): string {
  return Buffer.from(name, "utf8").toString("base64url");
}

export function fromKvKey(key: string): string {
  return Buffer.from(key, "base64url").toString("utf8");
}

async function allKeys(kv: KV, filter?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys(filter)) keys.push(key);
  return keys;
}

/**
 * Topic documents in a KV bucket, one key per topic; a put is atomic and,
 * at R3, confirmed by a quorum. Reads keep the newest revision seen per
 * key, so an answer that arrives late never replaces a newer one.
 */
export class NatsTopicStore implements TopicStore {
  private readonly newest = new Map<string, { revision: number; definition: TopicDefinition }>();

  constructor(private readonly kv: KV, private readonly bucket: string) {}

  async load(): Promise<StoredTopics> {
    const definitions: TopicDefinition[] = [];
    const failures: TopicLoadFailure[] = [];
    for (const key of await allKeys(this.kv)) {
      const entry = await this.kv.get(key);
      if (entry === null || entry.operation !== "PUT") continue;
      try {
        definitions.push(JSON.parse(entry.string()) as TopicDefinition);
      } catch (error) {
        failures.push({ file: key, source: `KV ${this.bucket}/${key} (topic ${fromKvKey(key)})`, reason: (error as Error).message });
      }
    }
    definitions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { definitions, failures };
  }

  async loadOne(name: string): Promise<TopicDefinition | null> {
    let entry: Awaited<ReturnType<KV["get"]>>;
    try {
      entry = await this.kv.get(kvKey(name));
    } catch (error) {
      throw new ClusterUnavailableError({ cause: error });
    }
    if (entry === null || entry.operation !== "PUT") return null;
    const known = this.newest.get(entry.key);
    if (known !== undefined && known.revision >= entry.revision) return known.definition;
    let definition: TopicDefinition;
    try {
      definition = JSON.parse(entry.string()) as TopicDefinition;
    } catch {
      // Reported as a load failure at start-up; unusable here as well.
      return null;
    }
    this.newest.set(entry.key, { revision: entry.revision, definition });
    return definition;
  }

  async save(definition: TopicDefinition, document: string, mode?: { create: boolean }): Promise<void> {
    try {
      // A create refuses a name another node stored first: two nodes creating one name at once, one wins.
      if (mode?.create) await this.kv.create(kvKey(definition.name), document);
      else await this.kv.put(kvKey(definition.name), document);
    } catch (error) {
      if (mode?.create && isRevisionConflict(error)) throw new TopicExistsError(definition.name);
      throw new WriteFailedError({ cause: error }, "Failed to store the topic in JetStream");
    }
  }

  watch(listener: (name: string) => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    void (async () => {
      try {
        const watcher = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly, ignoreDeletes: true });
        signal.addEventListener("abort", () => watcher.stop(), { once: true });
        if (signal.aborted) return watcher.stop();
        for await (const entry of watcher) listener(fromKvKey(entry.key));
      } catch {
        // The watch ended with the connection; unknown names are still read on demand (loadOne).
      }
    })();
  }
}

const CONSUMER = "c.";
const REMOVAL = "r.";

/** JetStream refused a create or compare-and-set because the key is at another revision. */
export function isRevisionConflict(error: unknown): boolean {
  return /wrong last sequence/i.test((error as Error)?.message ?? "");
}

/** Attempts of one change against records other nodes change too; each conflict re-reads the record first. */
const MAX_CONFLICT_RETRIES = 5;

/**
 * Registrations (with their cursors) and removals in one KV bucket:
 * `c.<id>` holds a StoredConsumer, `r.<id>` a ConsumerRemoval. Loaded at
 * open and then kept current by a watch of the bucket, so every node sees
 * what the others register, remove, pause, resume and deliver. A change is
 * a compare-and-set of the whole record on the revision this node last saw
 * (a conflict re-reads it and applies the change again), so a resume on one
 * node and a cursor moved by another never undo each other. Which node
 * delivers a consumer is a lease in another bucket (see NatsLeases).
 */
export class NatsConsumerStore extends HeldConsumers implements ConsumerStore {
  private readonly writes = new Set<Promise<unknown>>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Key → the newest revision this node has applied: older news (an echo of a write already answered) is ignored. */
  private readonly revisions = new Map<string, number>();
  private readonly listeners = new Set<(consumerId: string) => void>();
  private watcher: QueuedIterator<KvWatchEntry> | null = null;

  private constructor(private readonly kv: KV) {
    super();
  }

  static async open(kv: KV): Promise<NatsConsumerStore> {
    const store = new NatsConsumerStore(kv);
    // Watching before loading: a change made meanwhile is queued, and its revision says whether it is news.
    const watcher = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    try {
      const entries: KvEntry[] = [];
      for (const key of await allKeys(kv)) {
        const entry = await kv.get(key);
        if (entry !== null) entries.push(entry);
      }
      for (const entry of entries) {
        try {
          store.apply(entry);
        } catch (error) {
          throw new ConsumersCorruptError(`consumer record ${entry.key} cannot be decoded`, { cause: error });
        }
      }
      store.sortByRegistration();
    } catch (error) {
      watcher.stop();
      throw error;
    }
    store.watcher = watcher;
    void store.follow(watcher);
    return store;
  }

  override watch(listener: (consumerId: string) => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.listeners.add(listener);
    signal.addEventListener("abort", () => this.listeners.delete(listener), { once: true });
  }

  /** Reads a consumer's record again, before this node starts delivering it (the watch may lag a write just made elsewhere). */
  async refresh(id: string): Promise<void> {
    const key = CONSUMER + kvKey(id);
    const entry = await this.kv.get(key);
    if (entry !== null) this.apply(entry);
  }

  async add(consumer: StoredConsumer): Promise<void> {
    const key = CONSUMER + kvKey(consumer.id);
    const revision = await this.write(() => this.kv.create(key, JSON.stringify(consumer)));
    this.applyOwn(key, revision, consumer);
  }

  remove(id: string, removal?: Omit<ConsumerRemoval, "id" | "callback">): Promise<void> {
    return this.serialized(id, () => this.removeNow(id, removal));
  }

  private async removeNow(id: string, removal?: Omit<ConsumerRemoval, "id" | "callback">): Promise<void> {
    const consumer = this.consumers.get(id);
    if (consumer === undefined) return;
    this.consumers.delete(id);
    if (removal) {
      const record = { id, callback: consumer.callback, ...removal };
      const oldest = this.rememberRemoval(record);
      if (oldest !== undefined) await this.write(() => this.kv.purge(REMOVAL + kvKey(oldest)));
      await this.write(() => this.kv.put(REMOVAL + kvKey(id), JSON.stringify(record)));
    }
    await this.write(() => this.kv.purge(CONSUMER + kvKey(id)));
  }

  /** The cursor is seen moved (by `get`, `list`) only once the put is confirmed. */
  advance(id: string, topic: string, sequence: number): Promise<void> {
    return this.change(id, (consumer) => ((consumer.cursors[topic] ?? 0) >= sequence ? null : { ...consumer, cursors: { ...consumer.cursors, [topic]: sequence } }));
  }

  setPaused(id: string, paused: boolean): Promise<void> {
    return this.change(id, (consumer) => (consumer.paused === paused ? null : { ...consumer, paused }));
  }

  async close(): Promise<void> {
    this.watcher?.stop();
    this.listeners.clear();
    await Promise.allSettled([...this.writes]);
  }

  /** Applies `next(record)` (null: nothing to change) as a compare-and-set, re-reading the record after each conflict. */
  private change(id: string, next: (consumer: StoredConsumer) => StoredConsumer | null): Promise<void> {
    return this.serialized(id, async () => {
      const key = CONSUMER + kvKey(id);
      for (let attempt = 0; ; attempt++) {
        const consumer = this.consumers.get(id);
        const changed = consumer === undefined ? null : next(consumer);
        if (changed === null) return;
        try {
          const revision = await this.kv.put(key, JSON.stringify(changed), { previousSeq: this.revisions.get(key) ?? 0 });
          this.applyOwn(key, revision, changed);
          return;
        } catch (error) {
          if (!isRevisionConflict(error) || attempt >= MAX_CONFLICT_RETRIES) throw new ConsumersWriteFailedError({ cause: error });
          await this.refresh(id).catch((failure: unknown) => {
            throw new ConsumersWriteFailedError({ cause: failure });
          });
        }
      }
    });
  }

  /** Applies an entry of the bucket unless this node already has it or newer; returns the consumer it changed, if any. */
  private apply(entry: KvEntry): string | null {
    if (entry.revision <= (this.revisions.get(entry.key) ?? 0)) return null;
    const put = entry.operation === "PUT";
    const value: unknown = put ? JSON.parse(entry.string()) : null;
    this.revisions.set(entry.key, entry.revision);
    if (entry.key.startsWith(CONSUMER)) {
      const id = fromKvKey(entry.key.slice(CONSUMER.length));
      if (put) this.consumers.set(id, withForwardCursors(value as StoredConsumer, this.consumers.get(id)));
      else this.consumers.delete(id);
      return id;
    }
    if (entry.key.startsWith(REMOVAL)) {
      const id = fromKvKey(entry.key.slice(REMOVAL.length));
      if (put) this.rememberRemoval(value as ConsumerRemoval);
      else this.removals.delete(id);
    }
    return null;
  }

  private applyOwn(key: string, revision: number, consumer: StoredConsumer): void {
    if (revision <= (this.revisions.get(key) ?? 0)) return;
    this.revisions.set(key, revision);
    this.consumers.set(consumer.id, consumer);
  }

  private async follow(watcher: QueuedIterator<KvWatchEntry>): Promise<void> {
    try {
      for await (const entry of watcher) {
        let changed: string | null;
        try {
          changed = this.apply(entry);
        } catch {
          continue; // an undecodable record changes nothing here
        }
        if (changed !== null) for (const listener of this.listeners) listener(changed);
      }
    } catch {
      // The watch ended with the connection; the store closes with it.
    }
  }

  private sortByRegistration(): void {
    const sorted = [...this.consumers.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
    this.consumers.clear();
    for (const consumer of sorted) this.consumers.set(consumer.id, consumer);
  }

  /** One change at a time per consumer: each put is the whole record, built from the one before. */
  private serialized(id: string, change: () => Promise<void>): Promise<void> {
    const result = (this.chains.get(id) ?? Promise.resolve()).then(change);
    const settled = result.catch(() => {});
    this.chains.set(id, settled);
    void settled.then(() => {
      if (this.chains.get(id) === settled) this.chains.delete(id);
    });
    return result;
  }

  private async write<T>(put: () => Promise<T>): Promise<T> {
    const write = put();
    this.writes.add(write);
    try {
      return await write;
    } catch (error) {
      throw new ConsumersWriteFailedError({ cause: error });
    } finally {
      this.writes.delete(write);
    }
  }
}

/** A record from another node with this node's cursors where they are further: a cursor never goes back. */
function withForwardCursors(incoming: StoredConsumer, known: StoredConsumer | undefined): StoredConsumer {
  if (known === undefined) return incoming;
  const cursors = { ...incoming.cursors };
  for (const [topic, cursor] of Object.entries(known.cursors)) if (topic in cursors && cursors[topic]! < cursor) cursors[topic] = cursor;
  return { ...incoming, cursors };
}
