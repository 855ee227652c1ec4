import { type ConsumerRemoval, type ConsumerStore, type StoredConsumer } from "../../store/consumer-store.ts";
import { HeldConsumers } from "../held-consumers.ts";
import type { StoredTopics, TopicDefinition, TopicStore } from "../../store/topic-store.ts";
import type { MemoryData } from "./memory-data.ts";

/** Topic documents in `MemoryData`. */
export class MemoryTopicStore implements TopicStore {
  constructor(private readonly data: MemoryData) {}

  async load(): Promise<StoredTopics> {
    const names = [...this.data.topicDocuments.keys()].sort();
    return { definitions: names.map((name) => JSON.parse(this.data.topicDocuments.get(name)!) as TopicDefinition), failures: [] };
  }

  async save(definition: TopicDefinition, document: string): Promise<void> {
    this.data.topicDocuments.set(definition.name, document);
  }
}

interface Snapshot {
  consumers: StoredConsumer[];
  removed: ConsumerRemoval[];
}

/**
 * Registrations and cursors in `MemoryData`: every change saves a JSON
 * snapshot, so a store opened again over the same data starts from the
 * last saved state, never from objects the previous one still mutates.
 */
export class MemoryConsumerStore extends HeldConsumers implements ConsumerStore {

  constructor(private readonly data: MemoryData) {
    super();
    if (data.consumers === null) return;
    const snapshot = JSON.parse(data.consumers) as Snapshot;
    for (const consumer of snapshot.consumers) this.consumers.set(consumer.id, consumer);
    for (const removal of snapshot.removed) this.removals.set(removal.id, removal);
  }

  async add(consumer: StoredConsumer): Promise<void> {
    this.consumers.set(consumer.id, consumer);
    this.save();
  }

  async remove(id: string, removal?: Omit<ConsumerRemoval, "id" | "callback">): Promise<void> {
    const consumer = this.consumers.get(id);
    if (consumer === undefined) return;
    this.consumers.delete(id);
    if (removal) this.rememberRemoval({ id, callback: consumer.callback, ...removal });
    this.save();
  }

  async advance(id: string, topic: string, sequence: number): Promise<void> {
    const consumer = this.consumers.get(id);
    if (consumer === undefined || (consumer.cursors[topic] ?? 0) >= sequence) return;
    consumer.cursors[topic] = sequence;
    this.save();
  }

  async setPaused(id: string, paused: boolean): Promise<void> {
    const consumer = this.consumers.get(id);
    if (consumer === undefined || consumer.paused === paused) return;
    consumer.paused = paused;
    this.save();
  }

  async close(): Promise<void> {}

  private save(): void {
    const snapshot: Snapshot = { consumers: this.list(), removed: [...this.removals.values()] };
    this.data.consumers = JSON.stringify(snapshot);
  }
}
