import { dirname } from "node:path";
import { readWholeFile } from "../../log/segment-files.ts";
import type { FileHandle, LogStorage } from "../../log/storage.ts";

/** Writes all of `data` at the end of `file`, however short each write is. */
export function appendFully(storage: LogStorage, file: FileHandle, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) {
    const wrote = storage.append(file, data.subarray(offset));
    if (wrote <= 0) throw new Error("write made no progress");
    offset += wrote;
  }
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the
 * new content, never a mix: write a temporary sibling, fsync it, rename it
 * over the target, then fsync the directory so the rename itself is durable.
 * Callers must not run two replacements of one path at once.
 */
export async function replaceFileAtomic(storage: LogStorage, path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const file = storage.openWrite(tmp, mode);
  try {
    appendFully(storage, file, typeof data === "string" ? Buffer.from(data) : data);
    await storage.sync(file);
  } catch (error) {
    storage.close(file);
    storage.removeFile(tmp);
    throw error;
  }
  storage.close(file);
  storage.rename(tmp, path);
  storage.syncDirectory(dirname(path));
}

/** The whole file, or null when it does not exist. */
export function readFileOrNull(storage: LogStorage, path: string): Uint8Array | null {
  try {
    return readWholeFile(storage, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
