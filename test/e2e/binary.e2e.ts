import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { SETTINGS, flagName } from "../../src/config.ts";
import { startServerProcess } from "../server-process.ts";
import { processThreads, tempDir } from "../utils.ts";
import { compiledBinary } from "./binary.ts";

const BINARY = compiledBinary();
const ROOT = join(import.meta.dir, "..", "..");
const TIMEOUT_MS = 60_000;

/** Runs the executable to completion from an empty directory, so it can lean on no file of the repo. */
function run(args: string[], env: Record<string, string> = {}) {
  using cwd = tempDir();
  const result = Bun.spawnSync([BINARY, ...args], { cwd: cwd.path, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function storeEnv(dir: string) {
  return { DATA_DIR: join(dir, "data"), CONFIG_DIR: join(dir, "config") };
}

async function json(response: Response | Promise<Response>) {
  const r = await response;
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

function post(url: string, body: unknown) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

describe(`the compiled executable (${BINARY})`, () => {
  test("--version prints the package version", () => {
    expect(run(["--version"])).toEqual({ code: 0, stdout: `${packageJson.version}\n`, stderr: "" });
  });

  test("--help lists the flag and the variable of every setting", () => {
    const { code, stdout, stderr } = run(["--help"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toStartWith("Usage: event-store [options]");
    for (const setting of SETTINGS) {
      expect(stdout).toContain(`${flagName(setting.env)} <value>`);
      expect(stdout).toContain(setting.env);
    }
  });

  test("a bad setting stops it with one line and exit code 2, from the environment or a flag", () => {
    expect(run([], { PORT: "eighty" })).toEqual({ code: 2, stdout: "", stderr: "event-store: PORT must be an integer, got 'eighty'\n" });
    expect(run(["--max-page-size", "0"])).toEqual({ code: 2, stdout: "", stderr: "event-store: --max-page-size must be between 1 and 1000000, got 0\n" });
    expect(run(["--no-such-flag", "1"])).toEqual({ code: 2, stdout: "", stderr: "event-store: unknown option --no-such-flag (see --help)\n" });
  });

  test("a flag wins over the environment", async () => {
    using dir = tempDir();
    // PORT=eighty alone is refused (above); --port 0 overrides it.
    const server = await startServerProcess({ ...storeEnv(dir.path), PORT: "eighty" }, [BINARY, "--port", "0"]);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(await server.terminate()).toBe(0);
  }, TIMEOUT_MS);

  test("a busy port stops it with one line and exit code 1", async () => {
    using dir = tempDir();
    await using busy = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const { code, stdout, stderr } = run([], { ...storeEnv(dir.path), PORT: String(busy.port), HOST: "127.0.0.1" });
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr).toStartWith("event-store: port is already in use");
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("a DATA_DIR that cannot be created stops it with one line naming it and exit code 1", () => {
    using dir = tempDir();
    // Tests run as root, which no permission bit stops; a regular file in the path stops everyone.
    const file = join(dir.path, "file.txt");
    writeFileSync(file, "not a directory");
    const dataDir = join(file, "data");
    const { code, stdout, stderr } = run([], { PORT: "0", DATA_DIR: dataDir, CONFIG_DIR: join(dir.path, "config") });
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr).toStartWith(`event-store: DATA_DIR '${dataDir}' is not a writable directory: ENOTDIR`);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("creates a topic, publishes and reads; after kill -9 and a restart every acknowledged event is there", async () => {
    using dir = tempDir();
    const env = storeEnv(dir.path);
    let server = await startServerProcess(env, [BINARY]);
    const schema = { eventType: "user.created", type: "object", properties: { id: { type: "string" } }, required: ["id"] };
    expect((await post(`${server.url}/topics`, { name: "user-events", schemas: [schema] })).status).toBe(201);
    const ids: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const events = Array.from({ length: 20 }, (_, i) => ({ topic: "user-events", type: "user.created", payload: { id: `${batch}-${i}` } }));
      const published = await json(post(`${server.url}/events`, events));
      expect(published.status).toBe(201);
      ids.push(...(published.body.eventIds as string[]));
    }
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => `user-events-${i + 1}`));
    expect(await json(post(`${server.url}/events`, [{ topic: "user-events", type: "user.created", payload: {} }]))).toMatchObject({
      status: 400,
      body: { code: "SCHEMA_VALIDATION_FAILED" },
    });
    const before = await json(fetch(`${server.url}/topics/user-events/events`));
    expect((before.body.events as unknown[]).length).toBe(100);

    await server.kill9();
    server = await startServerProcess(env, [BINARY]);
    const after = await json(fetch(`${server.url}/topics/user-events/events`));
    expect(after).toEqual(before);
    expect(await json(fetch(`${server.url}/topics/user-events`))).toMatchObject({ status: 200, body: { name: "user-events", sequence: 100 } });
    expect(await json(post(`${server.url}/events`, [{ topic: "user-events", type: "user.created", payload: { id: "next" } }]))).toEqual({
      status: 201,
      body: { eventIds: ["user-events-101"] },
    });
    const page = await json(fetch(`${server.url}/topics/user-events/events?sinceEventId=user-events-99&limit=5`));
    expect((page.body.events as { id: string }[]).map((e) => e.id)).toEqual(["user-events-100", "user-events-101"]);
    expect(await server.terminate()).toBe(0);
  }, TIMEOUT_MS);

  test.skipIf(process.platform !== "linux")("compiles schemas on its schema worker thread, and checks publishes on it for a schema too large to run here", async () => {
    using dir = tempDir();
    const server = await startServerProcess(storeEnv(dir.path), [BINARY]);
    const threads = () => readdirSync(`/proc/${server.process.pid}/task`).map((task) => readFileSync(`/proc/${server.process.pid}/task/${task}/comm`, "utf8").trim());
    expect(threads()).not.toContain("Worker");
    const properties = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, { type: "string", maxLength: 4 }]));
    expect((await post(`${server.url}/topics`, { name: "wide", schemas: [{ eventType: "w", type: "object", properties }] })).status).toBe(201);
    // Started for the first schema; were the worker's entry missing from the executable, the schemas would be compiled on the main thread.
    expect(threads()).toContain("Worker");
    // At the lowest CPU priority (nice 19), set through the C library from inside the executable; the request thread stays at 0.
    const threadsNow = processThreads(server.process.pid);
    expect(new Set(threadsNow.filter((thread) => thread.name === "Worker").map((thread) => thread.nice))).toEqual(new Set([19]));
    expect(threadsNow.find((thread) => thread.id === server.process.pid)?.nice).toBe(0);
    expect(await json(post(`${server.url}/events`, [{ topic: "wide", type: "w", payload: { p0: "a" } }, { topic: "wide", type: "w", payload: { p7: "12345" } }]))).toEqual({
      status: 400,
      body: { error: "events[1]: Schema validation failed for 'w': payload/p7 must NOT have more than 4 characters", code: "SCHEMA_VALIDATION_FAILED" },
    });
    expect(await json(post(`${server.url}/events`, [{ topic: "wide", type: "w", payload: { p0: "a" } }]))).toEqual({ status: 201, body: { eventIds: ["wide-1"] } });
    expect(await server.terminate()).toBe(0);
  }, TIMEOUT_MS);

  test("holds its directories with a kernel lock: a stale lock file naming PID 1 never blocks it, a live holder always does", async () => {
    using dir = tempDir();
    const env = storeEnv(dir.path);
    mkdirSync(env.DATA_DIR, { recursive: true });
    writeFileSync(join(env.DATA_DIR, "event-store.pid"), "1\n");
    const first = await startServerProcess(env, [BINARY]);
    try {
      expect(readFileSync(join(env.DATA_DIR, "event-store.pid"), "utf8")).toBe(`${first.process.pid}\n`);
      const second = run([], { ...env, PORT: "0", HOST: "127.0.0.1" });
      expect(second).toEqual({
        code: 1,
        stdout: "",
        stderr: `event-store: DATA_DIR '${env.DATA_DIR}' is in use by process ${first.process.pid} (${join(env.DATA_DIR, "event-store.pid")})\n`,
      });
    } finally {
      await first.kill9();
    }
    const third = await startServerProcess(env, [BINARY]);
    expect((await fetch(`${third.url}/health`)).status).toBe(200);
    expect(await third.terminate()).toBe(0);
  }, TIMEOUT_MS);

  test("refuses a deeply nested body with 400 NESTING_TOO_DEEP and an over-large declared body with a JSON 413", async () => {
    using dir = tempDir();
    const server = await startServerProcess(storeEnv(dir.path), [BINARY]);
    try {
      const deep = "[".repeat(50_000) + "]".repeat(50_000);
      const nested = await json(fetch(`${server.url}/consumers/register`, { method: "POST", body: `{"callback":"http://127.0.0.1:9/","topics":{"t":${deep}}}` }));
      expect(nested).toEqual({ status: 400, body: { error: "JSON is nested deeper than the limit of 64 levels", code: "NESTING_TOO_DEEP", maxDepth: 64 } });
      const large = await json(fetch(`${server.url}/events`, { method: "POST", body: "[" + " ".repeat(4 * 1024 * 1024) + "]" }));
      expect(large).toEqual({ status: 413, body: { error: "Request body exceeds the limit of 1048576 bytes", code: "PAYLOAD_TOO_LARGE" } });
    } finally {
      await server.terminate();
    }
  }, TIMEOUT_MS);

  test("serves a valid OpenAPI document and the Swagger UI with its embedded assets", async () => {
    using dir = tempDir();
    const server = await startServerProcess(storeEnv(dir.path), [BINARY]);
    try {
      const document = await json(fetch(`${server.url}/swagger/json`));
      expect(document.status).toBe(200);
      await SwaggerParser.validate(document.body as never);
      expect(Object.keys(document.body.paths as object)).toEqual(
        expect.arrayContaining(["/topics", "/topics/{topic}", "/events", "/topics/{topic}/events", "/health", "/consumers/register", "/consumers", "/consumers/{id}", "/consumers/{id}/resume"]),
      );

      const page = await fetch(`${server.url}/swagger`);
      expect(page.headers.get("content-type")).toStartWith("text/html");
      const html = await page.text();
      expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
      const bundle = await fetch(`${server.url}/swagger/assets/scalar.js`);
      expect(bundle.status).toBe(200);
      const served = new Uint8Array(await bundle.arrayBuffer());
      const original = readFileSync(join(ROOT, "node_modules/@scalar/api-reference/dist/browser/standalone.js"));
      expect(served.byteLength).toBe(original.byteLength);
      expect(Bun.hash(served)).toBe(Bun.hash(original));
      expect((await fetch(`${server.url}/swagger/assets/inter-latin.woff2`)).headers.get("content-type")).toBe("font/woff2");
    } finally {
      await server.terminate();
    }
  }, TIMEOUT_MS);

  test("the admin page is served from the executable: its script byte for byte, and /metrics in the Prometheus format", async () => {
    using dir = tempDir();
    const server = await startServerProcess(storeEnv(dir.path), [BINARY]);
    try {
      const script = await fetch(`${server.url}/admin/assets/admin.js`);
      expect(script.status).toBe(200);
      expect(await script.text()).toBe(readFileSync(join(ROOT, "src/admin/admin.js"), "utf8"));
      expect((await fetch(`${server.url}/admin`)).headers.get("content-type")).toBe("text/html; charset=utf-8");
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
      expect(await metrics.text()).toContain("# TYPE event_store_events_appended_total counter");
    } finally {
      await server.terminate();
    }
  }, TIMEOUT_MS);

  test("the UI's bundle is inside the executable, not read from node_modules", () => {
    // A marker from the middle of Scalar's bundle must occur in the executable's bytes.
    const original = readFileSync(join(ROOT, "node_modules/@scalar/api-reference/dist/browser/standalone.js"));
    const marker = original.subarray(original.length >> 1, (original.length >> 1) + 256);
    expect(readFileSync(BINARY).indexOf(marker)).toBeGreaterThan(-1);
  });
});
