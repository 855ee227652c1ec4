import { join } from "node:path";
import { ConsumersCorruptError, ConsumersWriteFailedError } from "../../errors.ts";
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from "../../json/json-depth.ts";
import { type LogStorage, NodeLogStorage } from "../../log/storage.ts";
import { type ConsumerRemoval, type ConsumerStore, type StoredConsumer } from "../../store/consumer-store.ts";
import { HeldConsumers } from "../held-consumers.ts";
import { CoalescedWriter } from "./coalesced-writer.ts";
import { type CursorAdvance, CursorJournal } from "./cursor-journal.ts";
import { readFileOrNull, replaceFileAtomic } from "./file-io.ts";

/** `DATA_DIR/consumers.json`: every registration with its cursors, replaced atomically when registrations change. */
export const CONSUMERS_FILE = "consumers.json";
/** `DATA_DIR/consumer-cursors.jsonl`: cursor advances since `consumers.json` was last written. */
export const CURSOR_JOURNAL_FILE = "consumer-cursors.jsonl";
/** The journal is folded into `consumers.json` once it grows past this. @default 1 MiB */
export const CURSOR_JOURNAL_MAX_BYTES = 1024 * 1024;

interface ConsumersFile {
  consumers: StoredConsumer[];
  removed: ConsumerRemoval[];
}

/** What the next write does: rewrite the snapshot, or append cursor advances. */
type Save = { kind: "snapshot"; data: string } | { kind: "cursors"; advances: CursorAdvance[] };

/**
 * Registrations and cursors, in memory and on disk. Memory is the source of
 * truth; each change asks for a save, and saves are coalesced (one write in
 * flight, the next carries everything since). Registrations, removals and
 * pauses rewrite `consumers.json` (tmp + fsync + rename, so a crash leaves the
 * previous or the new version); cursor advances, which follow every delivered
 * batch, append to a journal instead. A cursor may lag memory by the write in
 * flight, which after a crash means that batch is delivered again:
 * at-least-once.
 */
export class FileConsumerStore extends HeldConsumers implements ConsumerStore {
  private readonly writer: CoalescedWriter<Save>;
  private readonly journal: CursorJournal;
  private readonly advanced = new Map<string, CursorAdvance>();
  private snapshotNeeded = false;

  private constructor(
    private readonly path: string,
    journalPath: string,
    private readonly storage: LogStorage,
  ) {
    super();
    this.journal = new CursorJournal(journalPath, storage);
    this.writer = new CoalescedWriter<Save>(() => this.nextSave(), (save) => this.write(save));
  }

  /** Loads `DATA_DIR/consumers.json` (absent = no consumers). Throws ConsumersCorruptError rather than forget consumers. */
  static async open(dataDir: string, storage: LogStorage = new NodeLogStorage()): Promise<FileConsumerStore> {
    storage.makeDirectory(dataDir);
    const store = new FileConsumerStore(join(dataDir, CONSUMERS_FILE), join(dataDir, CURSOR_JOURNAL_FILE), storage);
    // A crash mid-write leaves the tmp file behind; the real file is intact.
    for (const name of storage.list(dataDir)) {
      if (name.startsWith(`${CONSUMERS_FILE}.`) && name.endsWith(".tmp")) storage.removeFile(join(dataDir, name));
    }
    const text = readFileOrNull(storage, store.path);
    if (text !== null) {
      const file = decode(text, store.path);
      for (const consumer of file.consumers) store.consumers.set(consumer.id, consumer);
      for (const removal of file.removed) store.removals.set(removal.id, removal);
    }
    for (const { id, topic, cursor } of store.journal.read()) {
      const consumer = store.consumers.get(id);
      if (consumer !== undefined && topic in consumer.cursors && consumer.cursors[topic]! < cursor) consumer.cursors[topic] = cursor;
    }
    return store;
  }

  /** Adds and persists a registration; on a failed write nothing is kept. */
  async add(consumer: StoredConsumer): Promise<void> {
    this.consumers.set(consumer.id, consumer);
    this.snapshotNeeded = true;
    try {
      await this.writer.save();
    } catch (error) {
      this.consumers.delete(consumer.id);
      throw new ConsumersWriteFailedError({ cause: error });
    }
  }

