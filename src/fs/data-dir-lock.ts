import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

/** `DATA_DIR/event-store.pid`: the process that owns the directory. */
export const LOCK_FILE = "event-store.pid";

/** Another live process serves this DATA_DIR; two writers would interleave segment files. */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

export interface DataDirLock {
  release(): void;
}

/**
 * Claims `dataDir` for this process. A lock left by a process that is gone
 * (after `kill -9` or a power cut) is taken over; one held by a live process
 * refuses start-up, since two servers appending to the same segments would
 * corrupt them.
 */
export function lockDataDir(dataDir: string, pid = process.pid): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  try {
    const fd = openSync(path, "wx", 0o644);
    try {
      writeSync(fd, `${pid}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
    if (Number.isSafeInteger(holder) && isAlive(holder)) {
      throw new DataDirLockedError(`DATA_DIR '${dataDir}' is in use by process ${holder} (${path})`);
    }
    writeFileSync(path, `${pid}\n`);
  }
  return {
    release() {
      try {
        if (Number.parseInt(readFileSync(path, "utf8"), 10) === pid) unlinkSync(path);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, which still means in use.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
