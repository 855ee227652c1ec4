import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { startServerProcess } from "./server-process.ts";
import { tempDir } from "./utils.ts";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");

function run(args: string[], env: Record<string, string> = {}) {
  const result = Bun.spawnSync(["bun", "run", MAIN, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("the event-store command", () => {
  test("--version prints the package version", () => {
    expect(run(["--version"])).toEqual({ code: 0, stdout: `${packageJson.version}\n`, stderr: "" });
  });

  test("--help lists the settings", () => {
    const { code, stdout } = run(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("--data-dir <value>");
    expect(stdout).toContain("DATA_DIR");
  });

  test("a bad setting stops it with one line and exit code 2", () => {
    expect(run([], { PORT: "eighty" })).toEqual({ code: 2, stdout: "", stderr: "event-store: PORT must be an integer, got 'eighty'\n" });
  });

  test("a busy port stops it with a clear message and exit code 1", async () => {
    using dir = tempDir();
    await using busy = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const { code, stderr } = run([], { PORT: String(busy.port), HOST: "127.0.0.1", DATA_DIR: join(dir.path, "d"), CONFIG_DIR: join(dir.path, "c") });
    expect(code).toBe(1);
    expect(stderr).toStartWith("event-store: port is already in use");
  });

  test("a DATA_DIR that cannot be a directory stops it with one line naming it and exit code 1", () => {
    using dir = tempDir();
    const file = join(dir.path, "file.txt");
    writeFileSync(file, "not a directory");
    const dataDir = join(file, "data");
    const { code, stdout, stderr } = run([], { PORT: "0", DATA_DIR: dataDir, CONFIG_DIR: join(dir.path, "c") });
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr).toStartWith(`event-store: DATA_DIR '${dataDir}' is not a writable directory: ENOTDIR`);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("SIGTERM lets in-flight publishes finish, then exits 0; the events are there after a restart", async () => {
    using dir = tempDir();
    const env = { DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config") };
    let server = await startServerProcess(env);
    await fetch(`${server.url}/topics`, { method: "POST", body: JSON.stringify({ name: "t", schemas: [{ eventType: "e", type: "object" }] }) });
    const inFlight = Array.from({ length: 20 }, (_, n) =>
      fetch(`${server.url}/events`, { method: "POST", body: JSON.stringify([{ topic: "t", type: "e", payload: { n } }]) }).then((r) => r.status),
    );
    const settled = Promise.allSettled(inFlight);
    const longPoll = fetch(`${server.url}/topics/t/events?sinceEventId=t-1000&waitMs=30000`);
    await Bun.sleep(100);
    const stopStarted = Date.now();
    const exitCode = await server.terminate();
    const statuses = await settled;
    expect(exitCode).toBe(0);
    expect(Date.now() - stopStarted).toBeLessThan(10_000);
    expect((await longPoll).status).toBe(200);
    // Each publish either completed (201) or never got in before the server stopped accepting.
    for (const s of statuses) if (s.status === "fulfilled") expect(s.value).toBe(201);
    const acknowledged = statuses.filter((s) => s.status === "fulfilled" && s.value === 201).length;
    server = await startServerProcess(env);
    const { events } = await (await fetch(`${server.url}/topics/t/events`)).json();
    expect(events.length).toBe(acknowledged);
    expect(events.map((e: { id: string }) => e.id)).toEqual(Array.from({ length: acknowledged }, (_, i) => `t-${i + 1}`));
    expect(await server.terminate()).toBe(0);
  });
});

describe("LOG_FORMAT=json", () => {
  test("the start-up line is one JSON object with time, level, message and fields", async () => {
    using dir = tempDir();
    const child = Bun.spawn(["bun", "run", MAIN], {
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_FORMAT: "json", DATA_DIR: join(dir.path, "d"), CONFIG_DIR: join(dir.path, "c") },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = child.stdout.getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const entry = JSON.parse(text.slice(0, text.indexOf("\n")));
      expect(Object.keys(entry)).toEqual(["time", "level", "message", "url", "version"]);
      const url = String(entry.url);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect([entry.level, entry.version]).toEqual(["info", packageJson.version]);
      expect(entry.message).toStartWith(`event-store ${packageJson.version} listening on ${url} `);
      expect(Date.parse(entry.time)).toBeGreaterThan(0);
    } finally {
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    }
  });
});

describe("one server per DATA_DIR", () => {
  test("a second server on a DATA_DIR in use stops with one line and exit 1; after kill -9 the stale lock is taken over", async () => {
    using dir = tempDir();
    const env = { DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config") };
    const first = await startServerProcess(env);
    const second = run([], { ...env, PORT: "0", HOST: "127.0.0.1" });
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `event-store: DATA_DIR '${env.DATA_DIR}' is in use by process ${first.process.pid} (${join(env.DATA_DIR, "event-store.pid")})\n`,
    );
    await first.kill9();
    const third = await startServerProcess(env);
    expect((await fetch(`${third.url}/health`)).status).toBe(200);
    expect(await third.terminate()).toBe(0);
  });
});
