import { join } from "node:path";
import { NestingTooDeepError, WriteFailedError } from "../../errors.ts";
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from "../../json/json-depth.ts";
import { readWholeFile } from "../../log/segment-files.ts";
import { type LogStorage, NodeLogStorage } from "../../log/storage.ts";
import type { StoredTopics, TopicDefinition, TopicLoadFailure, TopicStore } from "../../store/topic-store.ts";
import { isValidTopicName } from "../../topics/topic-name.ts";
import { replaceFileAtomic } from "./file-io.ts";

const decoder = new TextDecoder();

export interface FileTopicStoreOptions {
  /** Topics live in `<configDir>/topics/<name>.json`. */
  configDir: string;
  /** Deepest nesting of a stored document; a deeper file is skipped at load. @default DEFAULT_MAX_JSON_DEPTH */
  maxDocumentDepth?: number;
  /** @default NodeLogStorage */
  storage?: LogStorage;
}

/**
 * One JSON file per topic, `CONFIG_DIR/topics/<name>.json`, replaced with an
 * atomic tmp + fsync + rename, so a crash never leaves a topic half-defined;
 * a file that cannot be decoded is reported and skipped at load.
 */
export class FileTopicStore implements TopicStore {
  private readonly dir: string;
  private readonly maxDocumentDepth: number;
  private readonly storage: LogStorage;

  constructor(options: FileTopicStoreOptions) {
    this.storage = options.storage ?? new NodeLogStorage();
    this.dir = join(options.configDir, "topics");
    this.maxDocumentDepth = options.maxDocumentDepth ?? DEFAULT_MAX_JSON_DEPTH;
  }

  async load(): Promise<StoredTopics> {
    this.storage.makeDirectory(this.dir);
    // The folder itself must be durable before topic files are renamed into it.
    this.storage.syncDirectory(this.dir);
    const definitions: TopicDefinition[] = [];
    const failures: TopicLoadFailure[] = [];
    for (const file of this.storage.list(this.dir).sort()) {
      if (!file.endsWith(".json")) continue;
      try {
        definitions.push(this.decode(file, readWholeFile(this.storage, join(this.dir, file))));
      } catch (error) {
        failures.push({ file, source: join(this.dir, file), reason: (error as Error).message });
      }
    }
    return { definitions, failures };
  }

  async save(definition: TopicDefinition, document: string): Promise<void> {
    try {
      this.storage.makeDirectory(this.dir);
      await replaceFileAtomic(this.storage, join(this.dir, `${definition.name}.json`), document);
    } catch (error) {
      throw new WriteFailedError({ cause: error }, `Failed to store topic '${definition.name}'; it is unchanged`);
    }
  }

  private decode(file: string, bytes: Uint8Array): TopicDefinition {
    if (exceedsJsonDepth(bytes, this.maxDocumentDepth)) throw new NestingTooDeepError(this.maxDocumentDepth);
    const definition = JSON.parse(decoder.decode(bytes)) as TopicDefinition;
    if (!isValidTopicName(definition?.name) || `${definition.name}.json` !== file) {
      throw new Error("its name does not match the file name");
    }
    if (!Array.isArray(definition.schemas)) throw new Error("it has no schemas array");
    return definition;
  }
}
