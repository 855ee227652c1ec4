import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  InvalidSchemaError,
  NestingTooDeepError,
  SchemaChangeError,
  SchemaTooLargeError,
  TopicExistsError,
  TopicNotFoundError,
  WriteFailedError,
} from "../errors.ts";
import { syncDirectory, writeFileAtomic } from "../fs/atomic-write.ts";
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from "../json/json-depth.ts";
import { type EventSchema, type PayloadValidator, SchemaCompiler } from "./schema-compiler.ts";
import { assertTopicName, isValidTopicName } from "./topic-name.ts";

/** A topic as stored in `CONFIG_DIR/topics/<name>.json`. */
export interface TopicDefinition {
  name: string;
  schemas: EventSchema[];
  createdAt: string;
  updatedAt?: string;
}

export interface Topic {
  readonly definition: TopicDefinition;
  /** eventType → compiled validator. */
  readonly validators: ReadonlyMap<string, PayloadValidator>;
}

export interface TopicLoadFailure {
  file: string;
  reason: string;
}

/** @default 256 KiB */
export const DEFAULT_MAX_TOPIC_DOCUMENT_BYTES = 256 * 1024;

export interface TopicRegistryOptions {
  configDir: string;
  compiler?: SchemaCompiler;
  clock?: () => Date;
  /** Largest topic document as stored; larger: SchemaTooLargeError. @default DEFAULT_MAX_TOPIC_DOCUMENT_BYTES */
  maxDocumentBytes?: number;
  /** Deepest nesting of a stored document; a deeper file is skipped at load. @default DEFAULT_MAX_JSON_DEPTH */
  maxDocumentDepth?: number;
}

/**
 * The set of topics and their compiled schemas. Definitions are persisted one
 * file per topic with an atomic replace, so a crash never leaves a topic
 * half-defined; one unreadable file is reported and skipped at load.
 */
export class TopicRegistry {
  private readonly topics = new Map<string, Topic>();
  private readonly dir: string;
  private readonly compiler: SchemaCompiler;
  private readonly clock: () => Date;
  private readonly maxDocumentBytes: number;
  private readonly maxDocumentDepth: number;
  /** Files that could not be loaded at start-up, for operators. */
  readonly loadFailures: TopicLoadFailure[] = [];

  constructor(options: TopicRegistryOptions) {
    this.dir = join(options.configDir, "topics");
    this.compiler = options.compiler ?? new SchemaCompiler();
    this.clock = options.clock ?? (() => new Date());
    this.maxDocumentBytes = options.maxDocumentBytes ?? DEFAULT_MAX_TOPIC_DOCUMENT_BYTES;
    this.maxDocumentDepth = options.maxDocumentDepth ?? DEFAULT_MAX_JSON_DEPTH;
  }

  /** Reads every topic definition. Never throws for one bad file. */
  load(): void {
    mkdirSync(this.dir, { recursive: true });
    // The folder itself must be durable before topic files are renamed into it.
    syncDirectory(this.dir);
    for (const file of readdirSync(this.dir).sort()) {
      if (!file.endsWith(".json")) continue;
      try {
        const bytes = readFileSync(join(this.dir, file));
        if (exceedsJsonDepth(bytes, this.maxDocumentDepth)) throw new NestingTooDeepError(this.maxDocumentDepth);
        const definition = JSON.parse(bytes.toString("utf8")) as TopicDefinition;
        if (!isValidTopicName(definition?.name) || `${definition.name}.json` !== file) {
          throw new Error("its name does not match the file name");
        }
        if (!Array.isArray(definition.schemas)) throw new Error("it has no schemas array");
        this.topics.set(definition.name, this.compile(definition));
      } catch (error) {
        this.loadFailures.push({ file, reason: (error as Error).message });
      }
    }
  }

  names(): string[] {
    return [...this.topics.keys()].sort();
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  /** The topic, or TopicNotFoundError (404). */
  require(name: string): Topic {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TopicNotFoundError(name);
    return topic;
  }

  create(name: string, schemas: unknown[]): TopicDefinition {
    assertTopicName(name);
    if (this.topics.has(name)) throw new TopicExistsError(name);
    const definition: TopicDefinition = { name, schemas: schemas as EventSchema[], createdAt: this.clock().toISOString() };
    const document = this.serialize(definition);
    const topic = this.compile(definition);
    this.persist(definition, document);
    this.topics.set(name, topic);
    return definition;
  }

  /** Replaces the schema set; every event type already defined must stay. */
  replaceSchemas(name: string, schemas: unknown[]): TopicDefinition {
    const current = this.require(name).definition;
    const definition: TopicDefinition = {
      ...current,
      schemas: schemas as EventSchema[],
      updatedAt: this.clock().toISOString(),
    };
    const document = this.serialize(definition);
    const topic = this.compile(definition);
    const missing = current.schemas.map((s) => s.eventType).filter((type) => !topic.validators.has(type));
    if (missing.length > 0) {
      throw new SchemaChangeError(`Schemas may only be added or changed, not removed; missing event types: ${missing.join(", ")}`);
    }
    this.persist(definition, document);
    this.topics.set(name, topic);
    return definition;
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

  private compile(definition: TopicDefinition): Topic {
    const validators = new Map<string, PayloadValidator>();
    definition.schemas.forEach((schema, index) => {
      const { eventType, validate } = this.compiler.compile(schema, index);
      if (validators.has(eventType)) {
        throw new InvalidSchemaError(`schemas[${index}]: duplicate eventType '${eventType}'`);
      }
      validators.set(eventType, validate);
    });
    return { definition, validators };
  }

  private persist(definition: TopicDefinition, document: string): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileAtomic(join(this.dir, `${definition.name}.json`), document);
    } catch (error) {
      throw new WriteFailedError({ cause: error }, `Failed to store topic '${definition.name}'; it is unchanged`);
    }
  }
}
