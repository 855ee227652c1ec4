import { NodeLogStorage, type FileHandle } from "../src/log/storage.ts";

export type Fault = "ENOSPC" | "EIO" | "short-write" | "fsync-EIO" | "open-EMFILE" | "dirsync-EIO";

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault`), { code });
}

/**
 * The real disk, with faults on demand: the next `append` fails (ENOSPC,
 * EIO), or writes half its bytes and then fails as a full disk would, or the
 * next `sync` fails. `failing` keeps a fault active until cleared.
 */
export class FaultyStorage extends NodeLogStorage {
  private fault: Fault | null = null;
  private persistent = false;
  /** Counts of injected faults, by kind. */
  readonly injected = new Map<Fault, number>();
  /** Every path opened for appending, in order: a segment reopened after a failure shows up again. */
  readonly openedForAppend: string[] = [];
  /** Handles opened and not yet closed: a leak shows up here after the log is closed. */
  readonly openHandles = new Map<FileHandle, string>();

  failNext(fault: Fault): void {
    this.fault = fault;
    this.persistent = false;
  }

  failing(fault: Fault): void {
    this.fault = fault;
    this.persistent = true;
  }

  clear(): void {
    this.fault = null;
  }

  private take(kinds: Fault[]): Fault | null {
    const fault = this.fault;
    if (fault === null || !kinds.includes(fault)) return null;
    if (!this.persistent) this.fault = null;
    this.injected.set(fault, (this.injected.get(fault) ?? 0) + 1);
    return fault;
  }

  override openAppend(path: string, mode?: number): FileHandle {
    if (this.take(["open-EMFILE"]) !== null) throw errno("EMFILE");
    this.openedForAppend.push(path);
    const file = super.openAppend(path, mode);
    this.openHandles.set(file, path);
    return file;
  }

  override openWrite(path: string, mode?: number): FileHandle {
    if (this.take(["open-EMFILE"]) !== null) throw errno("EMFILE");
    const file = super.openWrite(path, mode);
    this.openHandles.set(file, path);
    return file;
  }

  override openRead(path: string): FileHandle {
    const file = super.openRead(path);
    this.openHandles.set(file, path);
    return file;
  }

  override close(file: FileHandle): void {
    this.openHandles.delete(file);
    super.close(file);
  }

  override syncDirectory(path: string): void {
    if (this.take(["dirsync-EIO"]) !== null) throw errno("EIO");
    super.syncDirectory(path);
  }

  override append(file: FileHandle, data: Uint8Array): number {
    const fault = this.take(["ENOSPC", "EIO", "short-write"]);
    if (fault === "short-write") {
      const half = Math.max(1, data.length >> 1);
      super.append(file, data.subarray(0, half));
      this.fault = "ENOSPC"; // the kernel's answer to the rest of a short write
      this.persistent = false;
      return half;
    }
    if (fault !== null) throw errno(fault);
    return super.append(file, data);
  }

  override sync(file: FileHandle): Promise<void> {
    if (this.take(["fsync-EIO"]) !== null) return Promise.reject(errno("EIO"));
    return super.sync(file);
  }

  override truncate(file: FileHandle, size: number): void {
    if (this.fault === "EIO" && this.persistent) throw errno("EIO");
    super.truncate(file, size);
  }
}
