import {
  closeSync,
  fdatasync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { syncDirectory } from "../fs/atomic-write.ts";

/** An open file as the storage layer knows it. */
export type FileHandle = number;

/**
 * Everything the log does to the disk goes through this interface, so tests
 * can inject the faults real disks produce (ENOSPC, EIO, short writes, failed
 * fsync) and another backend can be added later.
 */
export interface LogStorage {
  /** Opens for appending (created when missing); reads stay positional. */
  openAppend(path: string): FileHandle;
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
}

/** The real disk, through node:fs. */
export class NodeLogStorage implements LogStorage {
  openAppend(path: string): FileHandle {
    return openSync(path, "a+", 0o644);
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
    syncDirectory(path);
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
}
