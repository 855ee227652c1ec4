import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DirectoryNotWritableError } from "../errors.ts";

export { DirectoryNotWritableError };

/**
 * Creates `path` (and its parents) when missing and proves it writable by
 * creating and removing a probe file, so that a bad directory stops start-up
 * with one clear line instead of failing later inside the store. A failure
 * throws `DirectoryNotWritableError` naming `setting` (e.g. `DATA_DIR`).
 */
export function ensureWritableDirectory(path: string, setting: string): void {
  const probe = join(path, `.event-store-write-probe-${process.pid}`);
  try {
    mkdirSync(path, { recursive: true });
    writeFileSync(probe, "");
    rmSync(probe, { force: true });
  } catch (error) {
    throw new DirectoryNotWritableError(`${setting} '${path}' is not a writable directory: ${(error as Error).message}`, { cause: error });
  }
}
