import { closeSync, ftruncateSync, openSync, readFileSync, realpathSync, writeSync } from "node:fs";
import { join } from "node:path";
import { tryLockExclusive } from "./flock.ts";

/** `<dir>/event-store.pid`: locked by the server that owns the directory, and naming it. */
export const LOCK_FILE = "event-store.pid";

/** Another live server holds this directory; two writers would interleave its files. */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

export interface DataDirLock {
  release(): void;
}

export interface LockedDirectory {
  dir: string;
  /** The setting that named it, for the message: `DATA_DIR`, `CONFIG_DIR`. */
  setting: string;
}

/**
 * Claims each directory for this process with `flock(2)` on its lock file,
 * which the kernel releases when the holder dies however it dies: a lock
 * file left by a killed server, a zombie, or PID 1 of a previous container
 * never blocks start-up, and one held by a live server always does. A
 * directory named twice (DATA_DIR = CONFIG_DIR) is locked once. Where flock
 * cannot be had, the file's pid is checked for liveness instead.
 */
export function lockDirectories(directories: readonly LockedDirectory[], pid = process.pid): DataDirLock {
  const held: number[] = [];
  const seen = new Set<string>();
  try {
    for (const { dir, setting } of directories) {
      const real = realpathSync(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      held.push(lockOne(dir, setting, pid));
    }
  } catch (error) {
    for (const fd of held) closeSync(fd);
    throw error;
  }
  return {
    release() {
      // Closing the descriptor is what releases the lock. The file stays: removing it would let a
      // process that opened it a moment earlier lock an orphaned inode while another locks a new one.
      for (const fd of held.splice(0)) closeSync(fd);
    },
  };
}

function lockOne(dir: string, setting: string, pid: number): number {
  const path = join(dir, LOCK_FILE);
  const fd = openSync(path, "a+", 0o644);
  try {
    const result = tryLockExclusive(fd);
    if (result === "busy" || (result === "unsupported" && isHeldByAnother(path, pid))) {
      throw new DataDirLockedError(`${setting} '${dir}' is in use by process ${holderOf(path)} (${path})`);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${pid}\n`, 0);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function holderOf(path: string): string {
  const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
  return Number.isSafeInteger(holder) ? String(holder) : "unknown";
}

/** The fallback: a pid that is alive and not ours. It cannot tell a reused pid from the holder. */
function isHeldByAnother(path: string, pid: number): boolean {
  const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
  if (!Number.isSafeInteger(holder) || holder === pid) return false;
  try {
    process.kill(holder, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, which still means in use.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
