import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

export interface AtomicWriteOptions {
  /** File mode of the new file. @default 0o644 */
  mode?: number;
}

/**
 * The non-blocking twin of `writeFileAtomic`: the same tmp + fsync + rename +
 * directory fsync sequence, but every step runs off the event loop, so a
 * frequent writer (consumer cursors) never stalls publishers or deliveries.
 * Callers must not run two writes of the same path at once.
 */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const file = await open(tmp, "w", options.mode ?? 0o644);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(tmp);
    throw error;
  }
  await file.close();
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
