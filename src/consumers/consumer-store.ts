import { mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ConsumersCorruptError, ConsumersWriteFailedError } from "../errors.ts";
import { writeFileAtomicAsync } from "../fs/atomic-write-async.ts";
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from "../json/json-depth.ts";
import { CoalescedWriter } from "./coalesced-writer.ts";
import { type CursorAdvance, CursorJournal } from "./cursor-journal.ts";

/** `DATA_DIR/consumers.json`: every registration with its cursors, replaced atomically when registrations change. */
export const CONSUMERS_FILE = "consumers.json";
/** `DATA_DIR/consumer-cursors.jsonl`: cursor advances since `consumers.json` was last written. */
export const CURSOR_JOURNAL_FILE = "consumer-cursors.jsonl";
/** The journal is folded into `consumers.json` once it grows past this. @default 1 MiB */
export const CURSOR_JOURNAL_MAX_BYTES = 1024 * 1024;
/** Removals remembered, so `GET /consumers/{id}` can say why a consumer is gone. @default 100 */
export const MAX_REMEMBERED_REMOVALS = 100;

/** A registration as persisted. */
export interface StoredConsumer {
  id: string;
  callback: string;
  /** `whsec_…`; stored so deliveries after a restart carry valid signatures. */
  secret: string;
  /** Topic → sequence of the last event delivered (or registered as seen); 0 = none. */
  cursors: Record<string, number>;
  paused: boolean;
  createdAt: string;
}

export interface ConsumerRemoval {
  id: string;
  callback: string;
  removedAt: string;
  reason: string;
}

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
export class ConsumerStore {
  private readonly consumers = new Map<string, StoredConsumer>();
  private readonly removals = new Map<string, ConsumerRemoval>();
  private readonly writer: CoalescedWriter<Save>;
  private readonly journal: CursorJournal;
  private readonly advanced = new Map<string, CursorAdvance>();
  private snapshotNeeded = false;

  private constructor(private readonly path: string, journalPath: string) {
    this.journal = new CursorJournal(journalPath);
    this.writer = new CoalescedWriter<Save>(() => this.nextSave(), (save) => this.write(save));
  }

  /** Loads `DATA_DIR/consumers.json` (absent = no consumers). Throws ConsumersCorruptError rather than forget consumers. */
  static open(dataDir: string): ConsumerStore {
    mkdirSync(dataDir, { recursive: true });
    const store = new ConsumerStore(join(dataDir, CONSUMERS_FILE), join(dataDir, CURSOR_JOURNAL_FILE));
    // A crash mid-write leaves the tmp file behind; the real file is intact.
    for (const name of readdirSync(dataDir)) {
      if (name.startsWith(`${CONSUMERS_FILE}.`) && name.endsWith(".tmp")) unlinkSync(join(dataDir, name));
    }
    let text: Buffer | null = null;
    try {
      text = readFileSync(store.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
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

  list(): StoredConsumer[] {
    return [...this.consumers.values()];
  }

  get(id: string): StoredConsumer | undefined {
    return this.consumers.get(id);
  }

  removal(id: string): ConsumerRemoval | undefined {
    return this.removals.get(id);
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
    if (removal) this.remember({ id, callback: consumer.callback, ...removal });
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
      await writeFileAtomicAsync(this.path, save.data, { mode: 0o600 });
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

  private remember(removal: ConsumerRemoval): void {
    this.removals.delete(removal.id);
    this.removals.set(removal.id, removal);
    const oldest = this.removals.keys().next().value;
    if (this.removals.size > MAX_REMEMBERED_REMOVALS && oldest !== undefined) this.removals.delete(oldest);
  }

  private serialize(): string {
    const file: ConsumersFile = { consumers: this.list(), removed: [...this.removals.values()] };
    // Compact: the stored size follows what was registered, not its nesting.
    return `${JSON.stringify(file)}\n`;
  }
}

function decode(bytes: Buffer, path: string): ConsumersFile {
  if (exceedsJsonDepth(bytes, DEFAULT_MAX_JSON_DEPTH)) throw new ConsumersCorruptError(`${path} is nested deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
  let parsed: Partial<ConsumersFile>;
  try {
    parsed = JSON.parse(bytes.toString("utf8")) as Partial<ConsumersFile>;
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