  /**
   * Removes a registration. If the write fails the removal still holds in
   * memory and reaches the file with the next successful write.
   */
  async remove(id: string, removal?: Omit<ConsumerRemoval, "id" | "callback">): Promise<void> {
    const consumer = this.consumers.get(id);
    if (consumer === undefined) return;
    this.consumers.delete(id);
    if (removal) this.rememberRemoval({ id, callback: consumer.callback, ...removal });
    this.snapshotNeeded = true;
    await this.save();
  }

  /** Moves a cursor forward (never back) and persists it. */
  async advance(id: string, topic: string, sequence: number): Promise<void> {
    const consumer = this.consumers.get(id);
    if (consumer === undefined || (consumer.cursors[topic] ?? 0) >= sequence) return;
    consumer.cursors[topic] = sequence;
    this.advanced.set(`${id}\u0000${topic}`, { id, topic, cursor: sequence });
    await this.save();
  }

  async setPaused(id: string, paused: boolean): Promise<void> {
    const consumer = this.consumers.get(id);
    if (consumer === undefined || consumer.paused === paused) return;
    consumer.paused = paused;
    this.snapshotNeeded = true;
    await this.save();
  }

  /** Waits for the write in flight and writes what is still unsaved. */
  async close(): Promise<void> {
    await this.writer.flush();
    await this.journal.close();
  }

  private nextSave(): Save {
    const advances = [...this.advanced.values()];
    this.advanced.clear();
    if (this.snapshotNeeded || this.journal.size > CURSOR_JOURNAL_MAX_BYTES) {
      this.snapshotNeeded = false;
      return { kind: "snapshot", data: this.serialize() };
    }
    return { kind: "cursors", advances };
  }

  private async write(save: Save): Promise<void> {
    try {
      if (save.kind === "cursors") return await this.journal.append(save.advances);
      // Secrets live in this file: readable by the store's user only.
      await replaceFileAtomic(this.storage, this.path, save.data, 0o600);
      await this.journal.clear();
    } catch (error) {
      // What this write carried is still in memory; the next write is a full snapshot of it.
      this.snapshotNeeded = true;
      throw error;
    }
  }

  private async save(): Promise<void> {
    try {
      await this.writer.save();
    } catch (error) {
      throw new ConsumersWriteFailedError({ cause: error });
    }
  }

  private serialize(): string {
    const file: ConsumersFile = { consumers: this.list(), removed: [...this.removals.values()] };
    // Compact: the stored size follows what was registered, not its nesting.
    return `${JSON.stringify(file)}\n`;
  }
}

function decode(bytes: Uint8Array, path: string): ConsumersFile {
  if (exceedsJsonDepth(bytes, DEFAULT_MAX_JSON_DEPTH)) throw new ConsumersCorruptError(`${path} is nested deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
  let parsed: Partial<ConsumersFile>;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes)) as Partial<ConsumersFile>;
  } catch (error) {
    throw new ConsumersCorruptError(`${path} is not valid JSON`, { cause: error });
  }
  const consumers = parsed?.consumers;
  if (!Array.isArray(consumers) || !consumers.every(isStoredConsumer)) {
    throw new ConsumersCorruptError(`${path} does not hold a valid "consumers" array`);
  }
  const removed = Array.isArray(parsed.removed) ? parsed.removed : [];
  return { consumers, removed };
}

function isStoredConsumer(value: unknown): value is StoredConsumer {
  const c = value as StoredConsumer;
  return (
    typeof c === "object" && c !== null &&
    typeof c.id === "string" && typeof c.callback === "string" && typeof c.secret === "string" &&
    typeof c.paused === "boolean" && typeof c.createdAt === "string" &&
    typeof c.cursors === "object" && c.cursors !== null &&
    Object.values(c.cursors).every((n) => Number.isSafeInteger(n) && n >= 0)
  );
}
