import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  InvalidSchemaError,
  SchemaChangeError,
  TopicExistsError,
  TopicNotFoundError,
  WriteFailedError,
} from "../errors.ts";
import { syncDirectory, writeFileAtomic } from "../fs/atomic-write.ts";
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

export interface TopicRegistryOptions {
  configDir: string;
  compiler?: SchemaCompiler;
  clock?: () => Date;
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
  /** Files that could not be loaded at start-up, for operators. */
  readonly loadFailures: TopicLoadFailure[] = [];

  constructor(options: TopicRegistryOptions) {
    this.dir = join(options.configDir, "topics");
    this.compiler = options.compiler ?? new SchemaCompiler();
    this.clock = options.clock ?? (() => new Date());
  }

  /** Reads every topic definition. Never throws for one bad file. */
  load(): void {
    mkdirSync(this.dir, { recursive: true });
    // The folder itself must be durable before topic files are renamed into it.
    syncDirectory(this.dir);
    for (const file of readdirSync(this.dir).sort()) {
      if (!file.endsWith(".json")) continue;
      try {
        const definition = JSON.parse(readFileSync(join(this.dir, file), "utf8")) as TopicDefinition;
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
    const topic = this.compile(definition);
    this.persist(definition);
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
    const topic = this.compile(definition);
    const missing = current.schemas.map((s) => s.eventType).filter((type) => !topic.validators.has(type));
    if (missing.length > 0) {
      throw new SchemaChangeError(`Schemas may only be added or changed, not removed; missing event types: ${missing.join(", ")}`);
    }
    this.persist(definition);
    this.topics.set(name, topic);
    return definition;
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

  private persist(definition: TopicDefinition): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileAtomic(join(this.dir, `${definition.name}.json`), `${JSON.stringify(definition, null, 2)}\n`);
    } catch (error) {
      throw new WriteFailedError({ cause: error }, `Failed to store topic '${definition.name}'; it is unchanged`);
    }
  }
}
