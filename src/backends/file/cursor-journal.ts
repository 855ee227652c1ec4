import { type FileHandle, type LogStorage, NodeLogStorage } from "../../log/storage.ts";
import { appendFully, readFileOrNull } from "./file-io.ts";

/** One cursor advance: consumer `id` has everything of `topic` up to `cursor`. */
export interface CursorAdvance {
  id: string;
  topic: string;
  cursor: number;
}

const decoder = new TextDecoder();

/**
 * An append-only file of cursor advances, beside `consumers.json`. Advancing a
 * cursor after every delivered batch appends one short line and one
 * fdatasync, instead of rewriting every registration; the journal is emptied
 * whenever `consumers.json` is rewritten (it then holds those cursors).
 * Cursors only move forward, so replaying a line the snapshot already
 * covers changes nothing.
 */
export class CursorJournal {
  private file: FileHandle | null = null;
  /** Bytes appended since the journal was last emptied. */
  size = 0;

  constructor(
    private readonly path: string,
    private readonly storage: LogStorage = new NodeLogStorage(),
  ) {}

  /** Every complete, well-formed line; a torn last line (never acknowledged) ends the replay. */
  read(): CursorAdvance[] {
    const bytes = readFileOrNull(this.storage, this.path);
    if (bytes === null) return [];
    this.size = bytes.length;
    const advances: CursorAdvance[] = [];
    for (const line of decoder.decode(bytes).split("\n").slice(0, -1)) {
      const advance = parseAdvance(line);
      if (advance === null) break;
      advances.push(advance);
    }
    return advances;
  }

  async append(advances: readonly CursorAdvance[]): Promise<void> {
    if (advances.length === 0) return;
    const data = Buffer.from(advances.map((a) => `${JSON.stringify(a)}\n`).join(""));
    const file = this.descriptor();
    appendFully(this.storage, file, data);
    await this.storage.sync(file);
    this.size += data.length;
  }

  /** Empties the journal, durably; call only once a snapshot holding its cursors is on disk. */
  async clear(): Promise<void> {
    const file = this.descriptor();
    this.storage.truncate(file, 0);
    await this.storage.sync(file);
    this.size = 0;
  }

  async close(): Promise<void> {
    if (this.file === null) return;
    const file = this.file;
    this.file = null;
    this.storage.close(file);
  }

  private descriptor(): FileHandle {
    // Secrets are not in it, but consumer ids and topics are: the store's user only, like consumers.json.
    this.file ??= this.storage.openAppend(this.path, 0o600);
    return this.file;
  }
}

function parseAdvance(line: string): CursorAdvance | null {
  try {
    const value = JSON.parse(line) as CursorAdvance;
    if (typeof value.id !== "string" || typeof value.topic !== "string" || !Number.isSafeInteger(value.cursor)) return null;
    return value;
  } catch {
    return null; // torn or garbled: nothing after it was acknowledged either
  }
}
