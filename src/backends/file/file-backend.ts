import { mkdirSync } from "node:fs";
import { lockDirectories } from "../../fs/data-dir-lock.ts";
import { FileEventLog } from "../../log/file-event-log.ts";
import { type LogStorage, NodeLogStorage } from "../../log/storage.ts";
import type { StoreBackend } from "../../store/backend.ts";
import type { GroupCommitStats } from "../../store/event-log.ts";
import { isValidTopicName } from "../../topics/topic-name.ts";
import { FileConsumerStore } from "./file-consumer-store.ts";
import { FileTopicStore } from "./file-topic-store.ts";

export interface FileBackendOptions {
  /** Events, idempotency keys and consumers. */
  dataDir: string;
  /** Topic definitions. */
  configDir: string;
  /** The disk of everything the backend writes (events, topics, consumers, cursors); tests inject faults through it. @default NodeLogStorage */
  storage?: LogStorage;
  /** @default DEFAULT_SEGMENT_MAX_BYTES */
  segmentMaxBytes?: number;
  /** @default DEFAULT_IDEMPOTENCY_TTL_MS */
  idempotencyTtlMs?: number;
  /** Deepest nesting of a stored topic document. @default DEFAULT_MAX_JSON_DEPTH */
  maxDocumentDepth?: number;
  /** ms since the epoch, for event timestamps. @default Date.now */
  clock?: () => number;
  /** Recovery messages. @default console.warn */
  report?: (message: string) => void;
  /** Told of every durable group commit, for metrics. */
  onGroupCommit?: (stats: GroupCommitStats) => void;
  /** Lock both directories to this process. Only in-process test harnesses, which never run two stores on one directory, turn it off. @default true */
  lock?: boolean;
}

/** The file backend of a store that is open, with what only it has. */
export interface FileBackend extends StoreBackend {
  readonly kind: "file";
  readonly log: FileEventLog;
}

/**
 * `EVENT_LOG=file` (the default): JSON-lines segments under DATA_DIR, topic
 * files under CONFIG_DIR, both directories locked to this process (a
 * second writer would interleave the files) until `close()`.
 */
export async function openFileBackend(options: FileBackendOptions): Promise<FileBackend> {
  mkdirSync(options.dataDir, { recursive: true });
  mkdirSync(options.configDir, { recursive: true });
  const lock =
    options.lock === false
      ? { release() {} }
      : lockDirectories([
          { dir: options.dataDir, setting: "DATA_DIR" },
          { dir: options.configDir, setting: "CONFIG_DIR" },
        ]);
  // One disk for everything the backend writes, so injected faults reach topics and consumers too.
  const storage = options.storage ?? new NodeLogStorage();
  try {
    const log = await FileEventLog.open({
      dataDir: options.dataDir,
      isTopicName: isValidTopicName,
      storage,
      ...(options.segmentMaxBytes ? { segmentMaxBytes: options.segmentMaxBytes } : {}),
      ...(options.idempotencyTtlMs ? { idempotencyTtlMs: options.idempotencyTtlMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.report ? { report: options.report } : {}),
      ...(options.onGroupCommit ? { onGroupCommit: options.onGroupCommit } : {}),
    });
    let consumers: FileConsumerStore;
    try {
      consumers = await FileConsumerStore.open(options.dataDir, storage);
    } catch (error) {
      await log.close();
      throw error;
    }
    const topics = new FileTopicStore({ configDir: options.configDir, storage, ...(options.maxDocumentDepth ? { maxDocumentDepth: options.maxDocumentDepth } : {}) });
    let closing: Promise<void> | null = null;
    return {
      kind: "file",
      durable: true,
      log,
      topics,
      consumers,
      close() {
        closing ??= (async () => {
          try {
            await consumers.close();
            await log.close();
          } finally {
            lock.release();
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}
