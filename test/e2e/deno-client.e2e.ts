/**
 * The client in Deno: its TypeScript sources as they are (client/index.ts)
 * and the built ESM (client/dist/index.js, from `bun run build`), against a
 * real server, with network access to 127.0.0.1 and read access to the repo
 * only (no env, no prompts). Deno comes from npm (`deno`, pinned) into a temp
 * directory. Run by `.ci/run` after the build:
 *
 *   bun test ./test/e2e/deno-client.e2e.ts
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningEventStore, startEventStore } from "../../client/testing.ts";

const ROOT = join(import.meta.dir, "..", "..");
const CHECK = join(import.meta.dir, "packaging-apps", "deno-check.ts");
const DENO_VERSION = "2.9.6";
const TIMEOUT_MS = 120_000;

let dir: string;
let deno: string;
let store: RunningEventStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "event-store-deno-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true }));
  const install = Bun.spawn(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", `deno@${DENO_VERSION}`], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if ((await install.exited) !== 0) throw new Error(`npm install deno@${DENO_VERSION} failed:\n${await new Response(install.stderr).text()}`);
  deno = join(dir, "node_modules", ".bin", "deno");
  store = await startEventStore();
}, TIMEOUT_MS);

afterAll(async () => {
  await store?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test.each([
  ["the sources", "client/index.ts", "deno-source"],
  ["the built ESM", "client/dist/index.js", "deno-built"],
])("Deno runs %s: create, publish, read, sign and verify a webhook, errors", async (_what, module, topic) => {
  const child = Bun.spawn(
    [deno, "run", "--no-prompt", "--allow-net=127.0.0.1", `--allow-read=${ROOT}`, CHECK, join(ROOT, module), store.url, topic],
    { cwd: dir, env: { ...process.env, DENO_DIR: join(dir, "deno-cache"), NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" },
  );
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  if (code !== 0) console.error(stderr);
  expect(code).toBe(0);
  expect(JSON.parse(stdout.trim())).toEqual({ ids: [`${topic}-1`], payloads: [{ n: 1 }], verified: true, missing: [404, "TOPIC_NOT_FOUND"] });
}, TIMEOUT_MS);
