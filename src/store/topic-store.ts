import type { EventSchema } from "../topics/schema-compiler.ts";

/** A topic as stored: its name, one JSON Schema per event type, and when it was made and last changed. */
export interface TopicDefinition {
  name: string;
  schemas: EventSchema[];
  createdAt: string;
  updatedAt?: string;
}

/** A stored topic that could not be loaded: skipped and reported, never fatal. */
export interface TopicLoadFailure {
  /** The document's name in the store (the file name in the file backend). */
  file: string;
  /** Where it lives, for operators (a path in the file backend). */
  source: string;
  reason: string;
}

export interface StoredTopics {
  definitions: TopicDefinition[];
  failures: TopicLoadFailure[];
}

/**
 * Where topic definitions are kept. The registry (src/topics/) owns the
 * rules (names, schemas, size limits) and the compiled validators; a store
 * only keeps documents, each replaced atomically.
 */
export interface TopicStore {
  /** Every stored definition, in name order; one that cannot be decoded is a failure, not an error. */
  load(): Promise<StoredTopics>;
  /**
   * Stores `definition` as `document` (its compact JSON, already size-checked),
   * replacing any earlier version atomically; with `create`, only if no
   * writer stored the name yet. @throws WriteFailedError, TopicExistsError
   */
  save(definition: TopicDefinition, document: string, mode?: { create: boolean }): Promise<void>;
  /**
   * One topic as stored now, or null. Only stores that several nodes share
   * (NATS) have it: a node asks when a name or an event type is unknown to
   * it, so a topic saved by another node is usable as soon as that node answered.
   */
  loadOne?(name: string): Promise<TopicDefinition | null>;
  /** Shared stores only: calls `listener` with the name of every topic a node saves, until `signal` aborts. */
  watch?(listener: (name: string) => void, signal: AbortSignal): void;
}
