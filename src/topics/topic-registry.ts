import { InvalidSchemaError, SchemaChangeError, SchemaTooLargeError, TopicExistsError, TopicNotFoundError } from "../errors.ts";
import type { TopicDefinition, TopicLoadFailure, TopicStore } from "../store/topic-store.ts";
import { type EventSchema, type PayloadValidator, SchemaCompiler } from "./schema-compiler.ts";
import { assertTopicName } from "./topic-name.ts";

export type { TopicDefinition, TopicLoadFailure };

export interface Topic {
  readonly definition: TopicDefinition;
  /** eventType → compiled validator. */
  readonly validators: ReadonlyMap<string, PayloadValidator>;
}

/** @default 256 KiB */
export const DEFAULT_MAX_TOPIC_DOCUMENT_BYTES = 256 * 1024;

export interface TopicRegistryOptions {
  /** Where definitions are kept (the backend's topic store). */
  store: TopicStore;
  compiler?: SchemaCompiler;
  clock?: () => Date;
  /** Largest topic document as stored; larger: SchemaTooLargeError. @default DEFAULT_MAX_TOPIC_DOCUMENT_BYTES */
  maxDocumentBytes?: number;
}

/**
 * The set of topics and their compiled schemas (compiled once, when a
 * topic is loaded, created or changed). Definitions are persisted through
 * the backend's TopicStore before a change takes effect; changes are
 * serialized, so two requests never race on one topic.
 */
export class TopicRegistry {
  private readonly topics = new Map<string, Topic>();
  private readonly store: TopicStore;
  private readonly compiler: SchemaCompiler;
  private readonly clock: () => Date;
  private readonly maxDocumentBytes: number;
  private writing: Promise<unknown> = Promise.resolve();
  /** Stored topics that could not be loaded at start-up, for operators. */
  readonly loadFailures: TopicLoadFailure[] = [];

  constructor(options: TopicRegistryOptions) {
    this.store = options.store;
    this.compiler = options.compiler ?? new SchemaCompiler();
    this.clock = options.clock ?? (() => new Date());
    this.maxDocumentBytes = options.maxDocumentBytes ?? DEFAULT_MAX_TOPIC_DOCUMENT_BYTES;
  }

  /** Reads and compiles every stored definition. Never throws for one bad document. */
  async load(): Promise<void> {
    const { definitions, failures } = await this.store.load();
    this.loadFailures.push(...failures);
    for (const definition of definitions) {
      try {
        this.topics.set(definition.name, await this.compile(definition));
      } catch (error) {
        this.loadFailures.push({ file: `${definition.name}.json`, source: definition.name, reason: (error as Error).message });
      }
    }
  }

  /** Whether other nodes save topics to the same store (so a name or event type unknown here may exist there). */
  get shared(): boolean {
    return this.store.loadOne !== undefined;
  }

  names(): string[] {
    return [...this.topics.keys()].sort();
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  /**
   * Reads `names` again from a store shared with other nodes (one that has
   * `loadOne`) and takes what changed there. Resolves whether the store
   * holds any of them, so a check that failed on them is worth repeating
   * (also when a concurrent refresh took the change first and nothing is
   * left to change here); false at once for a store with one writer.
   */
  async refresh(names: Iterable<string>): Promise<boolean> {
    const loadOne = this.store.loadOne?.bind(this.store);
    if (loadOne === undefined) return false;
    let found = false;
    for (const name of new Set(names)) {
      const definition = await loadOne(name);
      if (definition === null) continue;
      found = true;
      await this.take(definition);
    }
    return found;
  }

  /** Takes every topic another node saves, as it is saved (stores shared with other nodes only). */
  follow(signal: AbortSignal): void {
    // Read again rather than taken from the notice: `loadOne` answers the newest revision, whatever order notices and reads finish in.
    this.store.watch?.((name) => {
      this.refresh([name]).catch(() => {
        // Unreachable now: the name is read again when a request needs it.
      });
    }, signal);
  }

  /** Replaces the known definition of a name when `definition` differs; returns whether it did. */
  private async take(definition: TopicDefinition): Promise<boolean> {
    const known = this.topics.get(definition.name)?.definition;
    if (known !== undefined && JSON.stringify(known) === JSON.stringify(definition)) return false;
    const topic = await this.compile(definition);
    // A newer revision taken while this one compiled wins.
    if (this.topics.get(definition.name)?.definition !== known) return false;
    this.topics.set(definition.name, topic);
    return true;
  }

  /** `require`, after asking a shared store when the name is unknown here. */
  async requireCurrent(name: string): Promise<Topic> {
    if (!this.topics.has(name)) await this.refresh([name]);
    return this.require(name);
  }

  /** The topic, or TopicNotFoundError (404). */
  require(name: string): Topic {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TopicNotFoundError(name);
    return topic;
  }

  create(name: string, schemas: unknown[]): Promise<TopicDefinition> {
    return this.serialized(async () => {
      assertTopicName(name);
      await this.refresh([name]);
      if (this.topics.has(name)) throw new TopicExistsError(name);
      const definition: TopicDefinition = { name, schemas: schemas as EventSchema[], createdAt: this.clock().toISOString() };
      const document = this.serialize(definition);
      const topic = await this.compile(definition);
      await this.store.save(definition, document, { create: true });
      this.topics.set(name, topic);
      return definition;
    });
  }

  /** Replaces the schema set; every event type already defined must stay. */
  replaceSchemas(name: string, schemas: unknown[]): Promise<TopicDefinition> {
    return this.serialized(async () => {
      // Changed on another node since? Replace what is stored, not an older copy.
      await this.refresh([name]);
      const current = this.require(name).definition;
      const definition: TopicDefinition = {
        ...current,
        schemas: schemas as EventSchema[],
        updatedAt: this.clock().toISOString(),
      };
      const document = this.serialize(definition);
      const topic = await this.compile(definition);
      const missing = current.schemas.map((s) => s.eventType).filter((type) => !topic.validators.has(type));
      if (missing.length > 0) {
        throw new SchemaChangeError(`Schemas may only be added or changed, not removed; missing event types: ${missing.join(", ")}`);
      }
      await this.store.save(definition, document);
      this.topics.set(name, topic);
      return definition;
    });
  }

  /** Runs `change` after every change before it has settled. */
  private serialized<T>(change: () => Promise<T>): Promise<T> {
    const result = this.writing.then(change, change);
    this.writing = result.catch(() => {});
    return result;
  }

  /**
   * The document as stored: compact, so its size on disk follows the
   * request's (indentation would grow with depth), and bounded before any
   * schema is compiled.
   */
  private serialize(definition: TopicDefinition): string {
    const document = `${JSON.stringify(definition)}\n`;
    const bytes = Buffer.byteLength(document);
    if (bytes > this.maxDocumentBytes) throw new SchemaTooLargeError(this.maxDocumentBytes, bytes);
    return document;
  }

  private async compile(definition: TopicDefinition): Promise<Topic> {
    const validators = new Map<string, PayloadValidator>();
    // Compiled together (on the schema worker), refused in order: the answer names the first bad schema.
    const compiled = await Promise.allSettled(definition.schemas.map((schema, index) => this.compiler.compile(schema, index)));
    compiled.forEach((result, index) => {
      if (result.status === "rejected") throw result.reason;
      const { eventType, validate } = result.value;
      if (validators.has(eventType)) {
        throw new InvalidSchemaError(`schemas[${index}]: duplicate eventType '${eventType}'`);
      }
      validators.set(eventType, validate);
    });
    return { definition, validators };
  }

  /** Ends the schema compiler's worker. */
  close(): void {
    this.compiler.close();
  }
}
