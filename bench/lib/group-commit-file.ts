import { fdatasync, openSync, writeSync } from "node:fs";

/**
 * The least a durable append can do: lines go to one file, and every append
 * waiting while an fdatasync runs shares the next one (group commit). The
 * ceiling (bench/ceiling.ts) and the framework floor use it.
 */
export function groupCommitFile(path: string): (lines: string) => Promise<void> {
  const fd = openSync(path, "a");
  let queue: Waiting[] = [];
  let flushing = false;
  // The same fdatasync path the event store uses (libuv thread pool, off the event loop).
  const sync = () => new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));

  async function flush(): Promise<void> {
    flushing = true;
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      try {
        writeSync(fd, group.map((w) => w.lines).join(""));
        await sync();
        for (const w of group) w.resolve();
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
    flushing = false;
  }

  return (lines) => {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    queue.push({ lines, resolve, reject });
    if (!flushing) void flush();
    return promise;
  };
}

/** A batch as the ceiling stores it: one JSON line per event, ids `bench-<n>` from `counter`. */
export function benchLines(events: readonly unknown[], counter: { sequence: number }): { lines: string; eventIds: string[] } {
  let lines = "";
  const eventIds: string[] = [];
  for (const event of events) {
    lines += `${JSON.stringify(event)}\n`;
    eventIds.push(`bench-${++counter.sequence}`);
  }
  return { lines, eventIds };
}

interface Waiting {
  lines: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}
