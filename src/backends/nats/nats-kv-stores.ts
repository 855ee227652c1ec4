import type { KV } from "@nats-io/kv";
import { ClusterUnavailableError, ConsumersCorruptError, ConsumersWriteFailedError, WriteFailedError } from "../../errors.ts";
import { type ConsumerRemoval, type ConsumerStore, MAX_REMEMBERED_REMOVALS, type StoredConsumer } from "../../store/consumer-store.ts";
import { HeldConsumers } from "../held-consumers.ts";
import type { StoredTopics, TopicDefinition, TopicLoadFailure, TopicStore } from "../../store/topic-store.ts";

/** KV keys allow `[-/_=.A-Za-z0-9]` with non-empty dot-separated tokens; names may hold `..`, so they are base64url'd. */
export function kvKey(name: string): string {
  return Buffer.from(name, "utf8").toString("base64url");
}

function fromKvKey(key: string): string {
  return Buffer.from(key, "base64url").toString("utf8");
}

async function allKeys(kv: KV, filter?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys(filter)) keys.push(key);
  return keys;
}

/** Topic documents in a KV bucket, one key per topic; a put is atomic and, at R3, confirmed by a quorum. */
export class NatsTopicStore implements TopicStore {
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
    try {
      return JSON.parse(entry.string()) as TopicDefinition;
    } catch {
      // Reported as a load failure at start-up; unusable here as well.
      return null;
    }
  }

  async save(definition: TopicDefinition, document: string): Promise<void> {
    try {
      await this.kv.put(kvKey(definition.name), document);
    } catch (error) {
      throw new WriteFailedError({ cause: error }, "Failed to store the topic in JetStream");
    }
  }
}

const CONSUMER = "c.";
const REMOVAL = "r.";

/**
 * Registrations (with their cursors) and removals in one KV bucket:
 * `c.<id>` holds a StoredConsumer, `r.<id>` a ConsumerRemoval. Loaded at
 * open; every change is one put of the consumer's record. Puts of one
 * connection reach JetStream in order, so the last cursor put wins.
 * (Which node dispatches a consumer — leases — is not built yet.)
 */
export class NatsConsumerStore extends HeldConsumers implements ConsumerStore {
  private readonly writes = new Set<Promise<unknown>>();
  private readonly chains = new Map<string, Promise<void>>();

  private constructor(private readonly kv: KV) {
    super();
  }

  static async open(kv: KV): Promise<NatsConsumerStore> {
    const store = new NatsConsumerStore(kv);
    const removals: ConsumerRemoval[] = [];
    for (const key of await allKeys(kv)) {
      const entry = await kv.get(key);
      if (entry === null || entry.operation !== "PUT") continue;
      let value: unknown;
      try {
        value = JSON.parse(entry.string());
      } catch (error) {
        throw new ConsumersCorruptError(`consumer record ${key} cannot be decoded`, { cause: error });
      }
      if (key.startsWith(CONSUMER)) store.consumers.set((value as StoredConsumer).id, value as StoredConsumer);
      else if (key.startsWith(REMOVAL)) removals.push(value as ConsumerRemoval);
    }
    removals.sort((a, b) => (a.removedAt < b.removedAt ? -1 : 1));
    for (const removal of removals.slice(-MAX_REMEMBERED_REMOVALS)) store.removals.set(removal.id, removal);
    return store;
  }

  async add(consumer: StoredConsumer): Promise<void> {
    await this.write(() => this.kv.put(CONSUMER + kvKey(consumer.id), JSON.stringify(consumer)));
    this.consumers.set(consumer.id, consumer);
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
    return this.serialized(id, async () => {
      const consumer = this.consumers.get(id);
      if (consumer === undefined || (consumer.cursors[topic] ?? 0) >= sequence) return;
      await this.write(() => this.kv.put(CONSUMER + kvKey(id), JSON.stringify({ ...consumer, cursors: { ...consumer.cursors, [topic]: sequence } })));
      consumer.cursors[topic] = sequence;
    });
  }

  setPaused(id: string, paused: boolean): Promise<void> {
    return this.serialized(id, async () => {
      const consumer = this.consumers.get(id);
      if (consumer === undefined || consumer.paused === paused) return;
      await this.write(() => this.kv.put(CONSUMER + kvKey(id), JSON.stringify({ ...consumer, paused })));
      consumer.paused = paused;
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.writes]);
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

  private async write(put: () => Promise<unknown>): Promise<void> {
    const write = put();
    this.writes.add(write);
    try {
      await write;
    } catch (error) {
      throw new ConsumersWriteFailedError({ cause: error });
    } finally {
      this.writes.delete(write);
    }
  }
}
