import {
  closeSync,
  fdatasync,
  fsyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from "node:fs";

/** An open file as the storage layer knows it. */
export type FileHandle = number;

/**
 * Everything the file backend does to the disk — event segments, topic
 * files, consumers.json and the cursor journal — goes through this
 * interface, so tests can inject the faults real disks produce (ENOSPC,
 * EIO, short writes, failed fsync) into any of them.
 */
export interface LogStorage {
  /** Opens for appending (created when missing, with `mode`); reads stay positional. */
  openAppend(path: string, mode?: number): FileHandle;
  /** Creates `path` (with `mode`) or empties it, for writing from the start. */
  openWrite(path: string, mode?: number): FileHandle;
  openRead(path: string): FileHandle;
  /** Appends at the end of the file; returns the bytes written (may be short). */
  append(file: FileHandle, data: Uint8Array): number;
  read(file: FileHandle, into: Uint8Array, position: number): number;
  size(file: FileHandle): number;
  truncate(file: FileHandle, size: number): void;
  /** Makes the file's data durable (fdatasync); runs off the event loop. */
  sync(file: FileHandle): Promise<void>;
  close(file: FileHandle): void;
  makeDirectory(path: string): void;
  /** Makes a directory's entries (new files, renames, removals) durable. */
  syncDirectory(path: string): void;
  /** Entry names, or an empty list when the directory does not exist. */
  list(path: string): string[];
  removeFile(path: string): void;
  removeEmptyDirectory(path: string): void;
  /** Replaces `to` with `from` atomically (rename(2)); durable once the directory is synced. */
  rename(from: string, to: string): void;
}

/** The real disk, through node:fs. */
export class NodeLogStorage implements LogStorage {
  openAppend(path: string, mode = 0o644): FileHandle {
    return openSync(path, "a+", mode);
  }
  openWrite(path: string, mode = 0o644): FileHandle {
    return openSync(path, "w", mode);
  }
  openRead(path: string): FileHandle {
    return openSync(path, "r");
  }
  append(file: FileHandle, data: Uint8Array): number {
    return writeSync(file, data);
  }
  read(file: FileHandle, into: Uint8Array, position: number): number {
    return readSync(file, into, 0, into.length, position);
  }
  size(file: FileHandle): number {
    return fstatSync(file).size;
  }
  truncate(file: FileHandle, size: number): void {
    ftruncateSync(file, size);
  }
  sync(file: FileHandle): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(file, (error) => (error ? reject(error) : resolve())));
  }
  close(file: FileHandle): void {
    closeSync(file);
  }
  makeDirectory(path: string): void {
    mkdirSync(path, { recursive: true });
  }
  syncDirectory(path: string): void {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  list(path: string): string[] {
    try {
      return readdirSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }
  removeFile(path: string): void {
    unlinkSync(path);
  }
  removeEmptyDirectory(path: string): void {
    rmdirSync(path);
  }
  rename(from: string, to: string): void {
    renameSync(from, to);
  }
}
