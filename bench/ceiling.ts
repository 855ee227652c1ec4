/**
 * The ceiling our server is compared against: the least a durable publish
 * endpoint on Bun can do. Parse the JSON body, append one line per event to a
 * single file, group-commit with fdatasync (every request waiting while a
 * sync runs shares the next one), then answer 201 with the ids. No
 * validation, no framework, no commit markers, no indexes.
 *
 *   PORT=0 DATA_DIR=<dir> bun bench/ceiling.ts   → prints "listening on http://…"
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { benchLines, groupCommitFile } from "./lib/group-commit-file.ts";

const dataDir = process.env.DATA_DIR ?? ".";
mkdirSync(dataDir, { recursive: true });
const append = groupCommitFile(join(dataDir, "ceiling.jsonl"));
const counter = { sequence: 0 };

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: process.env.HOST ?? "127.0.0.1",
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/health") return Response.json({ status: "healthy" });
    if (pathname !== "/events" || request.method !== "POST") return new Response("not found", { status: 404 });
    const { lines, eventIds } = benchLines((await request.json()) as unknown[], counter);
    await append(lines);
    return Response.json({ eventIds }, { status: 201 });
  },
});

console.log(`ceiling listening on http://${server.hostname}:${server.port}`);
process.on("SIGTERM", () => {
  server.stop();
  process.exit(0);
});
