/**
 * The floor the fixed stack puts under our publish path: the ceiling's
 * group commit and answer (bench/ceiling.ts) behind Elysia, with our JSON
 * body parser and the publish route's body schema, served through Elysia's
 * listen like src/server.ts. No validation, no event log. What this loses
 * to the ceiling, the framework costs; our server cannot do better.
 *
 *   PORT=0 DATA_DIR=<dir> bun bench/framework-floor.ts   → prints "listening on http://…"
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Elysia } from "elysia";
import { jsonBody } from "../src/http/json-body.ts";
import { publishBatchModel } from "../src/http/models.ts";
import { benchLines, groupCommitFile } from "./lib/group-commit-file.ts";

const dataDir = process.env.DATA_DIR ?? ".";
mkdirSync(dataDir, { recursive: true });
const append = groupCommitFile(join(dataDir, "floor.jsonl"));
const counter = { sequence: 0 };

const JSON_CONTENT = { "content-type": "application/json" };
const app = new Elysia()
  .use(jsonBody({ maxBodyBytes: 1024 * 1024, maxJsonDepth: 64, bodyTimeoutMs: 30_000 }))
  .get("/health", () => ({ status: "healthy" }))
  .post(
    "/events",
    async ({ body }) => {
      const { lines, eventIds } = benchLines(body as unknown[], counter);
      await append(lines);
      return new Response(JSON.stringify({ eventIds }), { status: 201, headers: JSON_CONTENT });
    },
    { body: publishBatchModel({ examples: [] }) },
  );
app.listen({ port: Number(process.env.PORT ?? 0), hostname: process.env.HOST ?? "127.0.0.1", reusePort: false, development: false });
console.log(`framework floor listening on http://${app.server!.hostname}:${app.server!.port}`);
process.on("SIGTERM", () => {
  void app.stop();
  process.exit(0);
});
