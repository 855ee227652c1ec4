/**
 * The ceiling our server is compared against: the least a durable publish
 * endpoint on Bun can do. Parse the JSON body, append one line per event to a
 * single file, group-commit with fdatasync (every request waiting while a
 * sync runs shares the next one), then answer 201 with the ids. No
 * validation, no framework, no commit markers, no indexes.
 *
 *   PORT=0 DATA_DIR=<dir> bun bench/ceiling.ts   → prints "listening on http://…"
 */
import { fdatasync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

const dataDir = process.env.DATA_DIR ?? ".";
mkdirSync(dataDir, { recursive: true });
const fd = openSync(join(dataDir, "ceiling.jsonl"), "a");

interface Waiting {
  lines: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

let queue: Waiting[] = [];
let flushing = false;
let sequence = 0;

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

function append(lines: string): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  queue.push({ lines, resolve, reject });
  if (!flushing) void flush();
  return promise;
}

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: process.env.HOST ?? "127.0.0.1",
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/health") return Response.json({ status: "healthy" });
    if (pathname !== "/events" || request.method !== "POST") return new Response("not found", { status: 404 });
    const events = (await request.json()) as unknown[];
    let lines = "";
    const eventIds: string[] = [];
    for (const event of events) {
      lines += `${JSON.stringify(event)}\n`;
      eventIds.push(`bench-${++sequence}`);
    }
    await append(lines);
    return Response.json({ eventIds }, { status: 201 });
  },
});

console.log(`ceiling listening on http://${server.hostname}:${server.port}`);
process.on("SIGTERM", () => {
  server.stop();
  process.exit(0);
});
