import { close, fdatasync, ftruncate, open, readFileSync, write } from "node:fs";
import { promisify } from "node:util";

// Plain descriptors rather than fs/promises FileHandles: a handle left to the
// garbage collector is an error in Bun, a descriptor is closed by close().
const openFile = promisify(open);
const writeFile = promisify(write) as (fd: number, data: string) => Promise<unknown>;
const syncFile = promisify(fdatasync);
const truncateFile = promisify(ftruncate);
const closeFile = promisify(close);

/** One cursor advance: consumer `id` has everything of `topic` up to `cursor`. */
export interface CursorAdvance {
  id: string;
  topic: string;
  cursor: number;
}

/**
 * An append-only file of cursor advances, beside `consumers.json`. Advancing a
 * cursor after every delivered batch appends one short line and one
 * fdatasync, instead of rewriting every registration; the journal is emptied
 * whenever `consumers.json` is rewritten (it then holds those cursors).
 * Cursors only move forward, so replaying a line the snapshot already
 * covers changes nothing.
 */
export class CursorJournal {
  private file: number | null = null;
  /** Bytes appended since the journal was last emptied. */
  size = 0;

  constructor(private readonly path: string) {}

  /** Every complete, well-formed line; a torn last line (never acknowledged) ends the replay. */
  read(): CursorAdvance[] {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    this.size = Buffer.byteLength(text);
    const advances: CursorAdvance[] = [];
    for (const line of text.split("\n").slice(0, -1)) {
      const advance = parseAdvance(line);
      if (advance === null) break;
      advances.push(advance);
    }
    return advances;
  }

  async append(advances: readonly CursorAdvance[]): Promise<void> {
    if (advances.length === 0) return;
    const data = advances.map((a) => `${JSON.stringify(a)}\n`).join("");
    const file = await this.descriptor();
    await writeFile(file, data);
    await syncFile(file);
    this.size += Buffer.byteLength(data);
  }

  /** Empties the journal, durably; call only once a snapshot holding its cursors is on disk. */
  async clear(): Promise<void> {
    const file = await this.descriptor();
    await truncateFile(file, 0);
    await syncFile(file);
    this.size = 0;
  }

  async close(): Promise<void> {
    if (this.file === null) return;
    const file = this.file;
    this.file = null;
    await closeFile(file);
  }

  private async descriptor(): Promise<number> {
    this.file ??= await openFile(this.path, "a", 0o600);
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
